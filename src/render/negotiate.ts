/**
 * `auto=format` content negotiation. The class returned is part of the cache key, so it is derived only
 * from whether the client accepts AVIF and WebP (q > 0) — never from the rest of the Accept header.
 */
import type { RenderParams } from './render-params.ts';

export type AcceptClass = '' | 'avif' | 'webp' | 'none';

/** True when the response depends on the Accept header (send `Vary: Accept`). */
export function variesOnAccept(params: RenderParams): boolean {
  if (!(params.auto?.includes('format') ?? false)) return false;
  // Data outputs are the same for every client.
  return params.fm !== 'json' && params.fm !== 'blurhash';
}

/** `''` without auto=format; else `'avif'`, `'webp'` or `'none'` (AVIF preferred over WebP). */
export function acceptClass(params: RenderParams, acceptHeader: string | undefined): AcceptClass {
  if (!variesOnAccept(params)) return '';
  if (!acceptHeader) return 'none';
  const header = acceptHeader.toLowerCase();
  if (accepts(header, 'image/avif')) return 'avif';
  if (accepts(header, 'image/webp')) return 'webp';
  return 'none';
}

/** Explicit media type with q > 0. Wildcards (`image/*`, `*\/*`) do not count: browsers send them for any format. */
function accepts(header: string, type: string): boolean {
  if (!header.includes(type)) return false; // fast path for the common header
  for (const range of header.split(',')) {
    const [media, ...parameters] = range.split(';');
    if (media?.trim() !== type) continue;
    const q = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
