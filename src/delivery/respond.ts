import type { Derivative, DerivativeMeta, Tier } from '../cache/derivative-cache.ts';

export interface DeliveryResponse {
  status: number;
  /** Header names and values, alternating: node:http's raw form, which it writes without building a map. */
  headers: readonly string[];
  body: Buffer;
  /** For metrics and logs: whether Pictor's derivative cache answered. */
  cache: 'hit' | 'miss';
}

export interface ResponseContext {
  ifNoneMatch: string | undefined;
  /** The URL's `expires` (unix seconds): Cache-Control never outlives it. */
  expires: number | undefined;
}

const EMPTY = Buffer.alloc(0);

/** Turns a fresh derivative (a miss: rendered, fetched or joined) into a response. */
export function respond(derivative: Derivative, context: ResponseContext, cacheStatus: string): DeliveryResponse {
  return build(derivative, context, cacheStatus, 'miss');
}

/**
 * A cache hit. Its header block depends only on the derivative and the tier that answered, so it is built
 * once and kept with the derivative: a hit then costs a lookup and a write, not a dozen string builds.
 */
export function respondHit(derivative: Derivative, context: ResponseContext, tier: Tier): DeliveryResponse {
  const { meta } = derivative;
  if (context.expires !== undefined || (context.ifNoneMatch !== undefined && meta.status === 200)) {
    return build(derivative, context, hitStatus(tier), 'hit');
  }
  const heads = (derivative.hitHeads ??= {});
  const headers = (heads[tier] ??= headerBlock(meta, meta.maxAge, hitStatus(tier), derivative.body.length));
  return { status: meta.status, headers, body: derivative.body, cache: 'hit' };
}

function hitStatus(tier: Tier): string {
  return `Pictor; hit; detail=${tier}`;
}

function build(derivative: Derivative, context: ResponseContext, cacheStatus: string, cache: 'hit' | 'miss'): DeliveryResponse {
  const { meta } = derivative;
  let maxAge = meta.maxAge;
  if (context.expires !== undefined) maxAge = Math.min(maxAge, Math.max(0, Math.floor(context.expires - Date.now() / 1000)));
  if (meta.status === 200 && matchesEtag(context.ifNoneMatch, meta.etag)) {
    return { status: 304, headers: headerBlock(meta, maxAge, cacheStatus, undefined), body: EMPTY, cache };
  }
  return { status: meta.status, headers: headerBlock(meta, maxAge, cacheStatus, derivative.body.length), body: derivative.body, cache };
}

/** Cache-Control, ETag, Vary and Cache-Status; Content-Length unless the response has no body (304). */
function headerBlock(meta: DerivativeMeta, maxAge: number, cacheStatus: string, contentLength: number | undefined): string[] {
  const headers = [
    'content-type', meta.contentType,
    'cache-control', maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache',
    'etag', meta.etag,
    'cache-status', cacheStatus,
    'x-content-type-options', 'nosniff',
  ];
  if (contentLength !== undefined) headers.push('content-length', String(contentLength));
  if (meta.varyAccept) headers.push('vary', 'Accept');
  if (meta.contentType.startsWith('image/svg')) headers.push('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  return headers;
}

/** RFC 9110 If-None-Match: weak comparison over a list, or `*`. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}
