/**
 * HTTP byte ranges (RFC 9110 §14), as a `<video>` element asks for them: one range per request. A header
 * Pictor does not understand (several ranges, another unit, bad syntax) is ignored and the whole body is
 * sent, as the RFC allows; a range wholly past the end is unsatisfiable (416).
 */
export type RangeRequest = { start: number; end: number } | 'unsatisfiable' | undefined;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    // A suffix: the last N bytes.
    const length = Number(match[2]);
    if (length === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return undefined; // invalid (last < first): ignored
  return { start, end };
}

/** `Content-Range` of a satisfiable range, or of the refusal (bytes, a star, then the size). */
export function contentRange(range: { start: number; end: number } | 'unsatisfiable', size: number): string {
  return range === 'unsatisfiable' ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`;
}
