import type { Derivative } from '../cache/derivative-cache.ts';

export interface DeliveryResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** For metrics and logs: whether Pictor's derivative cache answered. */
  cache: 'hit' | 'miss';
}

interface ResponseContext {
  request: { ifNoneMatch: string | undefined };
  /** The URL's `expires` (unix seconds): Cache-Control never outlives it. */
  expires: number | undefined;
  varyAccept: boolean;
}

/** Turns a cached or fresh derivative into a response: Cache-Control, ETag/304, Vary and Cache-Status. */
export function respond(derivative: Derivative, context: ResponseContext, cacheStatus: string): DeliveryResponse {
  const { meta } = derivative;
  let maxAge = meta.maxAge;
  if (context.expires !== undefined) maxAge = Math.min(maxAge, Math.max(0, Math.floor(context.expires - Date.now() / 1000)));
  const headers: Record<string, string> = {
    'content-type': meta.contentType,
    'cache-control': maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache',
    etag: meta.etag,
    'cache-status': cacheStatus,
    'x-content-type-options': 'nosniff',
  };
  if (context.varyAccept) headers.vary = 'Accept';
  if (meta.contentType.startsWith('image/svg')) headers['content-security-policy'] = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
  const cache = cacheStatus.startsWith('Pictor; hit') ? 'hit' : 'miss';
  if (meta.status === 200 && matchesEtag(context.request.ifNoneMatch, meta.etag)) {
    return { status: 304, headers, body: Buffer.alloc(0), cache };
  }
  return { status: meta.status, headers, body: derivative.body, cache };
}

/** RFC 9110 If-None-Match: weak comparison over a list, or `*`. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}
