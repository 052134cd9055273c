/**
 * `ch` client hints: the request headers that may replace `w`, `dpr` and `q` (params.ts applies them), read
 * and bounded here, and the response headers that ask browsers for them and tell caches what varies.
 * Both the current names (`Sec-CH-Width`, `Sec-CH-DPR`) and the legacy ones (`Width`, `DPR`) are read;
 * the current one wins when a browser sends both.
 */
import type { ClientHint, HintValues } from '../render/params.ts';

/** The raw header values a request sent (render-server.ts reads them from the raw header list). */
export interface HintHeaders {
  width?: string | undefined;
  secChWidth?: string | undefined;
  dpr?: string | undefined;
  secChDpr?: string | undefined;
  saveData?: string | undefined;
}

/** Bounds of the values a hint may set: those of `w` (pixels) and `dpr` (imgix's range). */
const MIN_WIDTH = 2;
const MAX_WIDTH = 8192;
const MIN_DPR = 0.75;
const MAX_DPR = 5;
const NUMBER = /^\s*\d+(?:\.\d+)?\s*$/;

/**
 * The hint values worth applying, or undefined when none of the named hints was sent. A value that is not a
 * number is ignored (a hint is advice, never a reason to fail); numbers are clamped and rounded, which also
 * bounds how many variants of one URL can be cached.
 */
export function readHints(named: readonly ClientHint[], headers: HintHeaders): HintValues | undefined {
  const hints: HintValues = {};
  if (named.includes('width')) {
    const width = number(headers.secChWidth ?? headers.width);
    if (width !== undefined) hints.width = Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.ceil(width)));
  }
  if (named.includes('dpr')) {
    const dpr = number(headers.secChDpr ?? headers.dpr);
    if (dpr !== undefined && dpr > 0) hints.dpr = Math.round(Math.min(MAX_DPR, Math.max(MIN_DPR, dpr)) * 100) / 100;
  }
  if (named.includes('save-data') && headers.saveData?.trim().toLowerCase() === 'on') hints.saveData = true;
  return Object.keys(hints).length > 0 ? hints : undefined;
}

/** `Accept-CH` asking for the named hints, and `Vary` naming every header that may change the response. */
export function hintResponseHeaders(named: readonly ClientHint[]): string[] {
  const accept: string[] = [];
  const vary: string[] = [];
  if (named.includes('width')) {
    accept.push('Sec-CH-Width', 'Width');
    vary.push('Sec-CH-Width', 'Width');
  }
  if (named.includes('dpr')) {
    accept.push('Sec-CH-DPR', 'DPR');
    vary.push('Sec-CH-DPR', 'DPR');
  }
  if (named.includes('save-data')) {
    accept.push('Save-Data');
    vary.push('Save-Data');
  }
  return accept.length > 0 ? ['accept-ch', accept.join(', '), 'vary', vary.join(', ')] : [];
}

function number(value: string | undefined): number | undefined {
  return value !== undefined && NUMBER.test(value) ? Number(value) : undefined;
}
