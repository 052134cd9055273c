import type { Readable } from 'node:stream';
import type { Derivative, DerivativeMeta, Tier } from '../cache/derivative-cache.ts';
import { edgeKeyHeaders } from '../edges/edge-keys.ts';
import { contentRange, parseRange } from './ranges.ts';
import { RENDER_SECURITY_HEADERS } from './security-headers.ts';

export interface DeliveryResponse {
  status: number;
  /** Header names and values, alternating: node:http's raw form, which it writes without building a map. */
  headers: readonly string[];
  body: Buffer;
  /** For metrics and logs: whether Pictor's derivative cache answered ('none': not a cached kind of answer). */
  cache: 'hit' | 'miss' | 'none';
  /** A stored file (a video output): bytes `start` to `end` inclusive, opened as the headers go out, instead of `body`. */
  file?: StoredBytes;
}

export interface StoredBytes {
  start: number;
  end: number;
  open: () => Promise<Readable>;
}

export interface ResponseContext {
  ifNoneMatch: string | undefined;
  /** The URL's `expires` (unix seconds): Cache-Control never outlives it. */
  expires: number | undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * Turns a derivative built for a miss (rendered, fetched or joined) into a response. `fresh` is whether it is
 * still fresh now, as its headers are written: a purge applied while it rendered leaves this request its
 * bytes (the request started before the purge) but forbids every cache downstream to keep them, since an
 * edge that stored them after purging would serve them on.
 */
export function respond(derivative: Derivative, context: ResponseContext, cacheStatus: string, fresh: boolean): DeliveryResponse {
  return build(derivative, context, cacheStatus, 'miss', fresh);
}

/**
 * A cache hit. Its header block depends only on the derivative and the tier that answered, so it is built
 * once and kept with the derivative: a hit then costs a lookup and a write, not a dozen string builds.
 */
export function respondHit(derivative: Derivative, context: ResponseContext, tier: Tier): DeliveryResponse {
  const { meta } = derivative;
  if (context.expires !== undefined || (context.ifNoneMatch !== undefined && meta.status === 200)) {
    return build(derivative, context, hitStatus(tier), 'hit', true);
  }
  const heads = (derivative.hitHeads ??= {});
  const headers = (heads[tier] ??= headerBlock(meta, meta.maxAge, hitStatus(tier), derivative.body.length, true));
  return { status: meta.status, headers, body: derivative.body, cache: 'hit' };
}

function hitStatus(tier: Tier): string {
  return `Pictor; hit; detail=${tier}`;
}

function build(derivative: Derivative, context: ResponseContext, cacheStatus: string, cache: 'hit' | 'miss', fresh: boolean): DeliveryResponse {
  const { meta } = derivative;
  let maxAge = meta.maxAge;
  if (context.expires !== undefined) maxAge = Math.min(maxAge, Math.max(0, Math.floor(context.expires - Date.now() / 1000)));
  if (meta.status === 200 && matchesEtag(context.ifNoneMatch, meta.etag)) {
    return { status: 304, headers: headerBlock(meta, maxAge, cacheStatus, undefined, fresh), body: EMPTY, cache };
  }
  return { status: meta.status, headers: headerBlock(meta, maxAge, cacheStatus, derivative.body.length, fresh), body: derivative.body, cache };
}

/**
 * Cache-Control, ETag, Vary, Cache-Status, the edge keys (`xkey`, `Cache-Tag`, `Surrogate-Key`, see edges/edge-keys.ts) and the render
 * listener's security headers (security-headers.ts); Content-Length unless the response has no body (304).
 */
function headerBlock(meta: DerivativeMeta, maxAge: number, cacheStatus: string, contentLength: number | undefined, fresh: boolean): string[] {
  const headers = [
    'content-type', meta.contentType,
    'cache-control', !fresh ? 'no-store' : maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache',
    'etag', meta.etag,
    'cache-status', cacheStatus,
    ...edgeHeadersOf(meta),
    ...RENDER_SECURITY_HEADERS,
  ];
  if (contentLength !== undefined) headers.push('content-length', String(contentLength));
  if (meta.varyAccept) headers.push('vary', 'Accept');
  // What a `<video src>` needs to seek: byte ranges of the file passed through (respondRange).
  if (meta.status === 200 && meta.contentType.startsWith('video/')) headers.push('accept-ranges', 'bytes');
  return headers;
}

/**
 * A byte range of a response that offers them (a passed-through video, `Accept-Ranges: bytes`): `206` with
 * that slice, `416` for a range past the end; anything else as it is.
 */
export function respondRange(response: DeliveryResponse, rangeHeader: string): DeliveryResponse {
  if (response.status !== 200 || !response.headers.includes('accept-ranges')) return response;
  const size = response.body.length;
  const range = parseRange(rangeHeader, size);
  if (range === undefined) return response;
  const headers: string[] = [];
  for (let i = 0; i < response.headers.length; i += 2) {
    if (response.headers[i] !== 'content-length') headers.push(response.headers[i]!, response.headers[i + 1]!);
  }
  headers.push('content-range', contentRange(range, size));
  if (range === 'unsatisfiable') return { ...response, status: 416, headers: [...headers, 'content-length', '0'], body: EMPTY };
  return { ...response, status: 206, headers: [...headers, 'content-length', String(range.end - range.start + 1)], body: response.body.subarray(range.start, range.end + 1) };
}

/** The edge-key headers of a derivative (edges/edge-keys.ts); kept per derivative, as responses other than hits rebuild their headers. */
const edgeHeaders = new WeakMap<DerivativeMeta, string[]>();

function edgeHeadersOf(meta: DerivativeMeta): string[] {
  let value = edgeHeaders.get(meta);
  if (value === undefined) edgeHeaders.set(meta, (value = edgeKeyHeaders(meta.deps, meta.content)));
  return value;
}

/** RFC 9110 If-None-Match: weak comparison over a list, or `*`. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}
