import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStores } from '../../src/store/open-stores.ts';
import { newSecretKey } from '../../src/store/secret-box.ts';
import type { Stores } from '../../src/store/stores.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

/** A new, empty store of one backend. */
export interface FreshStore {
  /** The data directory (the SQLite file and the key file; PostgreSQL keeps only its key file there). */
  dataDir: string;
  /**
   * Opens the store, as `serve` does (`openStores`); each call is another handle on the same state: another
   * process on the SQLite file, another node's pool on the PostgreSQL database. Closed after the file.
   */
  open(secretKeys?: Buffer[]): Promise<Stores>;
  /** Runs one statement behind the stores' back (to check what they refuse, or to age a row). */
  sql(statement: string): Promise<void>;
  /** PostgreSQL: the database's URL (to migrate it step by step). */
  databaseUrl?: string;
  /** Reads one number behind the stores' back: the first column of the first row (e.g. `SELECT count(*) FROM …`). */
  number(query: string): Promise<number>;
}

export interface StoreBackend {
  name: 'SQLite' | 'PostgreSQL';
  fresh(): Promise<FreshStore>;
  /** PostgreSQL: restarts the server (clients see their connections closed). */
  restartServer?(): Promise<void>;
}

/** The key every store of these tests seals Source secrets with, unless a test passes others. */
export const TEST_SECRET = [newSecretKey()];

/**
 * The two backends every store contract runs on: SQLite (a temporary data directory per store) and PostgreSQL
 * (one real server per test file, a database per store). Call at the top of a test file: it registers the
 * hooks that start the server and close and delete everything opened.
 */
export function storeBackends(prefix: string): [StoreBackend, StoreBackend] {
  let postgres: TestPostgres | undefined;
  let databases = 0;
  const directories: string[] = [];
  const opened: Stores[] = [];
  before(async () => {
    postgres = await startPostgres({ durable: false });
  });
  after(async () => {
    for (const stores of opened) await stores.close().catch(() => {});
    await postgres?.stop();
    for (const dir of directories) await fs.rm(dir, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `pictor-${prefix}-`));
    directories.push(dir);
    return dir;
  };
  const track = async (stores: Promise<Stores>): Promise<Stores> => {
    const open = await stores;
    opened.push(open);
    return open;
  };
  const sqlite: StoreBackend = {
    name: 'SQLite',
    async fresh() {
      const dataDir = await tempDir();
      return {
        dataDir,
        open: (secretKeys = TEST_SECRET) => track(openStores({ dataDir, secretKeys })),
        sql: async (statement) => {
          const db = new Database(path.join(dataDir, 'pictor.db'));
          try {
            db.exec(statement);
          } finally {
            db.close();
          }
        },
        number: async (query) => {
          const db = new Database(path.join(dataDir, 'pictor.db'), { readonly: true });
          try {
            return Number(db.prepare(query).pluck().get());
          } finally {
            db.close();
          }
        },
      };
    },
  };
  const postgresql: StoreBackend = {
    name: 'PostgreSQL',
    restartServer: () => postgres!.restart(),
    async fresh() {
      const databaseUrl = await postgres!.createDatabase(`${prefix.replace(/\W/g, '_')}_${++databases}`);
      const dataDir = await tempDir();
      return {
        dataDir,
        databaseUrl,
        open: (secretKeys = TEST_SECRET) => track(openStores({ dataDir, databaseUrl, secretKeys })),
        sql: async (statement) => {
          const client = new pg.Client({ connectionString: databaseUrl });
          await client.connect();
          try {
            await client.query(statement);
          } finally {
            await client.end();
          }
        },
        number: async (query) => {
          const client = new pg.Client({ connectionString: databaseUrl });
          await client.connect();
          try {
            return Number(Object.values((await client.query(query)).rows[0] as object)[0]);
          } finally {
            await client.end();
          }
        },
      };
    },
  };
  return [sqlite, postgresql];
}
