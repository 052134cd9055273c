import {
  activeTakedownFromRow,
  auditEntryFromRow,
  takedownFromRow,
  type AuditRow,
  type NewTakedown,
  type TakedownAuditEntry,
  type TakedownRecord,
  type TakedownRow,
  type TakedownStore,
  type TakenDownAsset,
} from '../takedown-store.ts';
import type { Db } from './db.ts';
import { OutboxSignal, type Outbox } from '../webhook-store.ts';
import { writeOutbox } from './webhook-store.ts';

/** How often SQLite's watch looks for takedowns written by another process. */
const WATCH_INTERVAL_MS = 100;

export class SqliteTakedownStore implements TakedownStore {
  constructor(
    private readonly db: Db,
    private readonly outbox = new OutboxSignal(),
  ) {}

  async create(takedown: NewTakedown, outbox?: Outbox<TakedownRecord>): Promise<{ record: TakedownRecord; created: boolean }> {
    let written = 0;
    const result = this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO takedowns (id, url, source_id, path, origin_object, sha256, origin_note, reason, created_by, created_at)
           VALUES (@id, @url, @sourceId, @path, @originObject, @sha256, @originNote, @reason, @createdBy, @createdAt) ON CONFLICT DO NOTHING`,
        )
        .run(takedown);
      if (inserted.changes === 0) {
        const row = this.db.prepare('SELECT * FROM takedowns WHERE source_id = ? AND path = ? AND lifted_at IS NULL').get(takedown.sourceId, takedown.path) as TakedownRow;
        return { record: takedownFromRow(row), created: false };
      }
      this.appendAudit({ takedown_id: takedown.id, action: 'created', actor: takedown.createdBy, reason: takedown.reason, at: takedown.createdAt });
      const record = { ...takedown, purgeId: null, liftedAt: null, liftedBy: null };
      if (outbox) written = writeOutbox(this.db, outbox(record));
      return { record, created: true };
    }).immediate();
    if (written > 0) this.outbox.written();
    return result;
  }

  async setPurge(id: string, purgeId: string): Promise<void> {
    this.db.prepare('UPDATE takedowns SET purge_id = ? WHERE id = ?').run(purgeId, id);
  }

  async lift(
    id: string,
    lift: { actor: string; reason: string | null; at: number },
    outbox?: Outbox<TakedownRecord>,
  ): Promise<{ record: TakedownRecord; lifted: boolean } | undefined> {
    let written = 0;
    const result = this.db.transaction(() => {
      const updated = this.db.prepare('UPDATE takedowns SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL').run(lift.at, lift.actor, id);
      if (updated.changes === 1) this.appendAudit({ takedown_id: id, action: 'lifted', actor: lift.actor, reason: lift.reason, at: lift.at });
      const row = this.db.prepare('SELECT * FROM takedowns WHERE id = ?').get(id) as TakedownRow | undefined;
      const record = row && takedownFromRow(row);
      if (record && updated.changes === 1 && outbox) written = writeOutbox(this.db, outbox(record));
      return record && { record, lifted: updated.changes === 1 };
    }).immediate();
    if (written > 0) this.outbox.written();
    return result;
  }

  async get(id: string): Promise<TakedownRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM takedowns WHERE id = ?').get(id) as TakedownRow | undefined;
    return row && takedownFromRow(row);
  }

  async audit(id: string): Promise<TakedownAuditEntry[]> {
    return (this.db.prepare('SELECT * FROM takedown_audit WHERE takedown_id = ? ORDER BY rowid').all(id) as AuditRow[]).map(auditEntryFromRow);
  }

  async list(query: { activeOnly?: boolean; offset: number; limit: number }): Promise<{ records: TakedownRecord[]; total: number }> {
    const where = query.activeOnly ? 'WHERE lifted_at IS NULL' : '';
    const rows = this.db.prepare(`SELECT * FROM takedowns ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(query.limit, query.offset) as TakedownRow[];
    const { total } = this.db.prepare(`SELECT count(*) AS total FROM takedowns ${where}`).get() as { total: number };
    return { records: rows.map(takedownFromRow), total };
  }

  async active(): Promise<TakenDownAsset[]> {
    const rows = this.db.prepare('SELECT source_id, path, origin_object, sha256 FROM takedowns WHERE lifted_at IS NULL').all() as TakedownRow[];
    return rows.map(activeTakedownFromRow);
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
