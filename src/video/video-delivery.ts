import path from 'node:path';
import { sign } from '../auth/url-signing.ts';
import { attachment } from '../delivery/content-disposition.ts';
import type { DeliveryRequest, VideoHandler } from '../delivery/delivery-service.ts';
import { contentRange, parseRange } from '../delivery/ranges.ts';
import type { Renderer } from '../delivery/renderer.ts';
import type { DeliveryResponse } from '../delivery/respond.ts';
import { RENDER_SECURITY_HEADERS } from '../delivery/security-headers.ts';
import { requireSignature } from '../delivery/signature.ts';
import { isPictorError, PictorError } from '../errors.ts';
import { acceptClass } from '../render/negotiate.ts';
import { parseParams } from '../render/params.ts';
import { edgeKeyHeaders } from '../edges/edge-keys.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import { contentIds } from '../sources/origin.ts';
import type { ResolvedSource } from '../sources/registry.ts';
import { masterPlaylist, rungForResolution, segmentFile, variantPlaylist } from './ladder.ts';
import type { VideoProbe } from './probe.ts';
import { checkGifLength, GIF_DEFAULT_SECONDS, isVideoRequest, parseVideoQuery, type VideoQuery } from './video-params.ts';
import { storyboardLayout, type VideoOutputs } from './video-outputs.ts';
import { readAll, type VideoStorage } from './video-storage.ts';
import { processing, type ReadyVideo, type VideoService } from './video-service.ts';

/**
 * The Video API on the render listener: `/<path>?fm=hls` and the rest (video-params.ts), on the same
 * Sources, domains and signing rules as images. Playlists point at Pictor's own URLs for renditions and
 * segments (the same path, `?fm=hls&rendition=720p&version=N[&segment=K]`), signed when the Source signs,
 * so they pass the same checks. Every answer, errors included, carries CORS headers: players on other
 * origins read playlists and segments, and must see a 423 as a 423.
 */
export class VideoDelivery implements VideoHandler {
  constructor(
    private readonly service: VideoService,
    private readonly storage: VideoStorage,
    private readonly outputs: VideoOutputs | undefined,
    private readonly renderer: Renderer,
  ) {}

  accepts(target: string): boolean {
    return isVideoRequest(target);
  }

  async handle(source: ResolvedSource, request: DeliveryRequest): Promise<DeliveryResponse> {
    try {
      return await this.answer(source, request);
    } catch (error) {
      // Server faults (500, 502) go to the listener, which logs them; the rest are answered here, with CORS.
      if (!isPictorError(error) || error.status === 500 || error.status === 502) throw error;
      return errorResponse(error);
    }
  }

  private async answer(source: ResolvedSource, request: DeliveryRequest): Promise<DeliveryResponse> {
    const queryStart = request.target.indexOf('?');
    const rawPath = request.target.slice(0, queryStart);
    const rawQuery = request.target.slice(queryStart + 1);
    requireSignature(source, { rawPath, rawQuery });
    const assetPath = canonicalPath(rawPath);
    const query = parseVideoQuery(rawQuery);
    if (query.expires !== undefined && query.expires * 1000 <= Date.now()) throw new PictorError('URL_EXPIRED', 'This URL has expired.');
    if (!source.record.enabled) throw new PictorError('SOURCE_DISABLED', 'This Source is disabled.');
    const video = await this.service.ready(source, assetPath);
    const response = await this.output(video, new Links(source, rawPath, query.expires), request, query, assetPath);
    // The edge keys of the video's content (edges/edge-keys.ts), so a takedown of its content purges every
    // output an edge holds, under whatever Source's URL.
    const keys = edgeKeyHeaders([], contentIds(video.record.origin.object, video.record.origin.sha256));
    return { ...response, headers: [...response.headers, ...keys] };
  }

  private async output(video: ReadyVideo, links: Links, request: DeliveryRequest, query: VideoQuery, assetPath: string): Promise<DeliveryResponse> {
    const { output } = query;
    switch (output.kind) {
      case 'master':
        return text(masterPlaylist(video.ladder, (rung) => links.url(['fm', 'hls'], ['rendition', rung.name], ['version', String(video.record.version)])), PLAYLIST, PLAYLIST_MAX_AGE);
      case 'variant': {
        const playlist = await readRendition(this.storage, video, output.rendition, output.version, 'index.m3u8');
        const body = variantPlaylist(playlist, (segment) =>
          links.url(['fm', 'hls'], ['rendition', output.rendition], ['version', String(output.version)], ['segment', String(segment)]),
        );
        return text(body, PLAYLIST, IMMUTABLE);
      }
      case 'segment': {
        const file = renditionKey(video, output.rendition, output.version, segmentFile(output.segment));
        return this.file(file, 'video/mp2t', IMMUTABLE, request, query, video);
      }
      case 'mp4': {
        const file = await this.requireOutputs().mp4(video.prefix, rungForResolution(video.ladder.rungs, output.res));
        return this.file(file, 'video/mp4', OUTPUT_MAX_AGE, request, query, video);
      }
      case 'probe':
        return text(JSON.stringify((video.record.probe as VideoProbe).raw, null, 2), 'application/json; charset=utf-8', OUTPUT_MAX_AGE, query, assetPath);
      case 'thumbnail':
        return this.thumbnail(video, output.time, output.imageQuery, request, query, assetPath);
      case 'gif': {
        const duration = video.ladder.durationSeconds;
        if (output.start >= duration) throw new PictorError('INVALID_PARAMETER', `video-gif-time-start must be before the end of the video (${duration} s), got ${output.start}.`, { pointer: 'video-gif-time-start' });
        const end = Math.min(output.end ?? output.start + GIF_DEFAULT_SECONDS, duration);
        checkGifLength(output.start, end);
        const file = await this.requireOutputs().gif(video.prefix, video.ladder, output.start, end, output.fps);
        return this.file(file, 'image/gif', OUTPUT_MAX_AGE, request, query, video);
      }
      case 'storyboard': {
        if (output.format === 'jpg' || output.format === 'png') {
          const file = await this.requireOutputs().storyboard(video.prefix, video.ladder, output.format);
          return this.file(file, output.format === 'jpg' ? 'image/jpeg' : 'image/png', OUTPUT_MAX_AGE, request, query, video);
        }
        const layout = storyboardLayout(video.ladder);
        const sprite = links.url(['video-generate', 'storyboard'], ['video-storyboard-format', 'jpg']);
        const tiles = Array.from({ length: layout.count }, (_unused, index) => ({
          start: index * layout.interval,
          end: Math.min((index + 1) * layout.interval, video.ladder.durationSeconds),
          x: (index % layout.columns) * layout.tileWidth,
          y: Math.floor(index / layout.columns) * layout.tileHeight,
          width: layout.tileWidth,
          height: layout.tileHeight,
        }));
        if (output.format === 'json') {
          const document = { url: sprite, interval: layout.interval, columns: layout.columns, rows: layout.rows, tile_width: layout.tileWidth, tile_height: layout.tileHeight, tiles };
          return text(JSON.stringify(document, null, 2), 'application/json; charset=utf-8', OUTPUT_MAX_AGE, query, assetPath);
        }
        const cues = tiles.map((tile) => `${timestamp(tile.start)} --> ${timestamp(tile.end)}\n${sprite}#xywh=${tile.x},${tile.y},${tile.width},${tile.height}`);
        return text(`WEBVTT\n\n${cues.join('\n\n')}\n`, 'text/vtt; charset=utf-8', OUTPUT_MAX_AGE, query, assetPath);
      }
    }
  }

  /** A frame at the time asked (the middle by default), then every image parameter through the image pipeline. */
  private async thumbnail(video: ReadyVideo, time: number | undefined, imageQuery: string, request: DeliveryRequest, query: VideoQuery, assetPath: string): Promise<DeliveryResponse> {
    const frame = await this.requireOutputs().frame(video.prefix, video.ladder, time ?? video.ladder.durationSeconds / 2);
    const { params } = parseParams(/(^|&)fm=/.test(imageQuery) ? imageQuery : `${imageQuery}${imageQuery ? '&' : ''}fm=jpg`);
    const rendered = await this.renderer.render(await readAll(this.storage, frame), params, { acceptClass: acceptClass(params, request.accept) });
    const headers = [...COMMON, 'content-type', rendered.contentType, 'cache-control', `public, max-age=${OUTPUT_MAX_AGE}`, 'content-length', String(rendered.body.length)];
    addDownload(headers, query, assetPath, extensionOf(rendered.contentType));
    return { status: 200, headers, body: rendered.body, cache: 'miss' };
  }

  /** A stored output, streamed from the video store: ETag and Last-Modified from the stored file, `If-None-Match`, one byte range. */
  private async file(
    key: string,
    contentType: string,
    maxAge: number | 'immutable',
    request: DeliveryRequest,
    query: VideoQuery,
    video: ReadyVideo,
  ): Promise<DeliveryResponse> {
    const stat = await this.storage.stat(key);
    if (!stat) {
      // Its version was replaced after the record was read.
      if (!(await this.storage.stat(`${video.prefix}/ladder.json`))) throw processing();
      throw new PictorError('ASSET_NOT_FOUND', 'No such output of this video.');
    }
    const modified = new Date(Math.floor(stat.modifiedMs / 1000) * 1000);
    const etag = `"${video.record.version.toString(16)}-${stat.size.toString(16)}-${Math.floor(stat.modifiedMs / 1000).toString(16)}"`;
    const headers = [
      ...COMMON,
      'content-type', contentType,
      'cache-control', cacheControl(maxAge),
      'etag', etag,
      'last-modified', modified.toUTCString(),
      'accept-ranges', 'bytes',
    ];
    addDownload(headers, query, video.record.path, path.posix.extname(key).slice(1));
    if (request.ifNoneMatch !== undefined && request.ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      return { status: 304, headers, body: EMPTY, cache: 'hit' };
    }
    const range = parseRange(request.range, stat.size);
    if (range === 'unsatisfiable') {
      return { status: 416, headers: [...headers, 'content-range', contentRange(range, stat.size), 'content-length', '0'], body: EMPTY, cache: 'hit' };
    }
    const { start, end } = range ?? { start: 0, end: stat.size - 1 };
    const partial = range === undefined ? [] : ['content-range', contentRange(range, stat.size)];
    return {
      status: range === undefined ? 200 : 206,
      headers: [...headers, ...partial, 'content-length', String(end - start + 1)],
      body: EMPTY,
      file: { start, end, open: () => this.storage.read(key, start, end) },
      cache: 'hit',
    };
  }

  private requireOutputs(): VideoOutputs {
    if (!this.outputs) throw new PictorError('VIDEO_UNAVAILABLE', 'The Video API is off on this server.');
    return this.outputs;
  }
}

const EMPTY = Buffer.alloc(0);
const PLAYLIST = 'application/vnd.apple.mpegurl';
/** The master playlist names the current version: kept briefly, so a reprocessed video is picked up soon. */
const PLAYLIST_MAX_AGE = 60;
/** Outputs under an unversioned URL (MP4, thumbnails…). */
const OUTPUT_MAX_AGE = 300;
/** Renditions and segments are named with their version: they never change. */
const IMMUTABLE = 'immutable';

const COMMON = [
  'access-control-allow-origin', '*',
  'access-control-expose-headers', 'Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After',
  ...RENDER_SECURITY_HEADERS,
];

function cacheControl(maxAge: number | 'immutable'): string {
  return maxAge === 'immutable' ? 'public, max-age=31536000, immutable' : `public, max-age=${maxAge}`;
}

function text(body: string, contentType: string, maxAge: number | 'immutable', query?: VideoQuery, assetPath?: string): DeliveryResponse {
  const bytes = Buffer.from(body);
  const headers = [...COMMON, 'content-type', contentType, 'cache-control', cacheControl(maxAge), 'content-length', String(bytes.length)];
  if (query && assetPath) addDownload(headers, query, assetPath, contentType.startsWith('application/json') ? 'json' : 'vtt');
  return { status: 200, headers, body: bytes, cache: 'hit' };
}

/**
 * Errors as plain text, with CORS (a player must see the status). 423, a takedown's 451 (it lasts only
 * until it is lifted) and 5xx are never stored by a cache; other errors for the error TTL, as on the
 * Rendering API.
 */
function errorResponse(error: PictorError): DeliveryResponse {
  const body = Buffer.from(`${error.message}\n`);
  const cache = error.status === 423 || error.status === 451 || error.status >= 500 ? 'no-store' : 'public, max-age=300';
  const headers = [...COMMON, 'content-type', 'text/plain; charset=utf-8', 'cache-control', cache, 'content-length', String(body.length), ...Object.entries(error.headers ?? {}).flat()];
  return { status: error.status, headers, body, cache: 'none' };
}

/** `vdl`: an attachment, named as asked or after the asset, in characters every browser and shell takes. */
function addDownload(headers: string[], query: VideoQuery, assetPath: string, extension: string): void {
  if (query.download === undefined) return;
  const wanted = query.download !== '' && !/^(1|true)$/i.test(query.download) ? query.download : decodeURIComponent(path.posix.basename(assetPath)).replace(/\.[^.]*$/, '');
  const base = wanted.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._ -]+/g, '_').replace(/^[.\s]+/, '').slice(0, 120) || 'video';
  const name = `${base}.${extension}`;
  headers.push('content-disposition', attachment(name));
}

function extensionOf(contentType: string): string {
  const subtype = contentType.split('/')[1]?.split(/[;+]/)[0] ?? 'bin';
  return subtype === 'jpeg' ? 'jpg' : subtype;
}

function renditionKey(video: ReadyVideo, rendition: string, version: number, name: string): string {
  if (version !== video.record.version) {
    throw new PictorError('ASSET_NOT_FOUND', 'This rendition belongs to an older version of the video; load the master playlist again.');
  }
  if (!video.ladder.rungs.some((rung) => rung.name === rendition)) throw new PictorError('ASSET_NOT_FOUND', `This video has no ${rendition} rendition.`);
  return `${video.prefix}/${rendition}/${name}`;
}

async function readRendition(storage: VideoStorage, video: ReadyVideo, rendition: string, version: number, name: string): Promise<string> {
  const key = renditionKey(video, rendition, version, name);
  try {
    return (await readAll(storage, key)).toString('utf8');
  } catch {
    throw processing();
  }
}

/** `HH:MM:SS.mmm` for WebVTT. */
function timestamp(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/**
 * URLs of the same video for playlists and storyboards: relative to the request (`./<name>?…`, so they go
 * through the same host and path), with the request's `expires`, and signed when the Source signs URLs.
 */
class Links {
  private readonly name: string;

  constructor(
    private readonly source: ResolvedSource,
    private readonly rawPath: string,
    private readonly expires: number | undefined,
  ) {
    this.name = rawPath.slice(rawPath.lastIndexOf('/') + 1);
  }

  url(...params: [string, string][]): string {
    const pairs: [string, string][] = this.expires === undefined ? params : [...params, ['expires', String(this.expires)]];
    let query = pairs.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
    const { deployment, secureUrlToken } = this.source.record;
    if ((deployment.secure_url_enabled || deployment.type === 'webproxy') && secureUrlToken) query += `&s=${sign(secureUrlToken, this.rawPath, query)}`;
    return `./${this.name}?${query}`;
  }
}
