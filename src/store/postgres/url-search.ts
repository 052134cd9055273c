import type { PgPool } from './database.ts';

/** How long a sample of the log's URLs is reused before it is read again (it changes only with ANALYZE). */
const SAMPLE_MS = 60_000;

/** A piece found in more than this share of the sample is common: the whole text is searched by the index. */
const COMMON_SHARE = 0.1;

/** `text` as a LIKE pattern matching it anywhere, with `%`, `_` and `\` taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * The pieces of a search text the trigram index can look up: each word (pg_trgm's: a run of letters and
 * digits) with the character on either side, whose padded trigrams mark where the word starts and ends.
 */
export function pieces(text: string): string[] {
  const found: string[] = [];
  for (const word of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const piece = text.slice(Math.max(0, word.index - 1), word.index + word[0].length + 1);
    if (piece.length >= 3) found.push(piece);
  }
  return found;
}

/**
 * The piece of `text` that the fewest sampled URLs contain (the longest of those), or undefined when the text
 * is better searched whole: no sample yet, no piece shorter than the text, or even the rarest piece common.
 */
export function rarestPiece(text: string, sample: readonly string[]): string | undefined {
  if (sample.length === 0) return undefined;
  const lowered = sample.map((url) => url.toLowerCase());
  let best: { piece: string; count: number } | undefined;
  for (const piece of pieces(text)) {
    if (piece.length >= text.length) continue;
    const needle = piece.toLowerCase();
    const count = lowered.filter((url) => url.includes(needle)).length;
    if (!best || count < best.count || (count === best.count && piece.length > best.piece.length)) best = { piece, count };
  }
  return best && best.count <= sample.length * COMMON_SHARE ? best.piece : undefined;
}

/**
 * A trigram (GIN) index reads the whole posting list of every trigram of the pattern, and in a purge log
 * most URLs share many of them (`htt`, `://`, the host, `jpg`): a search for one purge's URL would read a
 * list as long as the log for each. So the index is asked for the rarest piece of the text only — judged
 * against PostgreSQL's own sample of the column (pg_stats, kept by ANALYZE) — and the whole text is checked
 * on the few rows it finds, through an expression no index serves (`url || ''`). The answer is the same as
 * `url ILIKE` on the whole text: a URL containing the text contains each of its pieces.
 */
export class UrlSearch {
  private sample: { at: number; urls: readonly string[] } | undefined;

  constructor(private readonly pool: PgPool) {}

  /** The conditions on `url` for `text` (parameters numbered from `params.length + 1`, pushed to `params`). */
  async conditions(text: string, params: unknown[]): Promise<string[]> {
    params.push(containsPattern(text));
    const whole = `$${params.length}`;
    const piece = rarestPiece(text, await this.sampled());
    if (piece === undefined) return [`url ILIKE ${whole}`];
    params.push(containsPattern(piece));
    return [`url ILIKE $${params.length}`, `(url || '') ILIKE ${whole}`];
  }

  private async sampled(): Promise<readonly string[]> {
    if (this.sample && Date.now() - this.sample.at < SAMPLE_MS) return this.sample.urls;
    const { rows } = await this.pool.query<{ urls: string[] | null }>(
      `SELECT coalesce(most_common_vals::text::text[], '{}') || coalesce(histogram_bounds::text::text[], '{}') AS urls
       FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'purge_log' AND attname = 'url'`,
    );
    this.sample = { at: Date.now(), urls: rows[0]?.urls ?? [] };
    return this.sample.urls;
  }
}
