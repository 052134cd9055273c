import { PictorError } from '../errors.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import { ASSET_SORT_FIELDS, MEDIA_KINDS, type AssetEdit, type AssetListing, type AssetRecord, type AssetSortField, type MediaKind } from '../store/asset-store.ts';

/**
 * The Assets API's documents, in imgix's Management API shape: `type: "assets"`, the id `<source_id>/<path>`,
 * snake_case attributes, dates in Unix seconds. Also the list query (cursor paging, filters, sort) and the
 * validation of PATCH bodies: every mistake is a 400 that names the parameter or points at the member.
 */

export const DEFAULT_ASSET_PAGE_SIZE = 20;
export const MAX_ASSET_PAGE_SIZE = 100;

/** Bounds of what people write about an asset: every asset's row stays small. */
export const ASSET_LIMITS = {
  name: 255,
  description: 4096,
  /** Items in `tags`, and in `categories`. */
  listItems: 100,
  /** Characters of one tag or category. */
  item: 100,
  customFields: 50,
  customFieldKey: 64,
  customFieldValue: 1024,
} as const;

const EDITABLE = new Set(['name', 'description', 'tags', 'categories', 'custom_fields']);
/** Sent back as read: accepted in a PATCH and ignored, so a client may send a document it got. */
const READ_ONLY = new Set(['origin_path', 'source_id', 'media_kind', 'media_width', 'media_height', 'file_size', 'content_type', 'date_created', 'date_modified', 'video_status']);

export function assetId(record: Pick<AssetRecord, 'sourceId' | 'originPath'>): string {
  return `${record.sourceId}${record.originPath}`;
}

export function assetResource(record: AssetRecord): { id: string; type: 'assets'; attributes: Record<string, unknown> } {
  return {
    id: assetId(record),
    type: 'assets',
    attributes: {
      origin_path: record.originPath,
      source_id: record.sourceId,
      name: record.name,
      description: record.description,
      media_kind: record.mediaKind,
      media_width: record.mediaWidth,
      media_height: record.mediaHeight,
      file_size: record.fileSize,
      content_type: record.contentType,
      tags: record.tags,
      categories: record.categories,
      custom_fields: record.customFields,
      date_created: Math.floor(record.dateCreated / 1000),
      date_modified: Math.floor(record.dateModified / 1000),
      video_status: record.videoStatus,
    },
  };
}

/** An asset's canonical path from the rest of an API path (percent-encoded once, as in a render URL; `%2F` is a slash). */
export function pathFromUrl(rest: string): string {
  const path = canonicalPath(`/${rest}`);
  if (path === '/') throw new PictorError('BAD_REQUEST', 'Name an asset: the URL ends with its origin path, e.g. …/assets/photos/dog.jpg.');
  return path;
}

export interface AssetQuery {
  listing: Omit<AssetListing, 'sourceId'>;
  /** The cursor given (`page[cursor]`), to report as `meta.cursor.current`. */
  cursor: string | null;
}

/** Reads `page[cursor]`, `page[size]`, `filter[origin_path]`, `filter[media_kind]` and `sort`. */
export function parseAssetQuery(query: Record<string, unknown>): AssetQuery {
  let size = DEFAULT_ASSET_PAGE_SIZE;
  let cursor: string | null = null;
  let sort: AssetListing['sort'] = { field: 'date_created', descending: true };
  const listing: Omit<AssetListing, 'sourceId'> = { sort, limit: size };
  for (const [name, raw] of Object.entries(query)) {
    if (!name.startsWith('filter[') && !name.startsWith('page[') && name !== 'sort') continue;
    if (typeof raw !== 'string') throw badQuery(`Give the query parameter "${name}" once.`);
    switch (name) {
      case 'page[size]':
      case 'page[limit]':
        if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_ASSET_PAGE_SIZE) throw badQuery(`"${name}" must be a whole number from 1 to ${MAX_ASSET_PAGE_SIZE}, got "${raw.slice(0, 50)}".`);
        size = Number(raw);
        break;
      case 'page[cursor]':
        if (raw !== '') cursor = raw;
        break;
      case 'filter[origin_path]':
        listing.originPath = originPathFilter(raw);
        break;
      case 'filter[media_kind]': {
        const kind = raw.toUpperCase();
        if (!(MEDIA_KINDS as readonly string[]).includes(kind)) throw badQuery(`"filter[media_kind]" must be one of ${MEDIA_KINDS.join(', ')}, got "${raw.slice(0, 50)}".`);
        listing.mediaKind = kind as MediaKind;
        break;
      }
      case 'sort': {
        const field = raw.replace(/^-/, '');
        if (!(ASSET_SORT_FIELDS as readonly string[]).includes(field)) {
          throw badQuery(`"sort" takes one of ${ASSET_SORT_FIELDS.join(', ')} (with "-" before it for descending), got "${raw.slice(0, 50)}".`);
        }
        sort = { field: field as AssetSortField, descending: raw.startsWith('-') };
        break;
      }
      default:
        throw badQuery(`Unknown query parameter "${name.slice(0, 100)}": assets take page[cursor], page[size], filter[origin_path], filter[media_kind] and sort.`);
    }
  }
  listing.sort = sort;
  listing.limit = size;
  if (cursor !== null) listing.after = decodeCursor(cursor, sort);
  return { listing, cursor };
}

/** `/a/b.jpg` is that asset; a value ending with `/` is a folder: every asset under it. */
function originPathFilter(raw: string): AssetListing['originPath'] {
  let path: string;
  try {
    path = canonicalPath(raw.startsWith('/') ? raw : `/${raw}`);
  } catch (error) {
    throw badQuery(`"filter[origin_path]": ${(error as Error).message}`);
  }
  if (!raw.endsWith('/')) return { exact: path };
  return path === '/' ? undefined : { prefix: `${path}/` };
}

/**
 * The cursor of the page after `last`: where the previous page ended, in the order it was sorted by. Opaque
 * to clients (base64url of JSON); valid only with the same sort.
 */
export function encodeCursor(last: AssetRecord, sort: AssetListing['sort']): string {
  const value = sort.field === 'date_created' ? last.dateCreated : sort.field === 'date_modified' ? last.dateModified : sort.field === 'file_size' ? last.fileSize : last.originPath;
  return Buffer.from(JSON.stringify([sort.descending ? `-${sort.field}` : sort.field, value, last.originPath])).toString('base64url');
}

function decodeCursor(cursor: string, sort: AssetListing['sort']): NonNullable<AssetListing['after']> {
  let parsed: unknown;
  try {
    parsed = cursor.length <= 4096 && /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== 'string' || typeof parsed[2] !== 'string' || !['number', 'string'].includes(typeof parsed[1])) {
    throw badQuery('"page[cursor]" is not a cursor this API gave: use meta.cursor.next (or links.next) of the previous page.');
  }
  const sortName = sort.descending ? `-${sort.field}` : sort.field;
  if (parsed[0] !== sortName) throw badQuery(`This cursor was made for sort=${parsed[0]}; send it with that sort (now ${sortName}).`);
  return { value: parsed[1] as number | string, originPath: parsed[2] };
}

/** The attributes a PATCH changes, validated. */
export function readAssetPatch(body: unknown, id: string): AssetEdit {
  if (!isObject(body) || !isObject(body.data)) {
    throw new PictorError('BAD_REQUEST', 'The body must be a JSON:API document: {"data": {"type": "assets", "attributes": {…}}}.', { pointer: '/data' });
  }
  const { data } = body;
  if (data.type !== 'assets') {
    const got = data.type === undefined ? 'it is missing' : `got ${JSON.stringify(data.type)}`;
    throw new PictorError('BAD_REQUEST', `"data.type" must be "assets" (JSON:API requires it), ${got}.`, { pointer: '/data/type' });
  }
  if (data.id !== undefined && data.id !== id) {
    throw new PictorError('BAD_REQUEST', `"data.id" (${JSON.stringify(data.id)}) must be the asset's id ("${id}").`, { pointer: '/data/id' });
  }
  const attributes = data.attributes === undefined ? {} : data.attributes;
  if (!isObject(attributes)) throw new PictorError('BAD_REQUEST', '"data.attributes" must be an object.', { pointer: '/data/attributes' });
  const unknown = Object.keys(attributes).filter((name) => !EDITABLE.has(name) && !READ_ONLY.has(name));
  if (unknown.length > 0) {
    throw new PictorError('BAD_REQUEST', `Unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name.slice(0, 100)}"`).join(', ')}: assets take ${[...EDITABLE].join(', ')}.`, {
      pointer: `/data/attributes/${unknown[0]!.slice(0, 100)}`,
    });
  }
  const edit: AssetEdit = {};
  if ('name' in attributes) edit.name = optionalText(attributes.name, 'name', ASSET_LIMITS.name);
  if ('description' in attributes) edit.description = optionalText(attributes.description, 'description', ASSET_LIMITS.description);
  if ('tags' in attributes) edit.tags = textList(attributes.tags, 'tags');
  if ('categories' in attributes) edit.categories = textList(attributes.categories, 'categories');
  if ('custom_fields' in attributes) edit.customFields = customFields(attributes.custom_fields);
  return edit;
}

function optionalText(value: unknown, name: string, max: number): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw invalid(name, `must be a string or null, got ${describe(value)}`);
  if (value.length > max) throw invalid(name, `may have at most ${max} characters, and this one has ${value.length}`);
  return value;
}

/** A list of short, non-empty strings; repeats are dropped (the first kept). */
function textList(value: unknown, name: string): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw invalid(name, `must be an array of strings, got ${describe(value)}`);
  if (value.length > ASSET_LIMITS.listItems) throw invalid(name, `may hold at most ${ASSET_LIMITS.listItems} items, and this one holds ${value.length}`);
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || item.trim() === '') throw invalid(`${name}/${index}`, `must be a non-empty string, got ${describe(item)}`);
    if (item.length > ASSET_LIMITS.item) throw invalid(`${name}/${index}`, `may have at most ${ASSET_LIMITS.item} characters, and this one has ${item.length}`);
  });
  return [...new Set(value as string[])];
}

/** An object of strings, numbers, booleans and nulls (no nesting): imgix's custom fields. */
function customFields(value: unknown): Record<string, unknown> {
  if (value === null) return {};
  if (!isObject(value)) throw invalid('custom_fields', `must be an object, got ${describe(value)}`);
  const entries = Object.entries(value);
  if (entries.length > ASSET_LIMITS.customFields) throw invalid('custom_fields', `may hold at most ${ASSET_LIMITS.customFields} fields, and this one holds ${entries.length}`);
  for (const [key, field] of entries) {
    const pointer = `custom_fields/${key.slice(0, 100)}`;
    if (key === '' || key.length > ASSET_LIMITS.customFieldKey) throw invalid(pointer, `field names have 1 to ${ASSET_LIMITS.customFieldKey} characters`);
    const ok = field === null || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field)) || typeof field === 'string';
    if (!ok) throw invalid(pointer, `must be a string, a number, true, false or null, got ${describe(field)}`);
    if (typeof field === 'string' && field.length > ASSET_LIMITS.customFieldValue) {
      throw invalid(pointer, `may have at most ${ASSET_LIMITS.customFieldValue} characters, and this one has ${field.length}`);
    }
  }
  return Object.fromEntries(entries);
}

function invalid(pointer: string, problem: string): PictorError {
  return new PictorError('BAD_REQUEST', `"${pointer.replace(/\//g, '.')}" ${problem}.`, { pointer: `/data/attributes/${pointer}` });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 50 ? `${text.slice(0, 50)}…` : text;
}

function badQuery(message: string): PictorError {
  return new PictorError('BAD_REQUEST', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
