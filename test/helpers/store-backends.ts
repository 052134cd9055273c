import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { createPool, migrate, type PgPool } from '../../src/store/postgres/database.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

/**
 * Fresh, empty stores for the contract tests that run one set of cases on both backends. Call inside a
 * `describe`: each registers the hooks that close and delete what it opened.
 */
export function sqliteBackend(prefix: string): { open(): { db: Db; another(): Db } } {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  after(() => {
    for (const db of dbs) db.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const connect = (dir: string): Db => {
    const db = openDatabase(dir);
    dbs.push(db);
    return db;
  };
  return {
    open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pictor-${prefix}-`));
      dirs.push(dir);
      // `another`: a second connection to the same file, as another process on the same data directory.
      return { db: connect(dir), another: () => connect(dir) };
    },
  };
}

/** One real PostgreSQL per file, a migrated database per case. */
export function postgresBackend(prefix: string): { open(): Promise<{ pool: PgPool; url: string; another(): PgPool }> } {
  let server: TestPostgres;
  const pools: PgPool[] = [];
  let databases = 0;
  before(async () => {
    server = await startPostgres({ durable: false });
  });
  after(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await server?.stop();
  });
  const connect = (url: string): PgPool => {
    const pool = createPool({ url });
    pools.push(pool);
    return pool;
  };
  return {
    async open() {
      const url = await server.createDatabase(`${prefix}_${++databases}`);
      const pool = connect(url);
      await migrate(pool);
      return { pool, url, another: () => connect(url) };
    },
  };
}
