import type { Outbox } from './webhook-store.ts';

/** A takedown: an asset answered 451 from its creation until it is lifted. */
export interface TakedownRecord {
  id: string;
  /** The URL as it was asked for. */
  url: string;
  sourceId: string;
  /** Canonical path, as purges and renders name the asset. */
  path: string;
  /**
   * What the URL resolved to at the origin when it was taken down (sources/origin.ts `OriginObject`): the
   * same object reached through another Source, path or symlink is blocked too. Null when the origin could
   * not name it.
   */
  originObject: string | null;
  /** SHA-256 (hex) of the bytes the origin had then: copies are blocked too. Null when it had none to read. */
  sha256: string | null;
  /** Why the object or the bytes could not be recorded (the origin had no such file, or failed); null when both were. */
  originNote: string | null;
  reason: string;
  createdBy: string;
  createdAt: number;
  /** The purge that emptied the caches; null until it is recorded. */
  purgeId: string | null;
  liftedAt: number | null;
  liftedBy: string | null;
}

export interface TakedownAuditEntry {
  takedownId: string;
  action: 'created' | 'lifted';
  actor: string;
  reason: string | null;
  at: number;
}

export type NewTakedown = Omit<TakedownRecord, 'purgeId' | 'liftedAt' | 'liftedBy'>;

/** An asset under a takedown, and the content it was when taken down. */
export type TakenDownAsset = Pick<TakedownRecord, 'sourceId' | 'path' | 'originObject' | 'sha256'>;

/**
 * Takedowns and their audit trail, in SQLite (one node) or PostgreSQL (a cluster:
 * postgres/takedown-store.ts). At most one takedown of an asset is active at a time; every creation and
 * lift appends an audit entry in the same transaction, and the trail is never changed or deleted.
 */
export interface TakedownStore {
  /**
   * Records a takedown and its `created` audit entry. When the asset already has an active takedown nothing
   * is written, and that one is returned with `created: false`. A creation writes the events of `outbox` in
   * its transaction (webhook-store.ts).
   */
  create(takedown: NewTakedown, outbox?: Outbox<TakedownRecord>): Promise<{ record: TakedownRecord; created: boolean }>;
  /** Notes the purge that emptied the caches for it. */
  setPurge(id: string, purgeId: string): Promise<void>;
  /**
   * Lifts an active takedown and appends the `lifted` audit entry. Undefined when there is no such takedown;
   * `lifted: false` (nothing written) when it was lifted already. A lift writes the events of `outbox` in its
   * transaction.
   */
  lift(
    id: string,
    lift: { actor: string; reason: string | null; at: number },
    outbox?: Outbox<TakedownRecord>,
  ): Promise<{ record: TakedownRecord; lifted: boolean } | undefined>;
  get(id: string): Promise<TakedownRecord | undefined>;
  /** Its audit trail, oldest first. */
  audit(id: string): Promise<TakedownAuditEntry[]>;
  /** A page of takedowns, newest first (only the active ones if asked), and how many there are in all. */
  list(query: { activeOnly?: boolean; offset: number; limit: number }): Promise<{ records: TakedownRecord[]; total: number }>;
  /** Every asset under an active takedown (the 451 gate loads them). */
  active(): Promise<TakenDownAsset[]>;
  /**
   * Calls `onChange` when takedowns may have been created or lifted by another writer (another node, another
   * process on the data directory). Resolves once watching, with the function that stops it.
   */
  watch(onChange: () => void): Promise<() => Promise<void>>;
}

/** A row of `takedowns`, as both databases hold it. */
export interface TakedownRow {
  id: string;
  url: string;
  source_id: string;
  path: string;
  origin_object: string | null;
  sha256: string | null;
  origin_note: string | null;
  reason: string;
  created_by: string;
  created_at: number;
  purge_id: string | null;
  lifted_at: number | null;
  lifted_by: string | null;
}

export interface AuditRow {
  takedown_id: string;
  action: 'created' | 'lifted';
  actor: string;
  reason: string | null;
  at: number;
}


/** A row of either database as a record (pg returns BIGINTs as strings). */
export function takedownFromRow(row: TakedownRow): TakedownRecord {
  return {
    id: row.id,
    url: row.url,
    sourceId: row.source_id,
    path: row.path,
    originObject: row.origin_object,
    sha256: row.sha256,
    originNote: row.origin_note,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    purgeId: row.purge_id,
    liftedAt: row.lifted_at === null ? null : Number(row.lifted_at),
    liftedBy: row.lifted_by,
  };
}

export function activeTakedownFromRow(row: Pick<TakedownRow, 'source_id' | 'path' | 'origin_object' | 'sha256'>): TakenDownAsset {
  return { sourceId: row.source_id, path: row.path, originObject: row.origin_object, sha256: row.sha256 };
}

export function auditEntryFromRow(row: AuditRow): TakedownAuditEntry {
  return { takedownId: row.takedown_id, action: row.action, actor: row.actor, reason: row.reason, at: Number(row.at) };
}
