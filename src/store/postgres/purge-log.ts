import {
  PENDING_COUNT_CAP,
  type LogDepth,
  type LogEntry,
  type LogListener,
  type LogSnapshot,
  type LoggedPurge,
  type PurgeClaim,
  type PurgeListQuery,
  type PurgeLog,
  type PurgeRecord,
  type PurgeReport,
  type SharedLog,
} from '../purge-log.ts';
import { clusterId, LOCKS, withTransaction, type PgPool } from './database.ts';
import { Batcher } from './batcher.ts';
import { listen } from './listener.ts';
import type { Outbox, OutboxSignal } from '../webhook-store.ts';
import { outboxParams, outboxStep, type SubjectEvent } from './webhook-store.ts';
import { UrlSearch } from './url-search.ts';

/** NOTIFY channels: a purge was appended (payload: its sequence number); a node applied purges. */
export const PURGE_CHANNEL = 'pictor_purge';
export const ACK_CHANNEL = 'pictor_ack';

/**
 * The newest sequence number the cluster has: the log's head, or — once retention has deleted the newest
 * rows' predecessors and perhaps all rows — the newest mark or the floor.
 */
export const LOG_HEAD = `GREATEST(
  (SELECT coalesce(max(seq), 0) FROM purge_log),
  (SELECT coalesce(max(seq), 0) FROM purge_marks),
  (SELECT coalesce(max(value::bigint), 0) FROM meta WHERE key = 'mark_floor'))`;

/** Purges appended in one transaction at most (a burst beyond it takes several). */
const MAX_BATCH = 500;

interface PendingAppend {
  record: PurgeRecord;
  scopes: readonly string[];
  claim: PurgeClaim;
}

/** A purge's columns but its scopes: a tag purge's list of them is long, and a listing has no use for it. */
const LISTED = `seq, id, url, source_id, path, match, sub_image, parent_source_id, status, origin, origin_error, matched, tag, assets, error, report,
  requested_by, created_at, completed_at`;

interface LogRow {
  seq: string;
  id: string;
  url: string;
  source_id: string;
  path: string;
  match: string;
  sub_image: boolean;
  parent_source_id: string | null;
  scopes: string[];
  status: string;
  origin: string | null;
  origin_error: string | null;
  matched: number | null;
  tag: string | null;
  assets: number | null;
  /** The sum of the other nodes' counts (OTHERS_MATCHED); absent where the row is read without it. */
  others_matched?: string | null;
  error: string | null;
  report: PurgeReport | null;
  requested_by: string | null;
  created_at: string;
  completed_at: string | null;
}

/**
 * The cluster's purge log in PostgreSQL: the one durable record of every purge, and the source of the purge
 * sequence. Appending takes an advisory lock for the transaction, so sequence numbers commit in order and
 * a node that has applied entry n has seen every entry before it. The marks (`purge_marks`: the newest
 * sequence number per scope) are written in the same transaction, and so is the NOTIFY: there is no moment
 * when a purge is acknowledged but not on its way to every node.
 */
export class PgPurgeLog implements PurgeLog {
  readonly shared: SharedLog;
  private readonly urlSearch: UrlSearch;

  /**
   * @param lazy the pool whose connections commit without waiting for the flush (stores.ts): completions,
   *   and the nodes' counts of what they held.
   */
  constructor(
    private readonly pool: PgPool,
    private readonly lazy: PgPool,
    url: string,
    private readonly outbox: OutboxSignal,
  ) {
    this.urlSearch = new UrlSearch(pool);
    this.shared = {
      id: () => clusterId(pool),
      listen: (listener) => listenToLog(url, listener),
      after: (seq, limit) => this.after(seq, limit),
      recordMatches: (nodeId, counts) => this.recordMatches(nodeId, counts),
    };
  }

  /**
   * Appends a purge; resolves with its sequence number once committed. Purges that arrive while an append
   * is committing share the next transaction (batcher.ts): one lock, one statement and one flush for the
   * whole batch, so the log's throughput is not one transaction's latency per purge.
   */
  append(record: PurgeRecord, scopes: readonly string[], claim: PurgeClaim): Promise<number> {
    return this.appends.add({ record, scopes, claim });
  }

  private readonly appends = new Batcher<PendingAppend, number>((batch) => this.appendBatch(batch), MAX_BATCH);

  /** The batch's sequence numbers, in its order. */
  private async appendBatch(batch: readonly PendingAppend[]): Promise<number[]> {
    const rows = batch.map(({ record, scopes, claim }) => ({
      id: record.id,
      url: record.url,
      source_id: record.sourceId,
      path: record.path,
      match: record.match,
      sub_image: record.subImage,
      parent_source_id: record.parentSourceId ?? null,
      scopes,
      requested_by: record.requestedBy ?? null,
      created_at: record.createdAt,
      coordinator: claim.coordinator,
      claim_seconds: claim.claimMs / 1000,
      matched: record.matched ?? null,
      tag: record.tag ?? null,
      assets: record.assets ?? null,
    }));
    const seqs = await withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.purgeLog]);
      // One statement: the rows, the marks (the newest sequence number per scope) and the notification.
      const { rows: inserted } = await client.query<{ id: string; seq: string }>(
        `WITH inserted AS (
           INSERT INTO purge_log (id, url, source_id, path, match, sub_image, parent_source_id, scopes, requested_by, created_at, coordinator, claimed_until, matched,
                                  tag, assets)
           SELECT r.id, r.url, r.source_id, r.path, r.match, r.sub_image, r.parent_source_id, r.scopes, r.requested_by, r.created_at, r.coordinator,
                  now() + make_interval(secs => r.claim_seconds), r.matched, r.tag, r.assets
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, url text, source_id text, path text, match text, sub_image boolean, parent_source_id text,
                scopes text[], requested_by text, created_at bigint, coordinator text, claim_seconds float8, matched integer, tag text, assets integer)
           RETURNING id, seq, scopes),
         marks AS (
           INSERT INTO purge_marks (scope, seq)
           SELECT scope, max(seq) FROM inserted, unnest(inserted.scopes) AS scope GROUP BY scope
           ON CONFLICT (scope) DO UPDATE SET seq = GREATEST(purge_marks.seq, excluded.seq))
         SELECT id, seq, pg_notify($2, (SELECT max(seq) FROM inserted)::text) FROM inserted`,
        [JSON.stringify(rows), PURGE_CHANNEL],
      );
      return new Map(inserted.map((row) => [row.id, Number(row.seq)]));
    });
    return batch.map((item) => seqs.get(item.record.id)!);
  }

  private async recordMatches(nodeId: string, counts: readonly { seq: number; matched: number }[]): Promise<void> {
    if (counts.length === 0) return;
    // Only purges still in the log: one that retention deleted meanwhile has no count left to add to.
    // Committed without waiting for the flush (the lazy pool): the node acknowledges the purges after this,
    // and every purge's completion waits for the slowest acknowledgement. A count a crash of PostgreSQL
    // loses leaves `matched` short, as one that cannot be written does; the purge itself is not affected.
    await this.lazy.query(
      `INSERT INTO purge_node_matches (seq, node_id, matched)
       SELECT c.seq, $1, c.matched FROM unnest($2::bigint[], $3::int[]) AS c (seq, matched) WHERE EXISTS (SELECT 1 FROM purge_log p WHERE p.seq = c.seq)
       ON CONFLICT (seq, node_id) DO NOTHING`,
      [nodeId, counts.map((count) => count.seq), counts.map((count) => count.matched)],
    );
  }

  /** Entries after `seq`, in order. */
  private async after(seq: number, limit: number): Promise<LogEntry[]> {
    const { rows } = await this.pool.query<Pick<LogRow, 'seq' | 'id' | 'scopes' | 'match' | 'source_id' | 'path'>>(
      'SELECT seq, id, scopes, match, source_id, path FROM purge_log WHERE seq > $1 ORDER BY seq LIMIT $2',
      [seq, limit],
    );
    return rows.map((row) => ({ seq: Number(row.seq), id: row.id, scopes: row.scopes, match: row.match as PurgeRecord['match'], sourceId: row.source_id, path: row.path }));
  }

  /**
   * What a starting node loads: every mark above the floor and the newest sequence number, read in one
   * snapshot, so following the log from `seq` misses nothing and applies nothing twice.
   */
  async depth(): Promise<LogDepth> {
    const { rows } = await this.pool.query<{ head: string; pending: string; oldest: string | null }>(
      `SELECT ${LOG_HEAD} AS head,
         (SELECT count(*) FROM (SELECT 1 FROM purge_log WHERE status = 'pending' LIMIT $1) AS p) AS pending,
         (SELECT created_at FROM purge_log WHERE status = 'pending' ORDER BY seq LIMIT 1) AS oldest`,
      [PENDING_COUNT_CAP],
    );
    const row = rows[0]!;
    return { head: Number(row.head), pending: Number(row.pending), oldestPendingAt: row.oldest === null ? undefined : Number(row.oldest) };
  }

  async snapshot(): Promise<LogSnapshot> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const head = await client.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM purge_log');
      const marksSeq = await client.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM purge_marks');
      const floorRow = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'mark_floor'");
      const floor = Number(floorRow.rows[0]?.value ?? 0);
      const marks = await client.query<{ scope: string; seq: string }>('SELECT scope, seq FROM purge_marks WHERE seq > $1', [floor]);
      await client.query('COMMIT');
      const seq = Math.max(Number(head.rows[0]?.seq ?? 0), Number(marksSeq.rows[0]?.seq ?? 0), floor);
      return { seq, marks: marks.rows.map((row) => [row.scope, Number(row.seq)]), floor };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async get(id: string): Promise<LoggedPurge | undefined> {
    if (!UUID.test(id)) return undefined;
    const { rows } = await this.pool.query<LogRow>(`SELECT ${WITH_MATCHES} FROM purge_log WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Claims pending purges whose coordinator has not finished them in time (it died, or lost the database):
   * each is claimed by one node only (SKIP LOCKED), which then drives it to completion.
   */
  async claimStale(claim: PurgeClaim, limit: number): Promise<LoggedPurge[]> {
    const { rows } = await this.pool.query<LogRow>(
      `UPDATE purge_log SET coordinator = $1, claimed_until = now() + make_interval(secs => $2)
       WHERE seq IN (SELECT seq FROM purge_log WHERE status = 'pending' AND claimed_until < now() ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [claim.coordinator, claim.claimMs / 1000, limit],
    );
    return rows.map(toRecord).sort((a, b) => a.seq - b.seq);
  }

  /**
   * Records the outcome; only the first completion of a purge counts (driving it twice is harmless).
   * Completions that arrive while one is being written share the next transaction (batcher.ts).
   */
  async complete(record: PurgeRecord, outbox?: Outbox<PurgeRecord>): Promise<void> {
    if ((await this.completions.add({ record, outbox })) > 0) this.outbox.written();
  }

  private readonly completions = new Batcher<{ record: PurgeRecord; outbox: Outbox<PurgeRecord> | undefined }, number>(
    (batch) => this.completeBatch(batch),
    MAX_BATCH,
  );

  /** One statement completes the batch's purges still pending, and writes the events of those it completed. */
  private async completeBatch(batch: readonly { record: PurgeRecord; outbox: Outbox<PurgeRecord> | undefined }[]): Promise<number[]> {
    // A purge completed twice in one batch: its first completion is the one written, with its events.
    const firstOf = new Map<string, number>();
    batch.forEach(({ record }, i) => firstOf.has(record.id) || firstOf.set(record.id, i));
    const firsts = [...firstOf.values()].map((i) => batch[i]!);
    const rows = firsts.map(({ record }) => ({
      id: record.id,
      status: record.status,
      origin: record.origin ?? null,
      origin_error: record.originError ?? null,
      matched: record.matched ?? null,
      error: record.error ?? null,
      report: record.report ?? null,
      completed_at: record.completedAt ?? Date.now(),
    }));
    const events: SubjectEvent[] = firsts.flatMap(({ record, outbox }) => (outbox ? outbox(record).map((event) => ({ subject: record.id, event })) : []));
    // Committed without waiting for the flush (the lazy pool): should a crash of PostgreSQL lose it, the
    // purge is pending again and is driven to completion again (every step is idempotent), its events with
    // it. Only the append must be durable.
    const { rows: [result] } = await this.lazy.query<{ completed: string[] | null; written: number }>(
      `WITH completed AS (
         UPDATE purge_log p SET status = r.status, origin = r.origin, origin_error = r.origin_error, matched = coalesce(r.matched, p.matched),
                error = r.error, report = r.report, completed_at = r.completed_at
         FROM jsonb_to_recordset($1::jsonb)
              AS r(id uuid, status text, origin text, origin_error text, matched integer, error text, report jsonb, completed_at bigint)
         WHERE p.id = r.id AND p.status = 'pending'
         RETURNING p.id::text AS id
       ),
       ${outboxStep(2, 'SELECT id FROM completed')}
       -- signalled is read so that its NOTIFY runs (a CTE that only reads runs only when it is read).
       SELECT (SELECT array_agg(id) FROM completed) AS completed, (SELECT count(*)::int FROM written) AS written, (SELECT count(*) FROM signalled) AS signalled`,
      [JSON.stringify(rows), ...outboxParams(events)],
    );
    const done = new Set(result?.completed ?? []);
    const written = result?.written ?? 0;
    return batch.map(({ record }, i) => (firstOf.get(record.id) === i && done.has(record.id) && written > 0 ? written : 0));
  }

  /** The floor, in `meta`, only ever rises. */
  async raiseFloor(cutoff: number): Promise<number> {
    const { rows } = await this.pool.query<{ value: string }>(
      `INSERT INTO meta (key, value)
         SELECT 'mark_floor', coalesce(max(seq), 0)::text FROM purge_log WHERE status = 'completed' AND completed_at < $1
       ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value::bigint, excluded.value::bigint)::text
       RETURNING value`,
      [cutoff],
    );
    return Number(rows[0]!.value);
  }

  async deleteMarksUpTo(floor: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM purge_marks WHERE scope IN (SELECT scope FROM purge_marks WHERE seq <= $1 LIMIT $2)', [floor, limit]);
    return rowCount ?? 0;
  }

  async deleteEndedBefore(cutoff: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM purge_log WHERE seq IN (SELECT seq FROM purge_log WHERE created_at < $1 AND status <> 'pending' LIMIT $2)",
      [cutoff, limit],
    );
    return rowCount ?? 0;
  }

  /** URL searches are served by the pg_trgm index of `url` (url-search.ts), which PostgreSQL keeps as rows are written: nothing to fill. */
  async indexForSearch(): Promise<number> {
    return 0;
  }

  async list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (query.status !== undefined) {
      params.push(query.status);
      conditions.push(`status = $${params.length}`);
    }
    const text = query.urlContains ?? '';
    if (text !== '') conditions.push(...(await this.urlSearch.conditions(text, params)));
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const total = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM purge_log ${where}`, params);
    const { rows } = await this.pool.query<LogRow>(
      `SELECT ${LISTED}, ${OTHERS_MATCHED} FROM purge_log ${where} ORDER BY created_at DESC, seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, query.limit, query.offset],
    );
    return { records: rows.map(toRecord), total: Number(total.rows[0]!.n) };
  }
}

/** A purge's row with what the other nodes matched (`recordMatches`): `matched` counts the whole cluster's caches. */
const OTHERS_MATCHED = '(SELECT sum(m.matched) FROM purge_node_matches m WHERE m.seq = purge_log.seq) AS others_matched';
const WITH_MATCHES = `*, ${OTHERS_MATCHED}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecord(row: LogRow): LoggedPurge {
  return {
    seq: Number(row.seq),
    scopes: row.scopes,
    id: row.id,
    url: row.url,
    sourceId: row.source_id,
    path: row.path,
    match: row.match as PurgeRecord['match'],
    subImage: row.sub_image,
    parentSourceId: row.parent_source_id ?? undefined,
    status: row.status as PurgeRecord['status'],
    origin: (row.origin ?? undefined) as PurgeRecord['origin'],
    originError: row.origin_error ?? undefined,
    matched: row.matched === null ? undefined : row.matched + Number(row.others_matched ?? 0),
    tag: row.tag ?? undefined,
    assets: row.assets ?? undefined,
    generation: Number(row.seq),
    error: row.error ?? undefined,
    requestedBy: row.requested_by ?? undefined,
    createdAt: Number(row.created_at),
    completedAt: row.completed_at === null ? undefined : Number(row.completed_at),
    report: row.report ?? undefined,
  };
}

/** One connection LISTENing for appends and acknowledgements by any node. */
function listenToLog(url: string, listener: LogListener): Promise<{ close(): Promise<void> }> {
  return listen(url, [PURGE_CHANNEL, ACK_CHANNEL], (channel) => (channel === PURGE_CHANNEL ? listener.appended() : listener.acknowledged()), {
    onReconnected: () => listener.reconnected(),
    onError: (error) => listener.error(error),
  });
}
