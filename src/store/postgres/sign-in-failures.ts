import { withTransaction, type PgPool } from './database.ts';
import type { FailureCount, FailureDecision, SignInFailureStore } from '../sign-in-failures.ts';

/**
 * Sign-in failure counts in `sign_in_failures`, shared by the nodes. An update first makes sure each key has a
 * row (in key order, so two updates never wait on each other crosswise), then locks them (FOR UPDATE): another
 * node's attempt on one of these keys waits until this one has written its count.
 */
export class PgSignInFailures implements SignInFailureStore {
  constructor(private readonly pool: PgPool) {}

  async update<T>(keys: readonly string[], forgetBefore: number, decide: (current: (FailureCount | undefined)[]) => FailureDecision<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    return withTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM sign_in_failures WHERE last_at <= $1', [forgetBefore]);
      // A row of count 0 stands for "no failure": it exists only so that it can be locked.
      for (const key of sorted) await client.query('INSERT INTO sign_in_failures (key, count, last_at) VALUES ($1, 0, 0) ON CONFLICT (key) DO NOTHING', [key]);
      const { rows } = await client.query<{ key: string; count: number; last_at: string }>(
        'SELECT key, count, last_at FROM sign_in_failures WHERE key = ANY($1) ORDER BY key FOR UPDATE',
        [sorted],
      );
      const byKey = new Map(rows.filter((row) => row.count > 0).map((row) => [row.key, { count: row.count, lastAt: Number(row.last_at) }]));
      const decision = decide(keys.map((key) => byKey.get(key)));
      for (const [i, count] of (decision.write ?? []).entries()) {
        // An upsert: a success on another node may have removed the row while this update waited for it.
        await client.query(
          'INSERT INTO sign_in_failures (key, count, last_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at',
          [keys[i], count.count, count.lastAt],
        );
      }
      await client.query('DELETE FROM sign_in_failures WHERE key = ANY($1) AND count = 0', [sorted]);
      return decision.result;
    });
  }

  async forget(keys: readonly string[]): Promise<void> {
    await this.pool.query('DELETE FROM sign_in_failures WHERE key = ANY($1)', [[...keys]]);
  }

  async size(prefix: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM sign_in_failures WHERE starts_with(key, $1) AND count > 0', [prefix]);
    return Number(rows[0]!.n);
  }
}
