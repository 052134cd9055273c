import type { NewTakedown, TakedownAuditEntry, TakedownRecord, TakedownStore, TakenDownAsset } from '../takedown-store.ts';
import { activeTakedownFromRow, auditEntryFromRow, takedownFromRow, type AuditRow, type TakedownRow } from '../takedown-store.ts';
import { withTransaction, type PgClient, type PgPool } from './database.ts';
import { listen } from './listener.ts';
import { OutboxSignal, type Outbox } from '../webhook-store.ts';
import { writeOutbox } from './webhook-store.ts';

/** The channel of takedown changes; the payload is the takedown's id. */
export const TAKEDOWNS_CHANNEL = 'pictor_takedowns';

const COLUMNS = 'id, url, source_id, path, origin_object, sha256, origin_note, reason, created_by, created_at, purge_id, lifted_at, lifted_by';

/**
 * Takedowns in PostgreSQL, shared by every node. Each creation and lift sends NOTIFY `pictor_takedowns` in
 * its transaction, so every node's 451 gate reloads once it is committed (takedown/takedown-gate.ts).
 */
export class PgTakedownStore implements TakedownStore {
  constructor(
    private readonly pool: PgPool,
    /** The database's URL, for the LISTEN connection of `watch`. */
    private readonly url: string,
    private readonly outbox = new OutboxSignal(),
  ) {}

  async create(takedown: NewTakedown, outbox?: Outbox<TakedownRecord>): Promise<{ record: TakedownRecord; created: boolean }> {
    let written = 0;
    const result = await withTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO takedowns (id, url, source_id, path, origin_object, sha256, origin_note, reason, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
        [
          takedown.id,
          takedown.url,
          takedown.sourceId,
          takedown.path,
          takedown.originObject,
          takedown.sha256,
          takedown.originNote,
          takedown.reason,
          takedown.createdBy,
          takedown.createdAt,
        ],
      );
      if (inserted.rowCount !== 1) {
        const { rows } = await client.query<TakedownRow>(`SELECT ${COLUMNS} FROM takedowns WHERE source_id = $1 AND path = $2 AND lifted_at IS NULL`, [
          takedown.sourceId,
          takedown.path,
        ]);
        // The conflicting takedown was lifted between the two statements: nothing holds the asset now.
        if (rows[0] === undefined) throw Object.assign(new Error('a conflicting takedown changed meanwhile'), { code: '40001' });
        return { record: takedownFromRow(rows[0]), created: false };
      }
      await appendAudit(client, { takedown_id: takedown.id, action: 'created', actor: takedown.createdBy, reason: takedown.reason, at: takedown.createdAt });
      const record = { ...takedown, purgeId: null, liftedAt: null, liftedBy: null };
      if (outbox) written = await writeOutbox(client, outbox(record));
      return { record, created: true };
    });
    if (written > 0) this.outbox.written();
    return result;
  }

  async setPurge(id: string, purgeId: string): Promise<void> {
    await this.pool.query('UPDATE takedowns SET purge_id = $1 WHERE id = $2', [purgeId, id]);
  }

  async lift(
    id: string,
    lift: { actor: string; reason: string | null; at: number },
    outbox?: Outbox<TakedownRecord>,
  ): Promise<{ record: TakedownRecord; lifted: boolean } | undefined> {
    let written = 0;
    const result = await withTransaction(this.pool, async (client) => {
      const updated = await client.query('UPDATE takedowns SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL', [lift.at, lift.actor, id]);
      const lifted = updated.rowCount === 1;
      if (lifted) await appendAudit(client, { takedown_id: id, action: 'lifted', actor: lift.actor, reason: lift.reason, at: lift.at });
      const { rows } = await client.query<TakedownRow>(`SELECT ${COLUMNS} FROM takedowns WHERE id = $1`, [id]);
      const record = rows[0] && takedownFromRow(rows[0]);
      if (record && lifted && outbox) written = await writeOutbox(client, outbox(record));
      return record && { record, lifted };
    });
    if (written > 0) this.outbox.written();
    return result;
  }

  async get(id: string): Promise<TakedownRecord | undefined> {
    const { rows } = await this.pool.query<TakedownRow>(`SELECT ${COLUMNS} FROM takedowns WHERE id = $1`, [id]);
    return rows[0] && takedownFromRow(rows[0]);
  }

  async audit(id: string): Promise<TakedownAuditEntry[]> {
    const { rows } = await this.pool.query<AuditRow>('SELECT takedown_id, action, actor, reason, at FROM takedown_audit WHERE takedown_id = $1 ORDER BY seq', [id]);
    return rows.map(auditEntryFromRow);
  }

  async list(query: { activeOnly?: boolean; offset: number; limit: number }): Promise<{ records: TakedownRecord[]; total: number }> {
    const where = query.activeOnly ? 'WHERE lifted_at IS NULL' : '';
    const { rows } = await this.pool.query<TakedownRow>(`SELECT ${COLUMNS} FROM takedowns ${where} ORDER BY created_at DESC, seq DESC LIMIT $1 OFFSET $2`, [
      query.limit,
      query.offset,
    ]);
    const counted = await this.pool.query<{ total: string }>(`SELECT count(*) AS total FROM takedowns ${where}`);
    return { records: rows.map(takedownFromRow), total: Number(counted.rows[0]!.total) };
  }

  async active(): Promise<TakenDownAsset[]> {
    const { rows } = await this.pool.query<TakedownRow>('SELECT source_id, path, origin_object, sha256 FROM takedowns WHERE lifted_at IS NULL');
    return rows.map(activeTakedownFromRow);
  }

  /** Notifications sent while the LISTEN connection was lost are gone: a reconnection counts as a change. */
  async watch(onChange: () => void): Promise<() => Promise<void>> {
    const listening = await listen(this.url, [TAKEDOWNS_CHANNEL], () => onChange(), { onReconnected: onChange });
    return () => listening.close();
  }
}

/** The audit entry and the notification, inside the caller's transaction (sent when it commits). */
async function appendAudit(client: PgClient, entry: AuditRow): Promise<void> {
  await client.query('INSERT INTO takedown_audit (takedown_id, action, actor, reason, at) VALUES ($1, $2, $3, $4, $5)', [
    entry.takedown_id,
    entry.action,
    entry.actor,
    entry.reason,
    entry.at,
  ]);
  await client.query('SELECT pg_notify($1, $2)', [TAKEDOWNS_CHANNEL, entry.takedown_id]);
}
