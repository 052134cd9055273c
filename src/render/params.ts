/**
 * Query string → validated, normalised render parameters plus a canonical string for the cache key.
 * Steps: split the raw query, form-decode, resolve aliases and `<name>64` Base64 variants, validate against
 * imgix's manifest, normalise (normalize.ts) and serialise the result sorted by name.
 */
import { PictorError } from '../errors.ts';
import { formatColor, type Rgba } from './colors.ts';
import { canonicalName, specFor, type ExpectSpec, type ParamSpec } from './manifest.ts';
import { normalizeParams, SUPPORTED } from './normalize.ts';
import type { RenderParams } from './render-params.ts';
import { validateValue, type ParamValue } from './values.ts';

export type { RenderParams } from './render-params.ts';
export { hasSubImages, subImageRefs, type SubImageRefs } from './sub-image-params.ts';

export interface ParsedParams {
  params: RenderParams;
  /** Sorted `name=value` pairs of `params`; itself a valid query that parses back to the same string. */
  canonical: string;
  /** Unix seconds from `expires` (kept out of `canonical`; the caller decides what an expired URL gets). */
  expires?: number;
  /** Known imgix parameters that were validated but are not applied (named in `X-Pictor-Unsupported`). */
  ignored?: string[];
  /** `dl`: answer as a download under this name (the delivery layer sets Content-Disposition). */
  download?: string;
  /** `ch`: the client hints the URL opts in to; the delivery layer reads their headers. */
  hints?: ClientHint[];
}

export type ClientHint = 'width' | 'dpr' | 'save-data';

/** Client hint values a request sent, already bounded and rounded (delivery/client-hints.ts). */
export interface HintValues {
  width?: number;
  dpr?: number;
  saveData?: boolean;
}

export interface ParseOptions {
  /** The Source's `default_params` (name → value): each applies unless the query gives that parameter. */
  defaults?: Readonly<Record<string, string>>;
  /** Header values for the hints `ch` names; a hint that `ch` does not name is not applied. */
  hints?: HintValues;
}

/** imgix parameters applied outside the renderer: by the delivery layer (the URL's expiry, downloads, client hints). */
export const DELIVERY_PARAMS: readonly string[] = ['expires', 'dl', 'ch'];

/** Parameters that never affect the pixels: the signature and the SDK marker. */
const SKIPPED = new Set(['s', 'ixlib']);
/** imgix: `ch` cannot be a Source default (it would make every response vary); nor can an expiry. */
const NOT_DEFAULTS = new Set(['ch', 'expires']);
/** What Save-Data lowers the quality to (imgix's documented value, as for auto=compress). */
const SAVE_DATA_QUALITY = 45;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseParams(rawQuery: string, options: ParseOptions = {}): ParsedParams {
  let raw = collect(rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery);
  const defaults = options.defaults ? defaultsOf(options.defaults, raw) : undefined;
  if (defaults) raw = new Map([...defaults, ...raw]);
  const values = new Map<string, ParamValue>();
  const parsed: ParsedParams = { params: {}, canonical: '' };
  const ignored: string[] = [];
  for (const [name, value] of raw) {
    const validated = validateDefault(name, value, defaults?.has(name) === true);
    if (name === 'expires') parsed.expires = validated as number;
    else if (name === 'dl') parsed.download = validated as string;
    else if (name === 'ch') parsed.hints = validated as ClientHint[];
    else if (SUPPORTED.has(name)) values.set(name, validated);
    else ignored.push(name);
  }
  if (parsed.hints && options.hints) applyHints(values, parsed.hints, options.hints);
  parsed.params = normalizeParams(values);
  parsed.canonical = canonicalize(parsed.params);
  if (ignored.length > 0) parsed.ignored = ignored;
  return parsed;
}

/** The defaults the query does not override, by canonical name (aliases and `…64` forms resolved alike). */
function defaultsOf(defaults: Readonly<Record<string, string>>, query: ReadonlyMap<string, string>): Map<string, string> | undefined {
  const pairs = Object.entries(defaults).map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  const applied = new Map<string, string>();
  for (const [name, value] of collectDefaults(pairs.join('&'))) {
    if (!query.has(name) && !NOT_DEFAULTS.has(name)) applied.set(name, value);
  }
  return applied.size > 0 ? applied : undefined;
}

function collectDefaults(query: string): Map<string, string> {
  try {
    return collect(query);
  } catch (error) {
    throw fromDefaults(error);
  }
}

/** A bad default is the Source's fault, not the URL's: the message says where to fix it. */
function validateDefault(name: string, value: string, isDefault: boolean): ParamValue {
  try {
    return validateValue(name, value, effectiveSpec(name));
  } catch (error) {
    throw isDefault ? fromDefaults(error) : error;
  }
}

function fromDefaults(error: unknown): unknown {
  if (!(error instanceof PictorError)) return error;
  return new PictorError('INVALID_PARAMETER', `${error.message} (in the Source's default_params)`, { pointer: 'default_params' });
}

/**
 * Client hints replace parameters before normalisation, so a hinted render is keyed and planned like the
 * same URL written out. `Width` is the image's width in device pixels: it replaces `w` and the device pixel
 * ratio is already in it, so `dpr` no longer applies. `DPR` replaces `dpr`. `Save-Data` lowers the quality
 * to 45 (a lower `q` is kept).
 */
function applyHints(values: Map<string, ParamValue>, named: readonly ClientHint[], hints: HintValues): void {
  if (named.includes('width') && hints.width !== undefined) {
    values.set('w', hints.width);
    values.delete('dpr');
  } else if (named.includes('dpr') && hints.dpr !== undefined) {
    values.set('dpr', hints.dpr);
  }
  if (named.includes('save-data') && hints.saveData === true) {
    const q = values.get('q');
    values.set('q', typeof q === 'number' ? Math.min(q, SAVE_DATA_QUALITY) : SAVE_DATA_QUALITY);
  }
}

/** Serialises params sorted by name; values use the same syntax the parser accepts. */
export function canonicalize(params: RenderParams): string {
  const entries = params as Record<string, unknown>;
  return Object.keys(entries)
    .sort()
    .map((name) => `${name}=${serialize(name, entries[name])}`)
    .join('&');
}

function serialize(name: string, value: unknown): string {
  if (name === 'ar') return `${value as number}:1`;
  if (Array.isArray(value)) return value.map((item) => serialize('', item)).join(',');
  if (typeof value === 'object' && value !== null) return formatColor(value as Rgba);
  if (typeof value === 'string') return encodeValue(value);
  return String(value);
}

/**
 * Percent-encodes free-form strings (mark/blend references may hold `&`, `=`, `+` or `%`) so that the
 * canonical string still parses back to itself; `/` and `:` stay readable. Keywords are unchanged by it.
 */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, '/').replace(/%3A/gi, ':');
}

/** name → raw (decoded) value, after alias and Base64 resolution. Last one wins, except `auto` (merged). */
function collect(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = formDecode(eq === -1 ? pair : pair.slice(0, eq), 'parameter name');
    if (SKIPPED.has(key)) continue;
    let value = formDecode(eq === -1 ? '' : pair.slice(eq + 1), key);
    let name = canonicalName(key);
    if (name === undefined && key.endsWith('64')) {
      const base = canonicalName(key.slice(0, -2));
      // auto and ch have no Base64 form (disallow_base64): auto64/ch64 are unknown names, hence ignored.
      if (base !== undefined && !specFor(base)?.disallow_base64) {
        name = base;
        value = decodeBase64(key, value);
      }
    }
    if (name === undefined || value === '') continue; // unknown parameters and empty values are ignored
    if (name === 'auto' && out.has('auto')) value = `${out.get('auto')},${value}`;
    else out.delete(name); // re-insert so validation order follows the query's last occurrence
    out.set(name, value);
  }
  return out;
}

function formDecode(text: string, name: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new PictorError('INVALID_PARAMETER', `${name} is not correctly percent-encoded`, { pointer: name });
  }
}

/** URL-safe alphabet, no padding (imgix rejects anything else with 400), and valid UTF-8. */
function decodeBase64(key: string, value: string): string {
  if (BASE64URL.test(value) && value.length % 4 !== 1) {
    try {
      return utf8.decode(Buffer.from(value, 'base64url'));
    } catch {
      // falls through to the error below
    }
  }
  throw new PictorError(
    'INVALID_PARAMETER',
    `${key} must be URL-safe Base64 (A-Z a-z 0-9 - _) without padding, encoding UTF-8 text, got "${value.slice(0, 64)}"`,
    { pointer: key },
  );
}

// Local refinements of the manifest: rect's width/height may also be fractions (imgix accepts them; the
// manifest lists integers only), rot/hue/mark-rot wrap around 360° instead of being clamped to 0..359, and
// frame reads "-N" as a range.
const OVERRIDES = new Map<string, ParamSpec>();
{
  const rect = specFor('rect');
  const list = rect?.expects[0];
  if (rect && list) {
    const fraction: ExpectSpec = { type: 'unit_scalar' };
    const withFraction = (position: string) => [...((list[position] as ExpectSpec[] | undefined) ?? []), fraction];
    OVERRIDES.set('rect', { ...rect, expects: [{ ...list, '2': withFraction('2'), '3': withFraction('3') }] });
  }
  // fit also takes a fallback chain, `fit=facearea,fill`: the second fit applies when no face is found.
  const fit = specFor('fit');
  const modes = fit?.expects[0];
  if (fit && modes) OVERRIDES.set('fit', { ...fit, expects: [...fit.expects, { type: 'list', possible_values: modes.possible_values }] });
  // frame: "-5" is the range 1–5, not an integer clamped to 1, so the interval form is tried first; frame=0
  // is refused rather than clamped (frames count from 1).
  const frame = specFor('frame');
  if (frame) {
    const forms = [...frame.expects].sort((a, b) => Number(b.type === 'interval') - Number(a.type === 'interval'));
    OVERRIDES.set('frame', { ...frame, expects: forms.map(({ suggested_range: _dropped, ...rest }) => (rest.type === 'integer' ? { ...rest, strict_range: { min: 1 } } : rest)) });
  }
  for (const name of ['rot', 'hue', 'mark-rot']) {
    const spec = specFor(name);
    if (spec) OVERRIDES.set(name, { ...spec, expects: spec.expects.map(({ suggested_range: _dropped, ...rest }) => rest) });
  }
}

function effectiveSpec(name: string): ParamSpec {
  return OVERRIDES.get(name) ?? specFor(name)!;
}
