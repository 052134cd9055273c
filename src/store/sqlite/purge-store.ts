import { getMeta, setMeta, type Db } from './db.ts';
import type { PurgeRecord, PurgeReport } from '../../purge/model.ts';

const MARK_FLOOR = 'mark_floor';

export interface PurgeListQuery {
  status?: PurgeRecord['status'] | undefined;
  /** Text the URL must contain. */
  urlContains?: string | undefined;
  limit: number;
  offset: number;
}

interface PurgeRow {
  id: string;
  url: string;
  source_id: string;
  path: string;
  match: string;
  sub_image: number;
  parent_source_id: string | null;
  status: string;
  origin: string | null;
  matched: number | null;
  generation: number | null;
  error: string | null;
  requested_by: string | null;
  created_at: number;
  completed_at: number | null;
  report: string | null;
}

export class PurgeStore {
  private readonly insertStatement;
  private readonly finishStatement;
  private readonly markStatement;

  constructor(private readonly db: Db) {
    this.insertStatement = db.prepare(
      `INSERT INTO purges (id, url, source_id, path, match, sub_image, parent_source_id, status, requested_by, created_at)
       VALUES (@id, @url, @sourceId, @path, @match, @subImage, @parentSourceId, 'pending', @requestedBy, @createdAt)`,
    );
    this.finishStatement = db.prepare(
      `UPDATE purges SET status = @status, origin = @origin, matched = @matched, generation = @generation, error = @error,
         completed_at = @completedAt, report = @report WHERE id = @id`,
    );
    this.markStatement = db.prepare('INSERT INTO purge_marks (scope, seq) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq');
  }

  insert(record: PurgeRecord): void {
    this.insertStatement.run({
      id: record.id,
      url: record.url,
      sourceId: record.sourceId,
      path: record.path,
      match: record.match,
      subImage: record.subImage ? 1 : 0,
      parentSourceId: record.parentSourceId ?? null,
      requestedBy: record.requestedBy ?? null,
      createdAt: record.createdAt,
    });
  }

  /** Records the outcome of a purge (and the marks it applied) — call inside one transaction. */
  finish(record: PurgeRecord, marks: readonly string[]): void {
    this.finishStatement.run({
      id: record.id,
      status: record.status,
      origin: record.origin ?? null,
      matched: record.matched ?? null,
      generation: record.generation ?? null,
      error: record.error ?? null,
      completedAt: record.completedAt ?? null,
      report: record.report === undefined ? null : JSON.stringify(record.report),
    });
    for (const scope of marks) this.markStatement.run(scope, record.generation);
  }

  saveMarks(marks: readonly string[], seq: number): void {
    this.db.transaction(() => {
      for (const scope of marks) this.markStatement.run(scope, seq);
    })();
  }

  get(id: string): PurgeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM purges WHERE id = ?').get(id) as PurgeRow | undefined;
    return row && toRecord(row);
  }

  pending(): PurgeRecord[] {
    return (this.db.prepare("SELECT * FROM purges WHERE status = 'pending' ORDER BY created_at, rowid").all() as PurgeRow[]).map(toRecord);
  }

  recent(limit: number): PurgeRecord[] {
    return (this.db.prepare('SELECT * FROM purges ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as PurgeRow[]).map(toRecord);
  }

  /**
   * A page of purges, newest first: optionally only one status, and only URLs containing some text
   * (case-insensitive for ASCII, `%` and `_` taken literally). `total` counts every match over all pages.
   */
  list(query: PurgeListQuery): { records: PurgeRecord[]; total: number } {
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
      conditions.push(
        `(rowid IN (SELECT rowid FROM purges_url WHERE purges_url MATCH @phrase) OR (in_search = 0 AND ${like}))`,
      );
      params.phrase = `"${text.replace(/"/g, '""')}"`;
    } else if (text !== '') {
      conditions.push(like); // too short for trigrams: a scan, of a table that retention keeps bounded
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { limit: _limit, offset: _offset, ...filters } = params;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM purges ${where}`).get(filters) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM purges ${where} ORDER BY created_at DESC, rowid DESC LIMIT @limit OFFSET @offset`).all(params) as PurgeRow[];
    return { records: rows.map(toRecord), total };
  }

  /**
   * Raises the mark floor to the sequence number of the newest purge that completed before `cutoff` (epoch
   * ms) and persists it: every cached entry built before the floor counts as stale from now on, so the marks
   * up to it say nothing more and may be deleted (`deleteMarksUpTo`). Returns the floor.
   */
  raiseFloor(cutoff: number): number {
    const newest = this.db.prepare("SELECT MAX(generation) AS seq FROM purges WHERE status = 'completed' AND completed_at < ?").get(cutoff) as { seq: number | null };
    const floor = Math.max(newest.seq ?? 0, this.floor());
    if (floor > 0) setMeta(this.db, MARK_FLOOR, String(floor));
    return floor;
  }

  /** The floor persisted by the last compaction (0 before the first). */
  floor(): number {
    return Number(getMeta(this.db, MARK_FLOOR) ?? 0);
  }

  /** Deletes up to `limit` marks at or below the floor; returns how many (fewer than `limit`: none are left). */
  deleteMarksUpTo(floor: number, limit: number): number {
    return this.db.prepare('DELETE FROM purge_marks WHERE rowid IN (SELECT rowid FROM purge_marks WHERE seq <= ? LIMIT ?)').run(floor, limit).changes;
  }

  /** Deletes up to `limit` purges created before `cutoff` that are no longer pending; returns how many. */
  deleteEndedBefore(cutoff: number, limit: number): number {
    return this.db
      .prepare("DELETE FROM purges WHERE rowid IN (SELECT rowid FROM purges WHERE created_at < ? AND status != 'pending' LIMIT ?)")
      .run(cutoff, limit).changes;
  }

  /**
   * Adds up to `limit` purges not yet in the search index to it; returns how many (fewer than `limit`: it has
   * caught up). Done in the background, so that the index never slows the acknowledgement of a purge.
   */
  indexForSearch(limit: number): number {
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

  /** How many purges are kept. */
  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM purges').get() as { n: number }).n;
  }

  marks(): [string, number][] {
    return (this.db.prepare('SELECT scope, seq FROM purge_marks').all() as { scope: string; seq: number }[]).map((row) => [row.scope, row.seq]);
  }
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
    matched: row.matched ?? undefined,
    generation: row.generation ?? undefined,
    error: row.error ?? undefined,
    requestedBy: row.requested_by ?? undefined,
    createdAt: row.created_at,
    completedAt: row.completed_at ?? undefined,
    report: row.report === null ? undefined : (JSON.parse(row.report) as PurgeReport),
  };
}
