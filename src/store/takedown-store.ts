import type { Db } from './db.ts';

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
   * is written, and that one is returned with `created: false`.
   */
  create(takedown: NewTakedown): Promise<{ record: TakedownRecord; created: boolean }>;
  /** Notes the purge that emptied the caches for it. */
  setPurge(id: string, purgeId: string): Promise<void>;
  /**
   * Lifts an active takedown and appends the `lifted` audit entry. Undefined when there is no such takedown;
   * `lifted: false` (nothing written) when it was lifted already.
   */
  lift(id: string, lift: { actor: string; reason: string | null; at: number }): Promise<{ record: TakedownRecord; lifted: boolean } | undefined>;
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

interface TakedownRow {
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

interface AuditRow {
  takedown_id: string;
  action: 'created' | 'lifted';
  actor: string;
  reason: string | null;
  at: number;
}

/** How often SQLite's watch looks for takedowns written by another process. */
const WATCH_INTERVAL_MS = 100;

export class SqliteTakedownStore implements TakedownStore {
  constructor(private readonly db: Db) {}

  async create(takedown: NewTakedown): Promise<{ record: TakedownRecord; created: boolean }> {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO takedowns (id, url, source_id, path, origin_object, sha256, origin_note, reason, created_by, created_at)
           VALUES (@id, @url, @sourceId, @path, @originObject, @sha256, @originNote, @reason, @createdBy, @createdAt) ON CONFLICT DO NOTHING`,
        )
        .run(takedown);
      if (inserted.changes === 0) {
        const row = this.db.prepare('SELECT * FROM takedowns WHERE source_id = ? AND path = ? AND lifted_at IS NULL').get(takedown.sourceId, takedown.path) as TakedownRow;
        return { record: toRecord(row), created: false };
      }
      this.appendAudit({ takedown_id: takedown.id, action: 'created', actor: takedown.createdBy, reason: takedown.reason, at: takedown.createdAt });
      return { record: { ...takedown, purgeId: null, liftedAt: null, liftedBy: null }, created: true };
    }).immediate();
  }

  async setPurge(id: string, purgeId: string): Promise<void> {
    this.db.prepare('UPDATE takedowns SET purge_id = ? WHERE id = ?').run(purgeId, id);
  }

  async lift(id: string, lift: { actor: string; reason: string | null; at: number }): Promise<{ record: TakedownRecord; lifted: boolean } | undefined> {
    return this.db.transaction(() => {
      const updated = this.db.prepare('UPDATE takedowns SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL').run(lift.at, lift.actor, id);
      if (updated.changes === 1) this.appendAudit({ takedown_id: id, action: 'lifted', actor: lift.actor, reason: lift.reason, at: lift.at });
      const row = this.db.prepare('SELECT * FROM takedowns WHERE id = ?').get(id) as TakedownRow | undefined;
      return row && { record: toRecord(row), lifted: updated.changes === 1 };
    }).immediate();
  }

  async get(id: string): Promise<TakedownRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM takedowns WHERE id = ?').get(id) as TakedownRow | undefined;
    return row && toRecord(row);
  }

  async audit(id: string): Promise<TakedownAuditEntry[]> {
    return (this.db.prepare('SELECT * FROM takedown_audit WHERE takedown_id = ? ORDER BY rowid').all(id) as AuditRow[]).map(toAuditEntry);
  }

  async list(query: { activeOnly?: boolean; offset: number; limit: number }): Promise<{ records: TakedownRecord[]; total: number }> {
    const where = query.activeOnly ? 'WHERE lifted_at IS NULL' : '';
    const rows = this.db.prepare(`SELECT * FROM takedowns ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(query.limit, query.offset) as TakedownRow[];
    const { total } = this.db.prepare(`SELECT count(*) AS total FROM takedowns ${where}`).get() as { total: number };
    return { records: rows.map(toRecord), total };
  }

  async active(): Promise<TakenDownAsset[]> {
    const rows = this.db.prepare('SELECT source_id, path, origin_object, sha256 FROM takedowns WHERE lifted_at IS NULL').all() as TakedownRow[];
    return rows.map(activeFromRow);
  }

  /**
   * Every change appends an audit entry, so the trail's newest rowid tells whether anything changed: one
   * indexed lookup per interval. This connection's own writes count too (a harmless extra reload).
   */
  async watch(onChange: () => void): Promise<() => Promise<void>> {
    const newest = (): number => (this.db.prepare('SELECT max(rowid) AS newest FROM takedown_audit').get() as { newest: number | null }).newest ?? 0;
    let seen = newest();
    const timer = setInterval(() => {
      if (!this.db.open) return;
      const now = newest();
      if (now === seen) return;
      seen = now;
      onChange();
    }, WATCH_INTERVAL_MS);
    timer.unref();
    return async () => clearInterval(timer);
  }

  private appendAudit(entry: AuditRow): void {
    this.db.prepare('INSERT INTO takedown_audit (takedown_id, action, actor, reason, at) VALUES (@takedown_id, @action, @actor, @reason, @at)').run(entry);
  }
}

function toRecord(row: TakedownRow): TakedownRecord {
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

function activeFromRow(row: Pick<TakedownRow, 'source_id' | 'path' | 'origin_object' | 'sha256'>): TakenDownAsset {
  return { sourceId: row.source_id, path: row.path, originObject: row.origin_object, sha256: row.sha256 };
}

function toAuditEntry(row: AuditRow): TakedownAuditEntry {
  return { takedownId: row.takedown_id, action: row.action, actor: row.actor, reason: row.reason, at: Number(row.at) };
}

/** Shared with the PostgreSQL store, whose rows have the same columns (BIGINTs as strings). */
export { toRecord as takedownFromRow, activeFromRow as activeTakedownFromRow, toAuditEntry as auditEntryFromRow, type TakedownRow, type AuditRow };
