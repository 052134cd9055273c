/**
 * Manifest-driven validation of one parameter value. `expects` lists alternatives (OR); the first that
 * accepts the value wins. `strict_range` rejects, `suggested_range` clamps, `possible_values` rejects others.
 */
import { PictorError } from '../errors.ts';
import { keywordColor, parseHexColor, type Rgba } from './colors.ts';
import type { ExpectSpec, ParamSpec, Range } from './manifest.ts';

export type ListItem = number | string | Rgba;
export type ParamValue = number | boolean | string | Rgba | ListItem[];

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const RATIO = /^(\d+(?:\.\d+)?|\.\d+):(\d+(?:\.\d+)?|\.\d+)$/;
const INTERVAL = /^\d*-\d*$/;
const URL_LIKE = /^https?:\/\/\S+$/i;

/** Thrown inside this module only; turned into one 400 listing every accepted form. */
const REJECT = Symbol('reject');

export function validateValue(name: string, raw: string, spec: ParamSpec): ParamValue {
  // Strict pass first; a second, lenient pass lets integer parameters take decimals (rounded), but only
  // when no alternative accepted the value as written — so `w=0.5` stays a fraction, `bri=10.5` becomes 11.
  for (const lenient of [false, true]) {
    for (const expect of spec.expects) {
      const value = tryExpect(expect, raw, lenient);
      if (value !== REJECT) return value;
    }
  }
  const accepted = spec.expects.map(describe).join(' or ');
  throw new PictorError('INVALID_PARAMETER', `${name} must be ${accepted}, got "${truncate(raw)}"`, { pointer: name });
}

function tryExpect(expect: ExpectSpec, raw: string, lenient: boolean): ParamValue | typeof REJECT {
  switch (expect.type) {
    case 'integer': {
      if (!INTEGER.test(raw) && !(lenient && DECIMAL.test(raw))) return REJECT;
      const value = Math.round(Number(raw));
      if (expect.possible_values) return expect.possible_values.includes(value) ? value : REJECT;
      return ranged(value, expect);
    }
    case 'number':
      return DECIMAL.test(raw) ? ranged(Number(raw), expect) : REJECT;
    case 'unit_scalar': {
      if (!DECIMAL.test(raw)) return REJECT;
      const value = Number(raw);
      return value >= 0 && value <= 1 ? value : REJECT;
    }
    case 'ratio': {
      const match = RATIO.exec(raw);
      if (!match) return REJECT;
      const ratio = Number(match[1]) / Number(match[2]);
      return Number.isFinite(ratio) && ratio > 0 ? ratio : REJECT;
    }
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      return REJECT;
    }
    case 'string': {
      if (!expect.possible_values) return raw;
      const lower = raw.toLowerCase();
      return expect.possible_values.includes(lower) ? lower : REJECT;
    }
    case 'list':
      return parseList(expect, raw, lenient);
    case 'hex_color':
      return parseHexColor(raw) ?? REJECT;
    case 'color_keyword':
      return keywordColor(raw) ?? REJECT;
    case 'timestamp':
      return INTEGER.test(raw) && Number(raw) >= 0 && Number.isSafeInteger(Number(raw)) ? Number(raw) : REJECT;
    case 'interval':
      return INTERVAL.test(raw) ? raw : REJECT;
    case 'url':
      return URL_LIKE.test(raw) ? raw : REJECT;
    case 'path':
    case 'font':
      return raw.length > 0 ? raw : REJECT;
    default:
      return REJECT;
  }
}

function parseList(expect: ExpectSpec, raw: string, lenient: boolean): ListItem[] | typeof REJECT {
  const items = raw.split(',').map((item) => item.trim());
  if (expect.length !== undefined) {
    // Positional list (rect, border, duotone, …): each position has its own alternatives.
    if (items.length !== expect.length) return REJECT;
    const out: ListItem[] = [];
    for (const [index, item] of items.entries()) {
      const alternatives = expect[String(index)] as ExpectSpec[] | undefined;
      if (!alternatives) return REJECT;
      const value = firstAccepted(alternatives, item, lenient);
      if (value === REJECT || typeof value === 'boolean' || Array.isArray(value)) return REJECT;
      out.push(value);
    }
    return out;
  }
  const nonEmpty = items.filter((item) => item !== '');
  if (!expect.possible_values) return nonEmpty;
  const lowered = nonEmpty.map((item) => item.toLowerCase());
  return lowered.every((item) => expect.possible_values!.includes(item)) ? lowered : REJECT;
}

function firstAccepted(alternatives: ExpectSpec[], raw: string, lenient: boolean): ParamValue | typeof REJECT {
  for (const alternative of alternatives) {
    const value = tryExpect(alternative, raw, lenient);
    if (value !== REJECT) return value;
  }
  return REJECT;
}

function ranged(value: number, expect: ExpectSpec): number | typeof REJECT {
  if (!Number.isFinite(value)) return REJECT;
  const strict = expect.strict_range;
  if (strict && ((strict.min !== undefined && value < strict.min) || (strict.max !== undefined && value > strict.max))) {
    return REJECT;
  }
  const suggested = expect.suggested_range;
  if (suggested) {
    if (suggested.min !== undefined && value < suggested.min) return suggested.min;
    if (suggested.max !== undefined && value > suggested.max) return suggested.max;
  }
  return value;
}

function describe(expect: ExpectSpec): string {
  switch (expect.type) {
    case 'integer':
      return expect.possible_values ? `one of ${expect.possible_values.join(', ')}` : `an integer${rangeText(expect.strict_range)}`;
    case 'number': return `a number${rangeText(expect.strict_range)}`;
    case 'unit_scalar': return 'a fraction between 0 and 1';
    case 'ratio': return 'a ratio like 16:9';
    case 'boolean': return 'true or false';
    case 'string': return expect.possible_values ? `one of ${expect.possible_values.join(', ')}` : 'a string';
    case 'list':
      if (expect.length !== undefined) return `${expect.length} comma-separated values (${describePositions(expect)})`;
      return expect.possible_values ? `a comma-separated list of ${expect.possible_values.join(', ')}` : 'a comma-separated list';
    case 'hex_color': return 'a hex colour (RGB, ARGB, RRGGBB or AARRGGBB)';
    case 'color_keyword': return 'a colour name';
    case 'timestamp': return 'a unix timestamp in seconds';
    case 'interval': return 'an interval like 1-5';
    case 'url': return 'an http(s) URL';
    default: return `a ${expect.type}`;
  }
}

function describePositions(expect: ExpectSpec): string {
  const positions: string[] = [];
  for (let i = 0; i < (expect.length ?? 0); i++) {
    const alternatives = (expect[String(i)] as ExpectSpec[] | undefined) ?? [];
    positions.push(`#${i + 1}: ${alternatives.map(describe).join(' or ')}`);
  }
  return positions.join('; ');
}

function rangeText(range: Range | undefined): string {
  if (!range) return '';
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

function truncate(raw: string): string {
  return raw.length > 64 ? `${raw.slice(0, 61)}...` : raw;
}
