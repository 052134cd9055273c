import type { Outbox } from './webhook-store.ts';

/** What kind of media an asset is: what the Assets API reports and filters by. */
export const MEDIA_KINDS = ['IMAGE', 'VIDEO', 'OTHER'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** The Video API's state of a video asset; null for anything it has not seen. */
export const VIDEO_STATUSES = ['processing', 'processed', 'error'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

/** What the origin's bytes say about an asset: learnt when it is served, added, uploaded or refreshed. */
export interface AssetFacts {
  mediaKind: MediaKind;
  mediaWidth: number | null;
  mediaHeight: number | null;
  fileSize: number;
  contentType: string;
  /** SHA-256 of the bytes: tells a replaced file from one served again. */
  contentHash: string;
}

/** What people say about an asset (the Assets API's PATCH); a field left out is kept. */
export interface AssetEdit {
  name?: string | null;
  description?: string | null;
  tags?: string[];
  categories?: string[];
  customFields?: Record<string, unknown>;
}

export interface AssetRecord extends AssetFacts {
  sourceId: string;
  /** The canonical path, as renders and purges name the asset (`/dir/a%20b.jpg`). */
  originPath: string;
  name: string | null;
  description: string | null;
  tags: string[];
  categories: string[];
  customFields: Record<string, unknown>;
  videoStatus: VideoStatus | null;
  /** Milliseconds since the epoch. */
  dateCreated: number;
  dateModified: number;
}

export const ASSET_SORT_FIELDS = ['date_created', 'date_modified', 'file_size', 'origin_path'] as const;
export type AssetSortField = (typeof ASSET_SORT_FIELDS)[number];

/** One page of a Source's assets, in the store's terms (asset-query.ts makes the SQL of both stores from it). */
export interface AssetListing {
  sourceId: string;
  /** `exact`: that asset; `prefix` (ends with `/`): every asset under that folder. */
  originPath?: { exact: string } | { prefix: string } | undefined;
  mediaKind?: MediaKind | undefined;
  sort: { field: AssetSortField; descending: boolean };
  /** Keyset paging: the rows after this one, in the order of `sort` then `origin_path`. */
  after?: { value: number | string; originPath: string } | undefined;
  limit: number;
}

/** An asset's key. */
export interface AssetKey {
  sourceId: string;
  originPath: string;
}

/**
 * The Asset Manager's index: one row per asset of a Source, keyed by (source_id, origin_path). In SQLite
 * (one node) or PostgreSQL (a cluster: postgres/asset-store.ts), behind one async contract.
 */
export interface AssetStore {
  get(sourceId: string, originPath: string): Promise<AssetRecord | undefined>;
  /**
   * Records what the origin holds: a new asset is created (both dates `at`); a known one gets the new facts,
   * and `date_modified = at` when they differ. What people wrote (name, tags, …) is kept. The events of
   * `outbox` are written in the same transaction (webhook-store.ts).
   */
  index(sourceId: string, originPath: string, facts: AssetFacts, at: number, outbox?: Outbox<AssetRecord>): Promise<AssetRecord>;
  /** Changes what people say about an asset (`date_modified = at`); undefined when there is no such asset. */
  edit(sourceId: string, originPath: string, edit: AssetEdit, at: number): Promise<AssetRecord | undefined>;
  /** For the Video API; false when there is no such asset. */
  setVideoStatus(sourceId: string, originPath: string, status: VideoStatus | null): Promise<boolean>;
  /** Forgets an asset (gone from its origin); false when there was none. `outbox`: written with it (webhook-store.ts). */
  remove(sourceId: string, originPath: string, outbox?: Outbox<AssetKey>): Promise<boolean>;
  /** At most `limit` assets, in order. */
  list(listing: AssetListing): Promise<AssetRecord[]>;
  /**
   * At most `limit` assets carrying `tag` (matched exactly), of one Source or of every Source, ordered by
   * Source and path. Read from the tag index (`asset_tags`, written with the tags): its cost grows with the
   * assets found, not with the assets indexed.
   */
  tagged(tag: string, sourceId: string | undefined, limit: number): Promise<AssetKey[]>;
}

/** A row as both databases hold it (JSON columns as text in SQLite, parsed by pg from JSONB). */
export interface AssetRow {
  source_id: string;
  origin_path: string;
  name: string | null;
  description: string | null;
  media_kind: MediaKind;
  media_width: number | null;
  media_height: number | null;
  /** BIGINT columns arrive from pg as strings. */
  file_size: number | string;
  content_type: string;
  content_hash: string;
  tags: string | string[];
  categories: string | string[];
  custom_fields: string | Record<string, unknown>;
  video_status: VideoStatus | null;
  date_created: number | string;
  date_modified: number | string;
}

export function toAssetRecord(row: AssetRow): AssetRecord {
  const json = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
  return {
    sourceId: row.source_id,
    originPath: row.origin_path,
    name: row.name,
    description: row.description,
    mediaKind: row.media_kind,
    mediaWidth: row.media_width,
    mediaHeight: row.media_height,
    fileSize: Number(row.file_size),
    contentType: row.content_type,
    contentHash: row.content_hash,
    tags: json<string[]>(row.tags),
    categories: json<string[]>(row.categories),
    customFields: json<Record<string, unknown>>(row.custom_fields),
    videoStatus: row.video_status,
    dateCreated: Number(row.date_created),
    dateModified: Number(row.date_modified),
  };
}

/**
 * The WHERE and ORDER BY of a listing, for either database: `param` names the next placeholder (`?` or `$n`).
 * Paging is by keyset, `(sort key, origin_path)`, so a page costs the same however deep it is, and rows
 * added or removed meanwhile neither repeat nor vanish from the pages after them.
 */
export function assetListSql(listing: AssetListing, param: (value: unknown) => string): { where: string; order: string } {
  const conditions = [`source_id = ${param(listing.sourceId)}`];
  const path = listing.originPath;
  if (path && 'exact' in path) conditions.push(`origin_path = ${param(path.exact)}`);
  if (path && 'prefix' in path) {
    // Every path under `/a/b/` sorts between `/a/b/` and `/a/b0` (`0` follows `/`), byte by byte.
    conditions.push(`origin_path >= ${param(path.prefix)}`, `origin_path < ${param(`${path.prefix.slice(0, -1)}0`)}`);
  }
  if (listing.mediaKind) conditions.push(`media_kind = ${param(listing.mediaKind)}`);
  const { field, descending } = listing.sort;
  if (listing.after) {
    const after = descending ? '<' : '>';
    if (field === 'origin_path') conditions.push(`origin_path ${after} ${param(listing.after.originPath)}`);
    else conditions.push(`(${field}, origin_path) ${after} (${param(listing.after.value)}, ${param(listing.after.originPath)})`);
  }
  const direction = descending ? 'DESC' : 'ASC';
  const order = field === 'origin_path' ? `origin_path ${direction}` : `${field} ${direction}, origin_path ${direction}`;
  return { where: conditions.join(' AND '), order };
}

