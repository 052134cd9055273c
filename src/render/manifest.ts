/**
 * imgix's parameter manifest (`imgix-url-params`), loaded once and indexed for O(1) lookups.
 * The package's `main` points at a file that does not exist, so the JSON is required by path.
 */
import { createRequire } from 'node:module';

export interface Range {
  min?: number;
  max?: number;
}

export interface ExpectSpec {
  type:
    | 'integer' | 'number' | 'unit_scalar' | 'ratio' | 'boolean' | 'string' | 'list' | 'hex_color'
    | 'color_keyword' | 'url' | 'path' | 'timestamp' | 'interval' | 'font';
  possible_values?: (string | number)[];
  strict_range?: Range;
  suggested_range?: Range;
  /** Lists: fixed length, with positional alternatives under "0", "1", … */
  length?: number;
  [position: string]: unknown;
}

export interface ParamSpec {
  expects: ExpectSpec[];
  default?: string | number | boolean;
  aliases?: string[];
  depends?: string[];
  disallow_base64?: boolean;
}

interface ManifestJson {
  version: string;
  parameters: Record<string, ParamSpec>;
  aliases: Record<string, string>;
  colorKeywordValues: string[];
}

const manifest = createRequire(import.meta.url)('imgix-url-params/dist/parameters.json') as ManifestJson;

export const MANIFEST_VERSION = manifest.version;

const specs = new Map<string, ParamSpec>(Object.entries(manifest.parameters));
const aliases = new Map<string, string>(Object.entries(manifest.aliases));
const colorKeywords = new Set(manifest.colorKeywordValues);

/** Canonical name for a parameter or one of its aliases; `undefined` when imgix does not know it. */
export function canonicalName(name: string): string | undefined {
  if (specs.has(name)) return name;
  const target = aliases.get(name);
  return target !== undefined && specs.has(target) ? target : undefined;
}

export function specFor(name: string): ParamSpec | undefined {
  return specs.get(name);
}

export function isColorKeyword(value: string): boolean {
  return colorKeywords.has(value);
}
