import { PictorError } from '../errors.ts';

/**
 * The Video API's parameters (imgix's, from its video-url-params list and documentation) and Pictor's own
 * for the HLS tree (`rendition`, `segment`, `version`, which only appear in playlists Pictor writes).
 * Everything else is left for the image pipeline, which a thumbnail goes through (`w`, `fit`, `fm=webp`…).
 */

/** Files the Video API handles; any other file keeps the Rendering API's behaviour. */
const VIDEO_PATH = /\.(mp4|mov|m4v|webm|mkv)$/i;

export type Resolution = 'high' | 'medium' | 'low';
export type StoryboardFormat = 'jpg' | 'png' | 'vtt' | 'json';

export type VideoOutput =
  | { kind: 'master' }
  | { kind: 'variant'; rendition: string; version: number }
  | { kind: 'segment'; rendition: string; version: number; segment: number }
  | { kind: 'mp4'; res: Resolution }
  | { kind: 'probe' }
  | { kind: 'thumbnail'; time: number | undefined; imageQuery: string }
  | { kind: 'gif'; start: number; end: number | undefined; fps: number }
  | { kind: 'storyboard'; format: StoryboardFormat };

export interface VideoQuery {
  output: VideoOutput;
  /** `vdl`: answer as a download; the value is the file name wanted ('' for the asset's own name). */
  download: string | undefined;
  /** `expires` (unix seconds), carried into the URLs of a playlist. */
  expires: number | undefined;
}

/** Parameter names that send a video to the Video API; without any of them it is passed through as it is. */
const VIDEO_FORMATS = new Set(['hls', 'mp4', 'json']);
const ALIASES: Record<string, string> = {
  'video-download': 'vdl',
  'video-gif-start': 'video-gif-time-start',
  'video-gif-end': 'video-gif-time-end',
};
const VIDEO_NAMES = new Set([
  'fm', 'res', 'vdl', 'video-generate', 'video-thumbnail-time', 'video-gif-time-start', 'video-gif-time-end', 'video-gif-fps',
  'video-storyboard-format', 'rendition', 'segment', 'version', 'expires', 's',
]);

/** GIF length bounds, as imgix documents them. */
export const GIF_MIN_SECONDS = 0.25;
export const GIF_MAX_SECONDS = 10;
export const GIF_DEFAULT_SECONDS = 5;
const GIF_MAX_FPS = 30;
const GIF_DEFAULT_FPS = 15;

/** Whether a request target names a video file and asks for the Video API (cheap: on every request's path). */
export function isVideoRequest(target: string): boolean {
  const queryStart = target.indexOf('?');
  if (queryStart === -1 || !VIDEO_PATH.test(target.slice(0, queryStart))) return false;
  for (const [name, value] of pairs(target.slice(queryStart + 1))) {
    if (name === 'fm' ? VIDEO_FORMATS.has(value) : name === 'video-generate' || name === 'vdl') return true;
  }
  return false;
}

/** Whether a path names a video file (pass-through answers carry range support for these). */
export function isVideoPath(path: string): boolean {
  return VIDEO_PATH.test(path);
}

export function parseVideoQuery(rawQuery: string): VideoQuery {
  const video = new Map<string, string>();
  const image: string[] = [];
  for (const [name, value, raw] of pairs(rawQuery)) {
    if (VIDEO_NAMES.has(name)) video.set(name, value);
    else image.push(raw);
  }
  const download = video.get('vdl');
  const expires = video.has('expires') ? wholeNumber(video, 'expires', 0) : undefined;
  const generate = video.get('video-generate');
  if (generate !== undefined) {
    // A thumbnail's `fm` is the image format wanted (webp, png…): it goes to the image pipeline.
    if (generate === 'thumbnail') {
      const fm = video.get('fm');
      if (fm !== undefined && !VIDEO_FORMATS.has(fm)) image.push(`fm=${encodeURIComponent(fm)}`);
      return { output: { kind: 'thumbnail', time: optionalNumber(video, 'video-thumbnail-time'), imageQuery: image.join('&') }, download, expires };
    }
    if (generate === 'gif') {
      const start = optionalNumber(video, 'video-gif-time-start') ?? 0;
      if (start < 0) throw invalid('video-gif-time-start', `must be 0 or more seconds, got ${start}`);
      const end = optionalNumber(video, 'video-gif-time-end');
      const fps = video.has('video-gif-fps') ? wholeNumber(video, 'video-gif-fps', 1, GIF_MAX_FPS) : GIF_DEFAULT_FPS;
      // The length is checked once the duration is known: an end past it is first capped there.
      if (end !== undefined && end < 0) throw invalid('video-gif-time-end', `must be 0 or more seconds, got ${end}`);
      return { output: { kind: 'gif', start, end, fps }, download, expires };
    }
    if (generate === 'storyboard') {
      const format = video.get('video-storyboard-format') ?? 'jpg';
      if (!['jpg', 'png', 'vtt', 'json'].includes(format)) throw invalid('video-storyboard-format', `must be jpg, png, vtt or json, got "${format}"`);
      return { output: { kind: 'storyboard', format: format as StoryboardFormat }, download, expires };
    }
    throw invalid('video-generate', `must be thumbnail, gif or storyboard, got "${generate}"`);
  }
  const fm = video.get('fm');
  if (fm === 'hls') {
    const rendition = video.get('rendition');
    if (rendition === undefined) return { output: { kind: 'master' }, download, expires };
    // Renditions are named by their shorter side (ladder.ts): from 2p for the smallest video to 1080p.
    if (!/^[1-9]\d{0,3}p$/.test(rendition)) {
      throw invalid('rendition', `must name a rendition of the master playlist, such as 720p, got "${rendition}"`);
    }
    const version = wholeNumber(video, 'version', 1);
    if (!video.has('segment')) return { output: { kind: 'variant', rendition, version }, download, expires };
    return { output: { kind: 'segment', rendition, version, segment: wholeNumber(video, 'segment', 0, 100_000) }, download, expires };
  }
  if (fm === 'json') return { output: { kind: 'probe' }, download, expires };
  if (fm === 'mp4' || fm === undefined) {
    const res = video.get('res') ?? 'high';
    if (res !== 'high' && res !== 'medium' && res !== 'low') throw invalid('res', `must be high, medium or low, got "${res}"`);
    return { output: { kind: 'mp4', res }, download, expires };
  }
  throw invalid('fm', `must be hls, mp4 or json for a video (or an image format with video-generate=thumbnail), got "${fm}"`);
}

/** A GIF must last 250 ms to 10 s (imgix's bounds). */
export function checkGifLength(start: number, end: number): void {
  const length = end - start;
  if (length < GIF_MIN_SECONDS || length > GIF_MAX_SECONDS) {
    throw invalid('video-gif-time-end', `must make a GIF of ${GIF_MIN_SECONDS} to ${GIF_MAX_SECONDS} seconds, got ${Math.round(length * 1000) / 1000} s (from ${start} to ${end})`);
  }
}

/** name, decoded value, the pair as sent; aliases resolved, empty values dropped. */
function* pairs(query: string): Generator<[string, string, string]> {
  if (query === '') return;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq), 'a parameter name');
    const value = decode(eq === -1 ? '' : pair.slice(eq + 1), key);
    if (key === '' || (value === '' && key !== 'vdl' && key !== 'video-download')) continue;
    yield [ALIASES[key] ?? key, value, pair];
  }
}

function decode(text: string, name: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw invalid(name, 'is not correctly percent-encoded');
  }
}

function optionalNumber(values: Map<string, string>, name: string): number | undefined {
  const raw = values.get(name);
  if (raw === undefined) return undefined;
  const value = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(value)) throw invalid(name, `must be a number of seconds, got "${raw}"`);
  return value;
}

function wholeNumber(values: Map<string, string>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values.get(name) ?? '';
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

function invalid(name: string, message: string): PictorError {
  return new PictorError('INVALID_PARAMETER', `${name} ${message}.`, { pointer: name });
}
