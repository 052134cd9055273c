import fs from 'node:fs/promises';
import path from 'node:path';
import type { MediaInput, ToolArg } from './media-input.ts';
import type { VideoProbe } from './probe.ts';

/**
 * The HLS ladder: which renditions a video gets, the one ffmpeg pass that encodes them all, and the
 * playlists. Renditions are named by their shorter side (`720p` is 1280×720, or 720×1280 upright) and
 * never exceed the source: a 480p video gets 360p only, a video smaller than 360p one rendition at its size.
 */
export interface Rung {
  name: string;
  width: number;
  height: number;
  /** Shorter side, the `p` of the name. */
  lines: number;
  videoKbps: number;
}

/** A rung as encoded, with what its master playlist entry needs. */
export interface EncodedRung extends Rung {
  /** Peak bits per second over its segments (HLS BANDWIDTH). */
  bandwidth: number;
  averageBandwidth: number;
}

/** Written next to the playlists once a ladder is encoded; the master playlist is built from it per request. */
export interface LadderInfo {
  rungs: EncodedRung[];
  codecs: string;
  durationSeconds: number;
}

const STEPS = [
  { lines: 1080, videoKbps: 5000 },
  { lines: 720, videoKbps: 2800 },
  { lines: 360, videoKbps: 800 },
];
const SMALL_KBPS = 400;
/** Segment length: keyframes are forced on this grid, so every segment starts with one. */
export const SEGMENT_SECONDS = 4;
/** H.264 Main profile, level 4.0 (up to 1080p30), and AAC-LC: what every HLS player decodes. */
const VIDEO_CODEC = 'avc1.4d4028';
const AUDIO_CODEC = 'mp4a.40.2';

export function ladderFor(probe: Pick<VideoProbe, 'width' | 'height'>): Rung[] {
  const short = Math.min(probe.width, probe.height);
  const steps = STEPS.filter((step) => step.lines <= short);
  if (steps.length === 0) steps.push({ lines: Math.max(2, even(short)), videoKbps: SMALL_KBPS });
  return steps.map(({ lines, videoKbps }) => {
    const long = even((Math.max(probe.width, probe.height) * lines) / short);
    const [width, height] = probe.width >= probe.height ? [long, lines] : [lines, long];
    return { name: `${lines}p`, width, height, lines, videoKbps };
  });
}

/** The rung `fm=mp4&res=…` serves: high up to 1080p, medium up to 720p, low up to 360p, capped at the source. */
export function rungForResolution(rungs: readonly Rung[], res: 'high' | 'medium' | 'low'): Rung {
  const cap = res === 'high' ? 1080 : res === 'medium' ? 720 : 360;
  const sorted = [...rungs].sort((a, b) => b.lines - a.lines);
  return sorted.find((rung) => rung.lines <= cap) ?? sorted.at(-1)!;
}

/**
 * ffmpeg's arguments for the whole ladder in one pass: one decode, a split, one HLS output per rung. At most
 * `maxSeconds` of the input are read (`-t`, on the decoded timestamps, not the header's duration).
 */
export function ladderArgs(input: MediaInput, outDir: string, rungs: readonly Rung[], hasAudio: boolean, maxSeconds: number): ToolArg[] {
  const splits = rungs.map((_rung, index) => `[s${index}]`).join('');
  const scales = rungs.map((rung, index) => `[s${index}]scale=${rung.width}:${rung.height},setsar=1[v${index}]`).join(';');
  const args: ToolArg[] = ['-nostdin', '-y', '-loglevel', 'error', '-t', String(maxSeconds), input];
  args.push('-filter_complex', `[0:v]split=${rungs.length}${splits};${scales}`);
  rungs.forEach((rung, index) => {
    const dir = path.join(outDir, rung.name);
    args.push('-map', `[v${index}]`);
    if (hasAudio) args.push('-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000');
    args.push(
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-level:v', '4.0', '-pix_fmt', 'yuv420p',
      '-b:v', `${rung.videoKbps}k`, '-maxrate', `${Math.round(rung.videoKbps * 1.1)}k`, '-bufsize', `${rung.videoKbps * 2}k`,
      '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${SEGMENT_SECONDS})`,
      '-f', 'hls', '-hls_time', String(SEGMENT_SECONDS), '-hls_playlist_type', 'vod', '-hls_flags', 'independent_segments',
      '-hls_segment_filename', path.join(dir, 'seg_%03d.ts'), path.join(dir, 'index.m3u8'),
    );
  });
  return args;
}

/**
 * Measures each encoded rung (its segments' sizes and lengths) for the master playlist; `encodedSeconds` is
 * the longest rung's length, what was decoded whatever the header said.
 */
export async function describeLadder(
  outDir: string,
  rungs: readonly Rung[],
  hasAudio: boolean,
  durationSeconds: number,
): Promise<{ ladder: LadderInfo; encodedSeconds: number }> {
  const encoded: EncodedRung[] = [];
  let encodedSeconds = 0;
  for (const rung of rungs) {
    const dir = path.join(outDir, rung.name);
    const segments = parseVariant(await fs.readFile(path.join(dir, 'index.m3u8'), 'utf8'));
    if (segments.length === 0) throw new Error(`the ${rung.name} rendition has no segments`);
    let peak = 0;
    let bits = 0;
    let seconds = 0;
    for (const segment of segments) {
      const size = (await fs.stat(path.join(dir, segmentFile(segment.index)))).size;
      peak = Math.max(peak, (size * 8) / Math.max(segment.seconds, 0.5));
      bits += size * 8;
      seconds += segment.seconds;
    }
    encoded.push({ ...rung, bandwidth: Math.ceil(peak), averageBandwidth: Math.ceil(bits / Math.max(seconds, 0.5)) });
    encodedSeconds = Math.max(encodedSeconds, seconds);
  }
  return { ladder: { rungs: encoded, codecs: hasAudio ? `${VIDEO_CODEC},${AUDIO_CODEC}` : VIDEO_CODEC, durationSeconds }, encodedSeconds };
}

export interface VariantSegment {
  index: number;
  seconds: number;
}

/** The segments of a variant playlist ffmpeg wrote (`#EXTINF:4.000000,` then `seg_000.ts`). */
export function parseVariant(text: string): VariantSegment[] {
  const segments: VariantSegment[] = [];
  let seconds = 0;
  for (const line of text.split('\n').map((item) => item.trim())) {
    const extinf = /^#EXTINF:([\d.]+)/.exec(line);
    if (extinf) seconds = Number(extinf[1]);
    const file = /^seg_(\d+)\.ts$/.exec(line);
    if (file) segments.push({ index: Number(file[1]), seconds });
  }
  return segments;
}

export function segmentFile(index: number): string {
  return `seg_${String(index).padStart(3, '0')}.ts`;
}

/** The master playlist, highest rendition first; `uri` gives each variant playlist's URL. */
export function masterPlaylist(ladder: LadderInfo, uri: (rung: EncodedRung) => string): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const rung of [...ladder.rungs].sort((a, b) => b.lines - a.lines)) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${rung.bandwidth},AVERAGE-BANDWIDTH=${rung.averageBandwidth},RESOLUTION=${rung.width}x${rung.height},CODECS="${ladder.codecs}"`,
      uri(rung),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A variant playlist as ffmpeg wrote it, with each segment's file name replaced by its URL. */
export function variantPlaylist(text: string, uri: (segment: number) => string): string {
  return text
    .split('\n')
    .map((line) => {
      const file = /^seg_(\d+)\.ts$/.exec(line.trim());
      return file ? uri(Number(file[1])) : line;
    })
    .join('\n');
}

function even(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}
