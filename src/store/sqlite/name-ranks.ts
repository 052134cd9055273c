import type { Statement } from 'better-sqlite3';
import type { Db } from './db.ts';
import { compareSourceNames } from '../source-record.ts';

/** Space left between neighbours when ranks are handed out afresh: room for many names to arrive in between. */
const SPACING = 2 ** 32;
/** Ranks stay integers a double holds exactly. */
const LIMIT = 2 ** 52;

interface RankRow {
  name: string;
  rank: number;
}

/**
 * Each Source's place in name order (`sources.name_rank`), so that a page sorted by name is read from an index.
 * SQLite cannot sort by the collation of Source names (`compareSourceNames`), so ranks are handed out here: a
 * new name gets a rank between its neighbours, found by bisection over the index, and names that compare equal
 * share one (ties then go by creation order, as in every sort). When neighbours leave no integer between them,
 * every rank is handed out afresh, which the spacing makes rare.
 *
 * Callers rank inside the transaction that writes the Source (SourceStore.upsert), so the ranks read are the
 * ones the write lands among.
 */
export class NameRanks {
  private readonly first: Statement<[string], RankRow>;
  private readonly last: Statement<[string], RankRow>;
  private readonly atOrAbove: Statement<[string, number, number], RankRow>;
  private readonly below: Statement<[string, number, number], RankRow>;
  private readonly set: Statement<[number, string]>;

  constructor(private readonly db: Db) {
    // Every probe leaves out the Source being ranked: its row may already carry the new name at the old rank.
    const select = 'SELECT name, name_rank AS rank FROM sources WHERE id <> ?';
    this.first = db.prepare(`${select} AND name_rank IS NOT NULL ORDER BY name_rank LIMIT 1`);
    this.last = db.prepare(`${select} AND name_rank IS NOT NULL ORDER BY name_rank DESC LIMIT 1`);
    this.atOrAbove = db.prepare(`${select} AND name_rank >= ? AND name_rank < ? ORDER BY name_rank LIMIT 1`);
    this.below = db.prepare(`${select} AND name_rank > ? AND name_rank < ? ORDER BY name_rank DESC LIMIT 1`);
    this.set = db.prepare('UPDATE sources SET name_rank = ? WHERE id = ?');
  }

  /** Gives the Source the rank of its name. */
  assign(id: string, name: string): void {
    let rank = this.rankOf(id, name);
    if (rank === undefined) {
      this.renumber();
      rank = this.rankOf(id, name)!;
    }
    this.set.run(rank, id);
  }

  /** Databases from before ranks existed (and any row written without one) get them here. */
  fillMissing(): void {
    const missing = this.db.prepare('SELECT 1 FROM sources WHERE name_rank IS NULL LIMIT 1');
    if (missing.get() === undefined) return;
    this.db.transaction(() => {
      if (missing.get() !== undefined) this.renumber();
    }).immediate();
  }

  /** The rank for this name among the other ranked Sources, or undefined when its neighbours leave no room. */
  private rankOf(id: string, name: string): number | undefined {
    const first = this.first.get(id);
    const last = this.last.get(id);
    if (!first || !last) return 0;
    const toFirst = compareSourceNames(name, first.name);
    if (toFirst <= 0) return toFirst === 0 ? first.rank : fits(first.rank - SPACING);
    const toLast = compareSourceNames(name, last.name);
    if (toLast >= 0) return toLast === 0 ? last.rank : fits(last.rank + SPACING);
    let low: RankRow = first;
    let high: RankRow = last;
    // low < name < high: narrow down to the two neighbours, each probe one index seek strictly between them.
    while (high.rank - low.rank > 1) {
      const middle = low.rank + Math.floor((high.rank - low.rank) / 2);
      const probe = this.atOrAbove.get(id, middle, high.rank) ?? this.below.get(id, low.rank, middle);
      if (!probe) return middle;
      const order = compareSourceNames(name, probe.name);
      if (order === 0) return probe.rank;
      if (order < 0) high = probe;
      else low = probe;
    }
    return undefined;
  }

  /** Ranks every Source afresh, evenly spaced, in name order. */
  private renumber(): void {
    const rows = this.db.prepare('SELECT id, name FROM sources').all() as { id: string; name: string }[];
    rows.sort((a, b) => compareSourceNames(a.name, b.name));
    const spacing = Math.min(SPACING, Math.floor(LIMIT / (rows.length + 1)));
    let rank = 0;
    rows.forEach((row, i) => {
      if (i > 0 && compareSourceNames(rows[i - 1]!.name, row.name) !== 0) rank += spacing;
      this.set.run(rank, row.id);
    });
  }
}

function fits(rank: number): number | undefined {
  return Math.abs(rank) <= LIMIT ? rank : undefined;
}
