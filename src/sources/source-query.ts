import { PictorError } from '../errors.ts';
import { FILTER_FIELDS, normalizeHost, SORT_FIELDS, type FilterField, type SortField, type SortKey, type SourceFilter } from '../store/source-record.ts';
import { isReadableField } from './source-document.ts';

/** A list query on Sources, in imgix's conventions: `filter[...]` (dot notation), `sort`, zero-based pages. */
export interface SourceQuery {
  filters: SourceFilter[];
  sort: SortKey[];
  /** Absent: every Source (the CLI). */
  page?: { number: number; size: number };
  /** `fields[sources]`: the attributes to return, `deployment.<field>` for nested ones. */
  fields?: string[];
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function badQuery(message: string): PictorError {
  return new PictorError('BAD_REQUEST', message);
}

/** Reads a parsed query string (`{ 'filter[name]': 'x', 'page[size]': '10' }`); every mistake is a 400 naming the parameter. */
export function parseSourceQuery(query: Record<string, unknown>): SourceQuery & { page: { number: number; size: number } } {
  const result: SourceQuery & { page: { number: number; size: number } } = { filters: [], sort: [], page: { number: 0, size: DEFAULT_PAGE_SIZE } };
  for (const [name, raw] of Object.entries(query)) {
    if (!name.startsWith('filter[') && !name.startsWith('page[') && name !== 'sort' && name !== 'fields[sources]') continue;
    if (typeof raw !== 'string') throw badQuery(`Give the query parameter "${name}" once.`);
    const bracket = /^(filter|page)\[([^\]]*)\]$/.exec(name);
    if (name.startsWith('filter[')) {
      const field = bracket?.[2];
      if (field === undefined || !(FILTER_FIELDS as readonly string[]).includes(field)) {
        throw badQuery(`Sources cannot be filtered by "${name}"; the filters are ${FILTER_FIELDS.map((f) => `filter[${f}]`).join(', ')}.`);
      }
      if (field === 'enabled' && raw !== 'true' && raw !== 'false') throw badQuery(`"filter[enabled]" must be true or false, got "${raw}".`);
      result.filters.push({ field: field as FilterField, value: raw });
    } else if (name === 'page[number]') {
      result.page.number = wholeNumber(name, raw, 0, Number.MAX_SAFE_INTEGER);
    } else if (name === 'page[size]') {
      result.page.size = wholeNumber(name, raw, 1, MAX_PAGE_SIZE);
    } else if (name.startsWith('page[')) {
      throw badQuery(`Sources are paged with page[number] (from 0) and page[size]; "${name}" is not supported.`);
    } else if (name === 'sort') {
      result.sort = parseSort(raw);
    } else {
      result.fields = parseFields(raw);
    }
  }
  return result;
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badQuery(`"${name}" must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${raw}".`);
  }
  return value;
}

function parseSort(raw: string): SortKey[] {
  return raw.split(',').map((part) => {
    const descending = part.startsWith('-');
    const field = descending ? part.slice(1) : part;
    if (!(SORT_FIELDS as readonly string[]).includes(field)) {
      throw badQuery(`Sources can be sorted by ${SORT_FIELDS.join(', ')} (prefix "-" for descending), not "${part}".`);
    }
    return { field: field as SortField, descending };
  });
}

/** `fields[sources]` alone, for requests on one Source (and writes, whose response is one Source). */
export function parseSparseFields(query: Record<string, unknown>): string[] | undefined {
  const raw = query['fields[sources]'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badQuery('Give the query parameter "fields[sources]" once.');
  return parseFields(raw);
}

function parseFields(raw: string): string[] {
  const fields = raw === '' ? [] : raw.split(',').map((field) => field.trim());
  for (const field of fields) {
    const readable = isReadableField(field);
    if (readable === 'secret') throw badQuery(`"fields[sources]": "${field}" is write-only and never returned.`);
    if (!readable) throw badQuery(`"fields[sources]": Sources have no field "${field}" (nested fields use dot notation, e.g. deployment.default_params).`);
  }
  return fields;
}

/**
 * A filter with its value as Sources store it, for an exact match: host names normalised (`CDN.Example.com:443`
 * finds `cdn.example.com`), labels lowercase. An array field matches when it holds the value.
 */
export function storedFilter(filter: SourceFilter): SourceFilter {
  if (filter.field === 'deployment.custom_domains') return { ...filter, value: normalizeHost(filter.value) };
  if (filter.field === 'deployment.imgix_subdomains') return { ...filter, value: filter.value.toLowerCase() };
  return filter;
}
