import type { Db } from './db.ts';
import type { FailureCount, FailureDecision, SignInFailureStore } from '../sign-in-failures.ts';

/** Sign-in failure counts in `sign_in_failures`; an update is one write transaction taken at once (BEGIN IMMEDIATE). */
export class SqliteSignInFailures implements SignInFailureStore {
  constructor(private readonly db: Db) {}

  async update<T>(keys: readonly string[], forgetBefore: number, decide: (current: (FailureCount | undefined)[]) => FailureDecision<T>): Promise<T> {
    const read = this.db.prepare('SELECT count, last_at AS lastAt FROM sign_in_failures WHERE key = ?');
    const write = this.db.prepare(
      'INSERT INTO sign_in_failures (key, count, last_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at',
    );
    return this.db.transaction((): T => {
      this.db.prepare('DELETE FROM sign_in_failures WHERE last_at <= ?').run(forgetBefore);
      const decision = decide(keys.map((key) => read.get(key) as FailureCount | undefined));
      decision.write?.forEach((count, i) => write.run(keys[i], count.count, count.lastAt));
      return decision.result;
    }).immediate();
  }

  async forget(keys: readonly string[]): Promise<void> {
    const remove = this.db.prepare('DELETE FROM sign_in_failures WHERE key = ?');
    this.db.transaction(() => keys.forEach((key) => remove.run(key)))();
  }

  async size(prefix: string): Promise<number> {
    const row = this.db.prepare('SELECT count(*) AS n FROM sign_in_failures WHERE substr(key, 1, ?) = ?').get(prefix.length, prefix) as { n: number };
    return row.n;
  }
}
