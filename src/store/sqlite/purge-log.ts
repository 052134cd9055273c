import type { LogSnapshot, LoggedPurge, PurgeClaim, PurgeListQuery, PurgeLog, PurgeRecord, PurgeReport } from '../purge-log.ts';
import { getMeta, setMeta, type Db } from './db.ts';
import type { GroupCommit } from './group-commit.ts';
import type { Outbox, OutboxSignal } from '../webhook-store.ts';
import { anySubscribed, writeOutbox } from './webhook-store.ts';

const MARK_FLOOR = 'mark_floor';

/**
 * The newest sequence number handed out: the newest mark, or the floor once retention has deleted the marks
 * up to it. Every purge marks at least one scope in the transaction that numbers it, so nothing newer exists.
 */
const HEAD = `SELECT max(coalesce((SELECT max(seq) FROM purge_marks), 0),
                        coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = '${MARK_FLOOR}'), 0)) AS seq`;

/** A purge's columns but its scopes: a tag purge's list of them is long, and a listing has no use for it. */
const LISTED = `id, url, source_id, path, match, sub_image, parent_source_id, status, origin, origin_error, matched, tag, assets, generation, error,
  requested_by, created_at, completed_at, report`;

interface PurgeRow {
  id: string;
  url: string;
  source_id: string;
  path: string;
  match: string;
  sub_image: number;
  parent_source_id: string | null;
  scopes: string;
  status: string;
  origin: string | null;
  origin_error: string | null;
  matched: number | null;
  tag: string | null;
  assets: number | null;
  generation: number | null;
  error: string | null;
  requested_by: string | null;
  created_at: number;
  completed_at: number | null;
  report: string | null;
}

/**
 * One node's purge log, in the `purges` table of its data directory: its server is the only writer (the CLI
 * purges through the API), so claims live in this process's memory. Appends share the group commit of the
 * data directory (one fsync for a burst); completions ride along with the next commit, unless a webhook waits.
 */
export class SqlitePurgeLog implements PurgeLog {
  /** Pending purges this process drives, and until when (ms). */
  private readonly claims = new Map<string, number>();
  private readonly statements;

  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
    private readonly outbox: OutboxSignal,
  ) {
    this.statements = {
      head: db.prepare<[], { seq: number }>(HEAD),
      insert: db.prepare(
        `INSERT INTO purges (id, url, source_id, path, match, sub_image, parent_source_id, scopes, status, matched, tag, assets, generation, requested_by, created_at)
         VALUES (@id, @url, @sourceId, @path, @match, @subImage, @parentSourceId, @scopes, 'pending', @matched, @tag, @assets, @seq, @requestedBy, @createdAt)`,
      ),
      mark: db.prepare('INSERT INTO purge_marks (scope, seq) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET seq = max(seq, excluded.seq)'),
      complete: db.prepare(
        `UPDATE purges SET status = @status, origin = @origin, origin_error = @originError, matched = coalesce(@matched, matched), error = @error,
           completed_at = @completedAt, report = @report WHERE id = @id AND status = 'pending'`,
      ),
    };
  }

  /** The sequence number is taken inside the transaction that writes the purge and its marks. */
  async append(record: PurgeRecord, scopes: readonly string[], claim: PurgeClaim): Promise<number> {
    let seq = 0;
    this.claims.set(record.id, Date.now() + claim.claimMs);
    try {
      await this.commits.commit(() => {
        seq = this.statements.head.get()!.seq + 1;
        this.statements.insert.run(insertParams(record, scopes, seq));
        for (const scope of scopes) this.statements.mark.run(scope, seq);
      });
    } catch (error) {
      this.claims.delete(record.id);
      throw error;
    }
    return seq;
  }

  /** The newest sequence number handed out. */
  async head(): Promise<number> {
    return this.statements.head.get()!.seq;
  }

  async snapshot(): Promise<LogSnapshot> {
    return this.db.transaction(() => {
      const floor = this.floor();
      const marks = this.db.prepare('SELECT scope, seq FROM purge_marks WHERE seq > ?').all(floor) as { scope: string; seq: number }[];
      return { seq: this.statements.head.get()!.seq, marks: marks.map((row) => [row.scope, row.seq] as [string, number]), floor };
    })();
  }

  async get(id: string): Promise<LoggedPurge | undefined> {
    const row = this.db.prepare('SELECT * FROM purges WHERE id = ?').get(id) as PurgeRow | undefined;
    return row && toLogged(row);
  }

  /** `urlContains` is answered from the trigram index, plus a scan of the few purges not indexed yet. */
  async list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    const conditions: string[] = [];
    const params: Record<string, string | number> = { limit: query.limit, offset: query.offset };
    if (query.status !== undefined) {
      conditions.push('status = @status');
      params.status = query.status;
    }
    const text = query.urlContains ?? '';
    if (text !== '') params.pattern = `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    const like = "url LIKE @pattern ESCAPE '\\'";
    if (text.length >= 3) {
      // A phrase of trigrams is a substring match (case-insensitive), answered from the trigram index; the few
      // purges not indexed yet (newer than the last background pass) are matched by LIKE.
      conditions.push(`(rowid IN (SELECT rowid FROM purges_url WHERE purges_url MATCH @phrase) OR (in_search = 0 AND ${like}))`);
      params.phrase = `"${text.replace(/"/g, '""')}"`;
    } else if (text !== '') {
      conditions.push(like); // too short for trigrams: a scan, of a table that retention keeps bounded
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { limit: _limit, offset: _offset, ...filters } = params;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM purges ${where}`).get(filters) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT ${LISTED} FROM purges ${where} ORDER BY created_at DESC, rowid DESC LIMIT @limit OFFSET @offset`)
      .all(params) as PurgeRow[];
    return { records: rows.map(toRecord), total };
  }

  async claimStale(claim: PurgeClaim, limit: number): Promise<LoggedPurge[]> {
    const now = Date.now();
    const rows = this.db.prepare("SELECT * FROM purges WHERE status = 'pending' ORDER BY generation").all() as PurgeRow[];
    const stale = rows.filter((row) => (this.claims.get(row.id) ?? 0) < now).slice(0, limit);
    for (const row of stale) this.claims.set(row.id, now + claim.claimMs);
    return stale.map(toLogged);
  }

  /**
   * A completion rides along with the next commit (commitSoon), unless a webhook waits for it: then it is
   * committed in this turn of the event loop, so the message goes out without waiting for other writes. The
   * worker is told only once the commit returned (durable, synchronous = FULL): a message is never sent
   * about a completion that a crash could still undo.
   */
  async complete(record: PurgeRecord, outbox?: Outbox<PurgeRecord>): Promise<void> {
    const events = outbox ? outbox(record) : [];
    const commit = anySubscribed(this.db, events) ? this.commits.commit.bind(this.commits) : this.commits.commitSoon.bind(this.commits);
    let written = 0;
    await commit(() => {
      const completed = this.statements.complete.run({
        id: record.id,
        status: record.status,
        origin: record.origin ?? null,
        originError: record.originError ?? null,
        matched: record.matched ?? null,
        error: record.error ?? null,
        completedAt: record.completedAt ?? Date.now(),
        report: record.report === undefined ? null : JSON.stringify(record.report),
      });
      if (completed.changes === 1) written = writeOutbox(this.db, events);
    });
    this.claims.delete(record.id);
    if (written > 0) this.outbox.written();
  }

  async raiseFloor(cutoff: number): Promise<number> {
    const newest = this.db.prepare("SELECT MAX(generation) AS seq FROM purges WHERE status = 'completed' AND completed_at < ?").get(cutoff) as { seq: number | null };
    const floor = Math.max(newest.seq ?? 0, this.floor());
    if (floor > 0) setMeta(this.db, MARK_FLOOR, String(floor));
    return floor;
  }

  async deleteMarksUpTo(floor: number, limit: number): Promise<number> {
    return this.db.prepare('DELETE FROM purge_marks WHERE rowid IN (SELECT rowid FROM purge_marks WHERE seq <= ? LIMIT ?)').run(floor, limit).changes;
  }

  async deleteEndedBefore(cutoff: number, limit: number): Promise<number> {
    return this.db
      .prepare("DELETE FROM purges WHERE rowid IN (SELECT rowid FROM purges WHERE created_at < ? AND status != 'pending' LIMIT ?)")
      .run(cutoff, limit).changes;
  }

  /** The trigram index costs more than the purge's own row: it is filled here, never in the append. */
  async indexForSearch(limit: number): Promise<number> {
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT rowid, url FROM purges WHERE in_search = 0 LIMIT ?').all(limit) as { rowid: number; url: string }[];
      const insert = this.db.prepare('INSERT INTO purges_url (rowid, url) VALUES (?, ?)');
      const mark = this.db.prepare('UPDATE purges SET in_search = 1 WHERE rowid = ?');
      for (const row of rows) {
        insert.run(row.rowid, row.url);
        mark.run(row.rowid);
      }
      return rows.length;
    })();
  }

  private floor(): number {
    return Number(getMeta(this.db, MARK_FLOOR) ?? 0);
  }
}

function insertParams(record: PurgeRecord, scopes: readonly string[], seq: number): Record<string, string | number | null> {
  return {
    id: record.id,
    url: record.url,
    sourceId: record.sourceId,
    path: record.path,
    match: record.match,
    subImage: record.subImage ? 1 : 0,
    parentSourceId: record.parentSourceId ?? null,
    scopes: JSON.stringify(scopes),
    matched: record.matched ?? null,
    tag: record.tag ?? null,
    assets: record.assets ?? null,
    seq,
    requestedBy: record.requestedBy ?? null,
    createdAt: record.createdAt,
  };
}

function toRecord(row: PurgeRow): PurgeRecord {
  return {
    id: row.id,
    url: row.url,
    sourceId: row.source_id,
    path: row.path,
    match: row.match as PurgeRecord['match'],
    subImage: row.sub_image === 1,
    parentSourceId: row.parent_source_id ?? undefined,
    status: row.status as PurgeRecord['status'],
    origin: (row.origin ?? undefined) as PurgeRecord['origin'],
    originError: row.origin_error ?? undefined,
    matched: row.matched ?? undefined,
    tag: row.tag ?? undefined,
    assets: row.assets ?? undefined,
    generation: row.generation ?? undefined,
    error: row.error ?? undefined,
    requestedBy: row.requested_by ?? undefined,
    createdAt: row.created_at,
    completedAt: row.completed_at ?? undefined,
    report: row.report === null ? undefined : (JSON.parse(row.report) as PurgeReport),
  };
}

function toLogged(row: PurgeRow): LoggedPurge {
  return { ...toRecord(row), seq: row.generation ?? 0, scopes: JSON.parse(row.scopes) as string[] };
}
