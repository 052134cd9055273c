import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type Db } from '../../src/store/sqlite/db.ts';
import { createPool, migrate, type PgPool } from '../../src/store/postgres/database.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/**
 * One schema, two dialects: src/store/sqlite/db.ts (SQLite) and src/store/postgres/database.ts (PostgreSQL) each
 * create the same tables by hand. Both are created here from their migrations and compared table by table:
 * columns, types (through TYPES), nullability, defaults and indexes (by columns, order and uniqueness).
 * What differs on purpose is listed below with why; anything else is a mismatch.
 */

/** SQLite's declared type → the PostgreSQL types that hold the same values. */
const TYPES: Record<string, readonly string[]> = {
  // Whole numbers: seconds and milliseconds since the epoch need 64 bits (BIGINT); counts and sizes may be INTEGER.
  // SQLite has no boolean: flags are 0 and 1 there, BOOLEAN in PostgreSQL.
  INTEGER: ['bigint', 'integer', 'boolean'],
  // JSON documents are TEXT in SQLite and JSONB in PostgreSQL (queried with json_each / jsonb operators).
  TEXT: ['text', 'jsonb'],
  REAL: ['double precision'],
};

/** Columns whose PostgreSQL type is narrower than TYPES says, and why. */
const TYPED: Record<string, string> = {
  'purges.id': 'uuid', // purge ids are UUIDs: PostgreSQL stores and checks them as such
  'purges.scopes': 'ARRAY', // the freshness scopes a purge marks: a text array in PostgreSQL, a JSON array in SQLite
};

/** Defaults only one dialect has, and why. */
const DEFAULT_ONLY_POSTGRES: Record<string, string> = {
  // SQLite cannot add a default to a column without rebuilding its table; its store writes the status.
  'purges.status': "the purge log's insert takes 'pending' from the default",
};
const DEFAULT_ONLY_SQLITE: Record<string, string> = {
  // SQLite adds a NOT NULL column only with a default, for the rows before it; its store writes the scopes.
  'purges.scopes': "'[]': rows older than the column (the migration that added it fills them in)",
};

/** Tables named differently in the two dialects: SQLite's name → PostgreSQL's. */
const RENAMED: Record<string, string> = {
  // The purge record: PostgreSQL's is the cluster's ordered purge log (its seq is the cluster-wide sequence).
  purges: 'purge_log',
};

/** Tables one dialect only has, and why. */
const ONLY_SQLITE: Record<string, string> = {
  purges_url: 'the Purges search: an FTS5 trigram index of purge URLs (PostgreSQL: a pg_trgm GIN index on purge_log.url)',
};
const ONLY_POSTGRES: Record<string, string> = {
  schema_version: "the migration counter (SQLite keeps it in PRAGMA user_version)",
  nodes: 'cluster membership: each node, its lease, fencing and last applied purge',
  rate_limits: 'the purge rate limit shared by the nodes of a cluster (one process keeps it in memory)',
  purge_node_matches: "what an exact purge matched on each node that followed it (one node's count is the purge's own)",
};

/** Columns one dialect only has, by table (SQLite's table name), and why. */
const COLUMNS_ONLY_SQLITE: Record<string, Record<string, string>> = {
  purges: {
    generation: "each purge's sequence number (PostgreSQL's seq, its primary key there: SQLite orders rows by rowid)",
    in_search: 'whether the purge is in the FTS5 search index yet (filled in the background)',
  },
  sources: { name_rank: "each Source's place in name order: SQLite's collation is not the name order (PostgreSQL sorts itself)" },
};
const COLUMNS_ONLY_POSTGRES: Record<string, Record<string, string>> = {
  purges: {
    seq: "the purge sequence, and the log's order (SQLite keeps the number in generation, and orders by rowid)",
    coordinator: 'the node coordinating the purge',
    claimed_until: "the coordinator's claim, taken over by another node when it lapses",
  },
  sources: { created_seq: "orders Sources created in the same second (SQLite's rowid)" },
  takedowns: { seq: "orders takedowns made in the same millisecond (SQLite's rowid)" },
  takedown_audit: { seq: "the order of the audit trail (SQLite's rowid)" },
};

/**
 * PostgreSQL's stand-in for SQLite's rowid, by table: every SQLite index ends, unseen, with the rowid, which
 * PostgreSQL's indexes name as a last key; and the rowid needs no index of its own.
 */
const ROWID: Record<string, string> = { purges: 'seq', sources: 'created_seq', takedowns: 'seq', takedown_audit: 'seq' };

/** Indexes one dialect only has, by table (SQLite's table name) and `indexKey`, and why. */
const INDEXES_ONLY_SQLITE: Record<string, Record<string, string>> = {
  purges: {
    '(in_search) WHERE in_search = 0': 'the purges not in the FTS5 search index yet',
    "(generation) WHERE status = 'pending'": 'the pending purges in sequence order, which the sweep claims from (PostgreSQL: the same on seq)',
    "(status) WHERE status = 'pending'": "the pending purges, in rowid order (PostgreSQL's partial index keys them by seq)",
    '(status, created_at)': "the dashboard's purge list filtered by status (PostgreSQL filters along its created_at index)",
  },
  sources: {
    '(name_rank, created_at)': 'the Sources list by name, through the SQLite-only name_rank',
    '(name_rank DESC, created_at)': 'the same, descending',
    '(type, created_at)': "the Sources list by type (PostgreSQL's (type, enabled, created_at) serves type filters)",
    '(enabled, created_at)': 'the Sources list by enabled, paged through an index at scale (bench/sources-scale.ts)',
    '(enabled DESC, created_at)': 'the same, descending',
    '(date_deployed DESC, created_at)': 'the Sources list by deployment date, descending',
  },
};
const INDEXES_ONLY_POSTGRES: Record<string, Record<string, string>> = {
  purges: {
    "(seq) WHERE status = 'pending'": 'the pending purges in seq order, which nodes claim from (SQLite keys its own by status)',
    '(url)': "the Purges search: a pg_trgm GIN index of URLs (SQLite's is the FTS5 table purges_url)",
  },
};

interface Column {
  type: string;
  notNull: boolean;
  default: string | null;
}

interface Table {
  columns: Map<string, Column>;
  /** `unique? (col, col DESC) [where …]` */
  indexes: Set<string>;
}

type Schema = Map<string, Table>;

interface SqliteColumn {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
  hidden: number;
}

function sqliteSchema(db: Db): Schema {
  const schema: Schema = new Map();
  const tables = "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
  const rows = db.prepare(tables).all() as { name: string; sql: string }[];
  const virtual = rows.filter((row) => row.sql.startsWith('CREATE VIRTUAL TABLE')).map((row) => row.name);
  for (const { name } of rows) {
    // FTS5's own shadow tables belong to their virtual table.
    if (virtual.some((table) => name.startsWith(`${table}_`))) continue;
    const info = (db.prepare(`PRAGMA table_xinfo(${name})`).all() as SqliteColumn[]).filter((column) => column.hidden === 0);
    const columns = new Map<string, Column>();
    for (const column of info) {
      // A PRIMARY KEY column of a rowid table accepts NULL in SQLite (a documented legacy quirk); the stores
      // always write their keys, so it counts as NOT NULL, as in PostgreSQL.
      columns.set(column.name, { type: column.type, notNull: column.notnull === 1 || column.pk > 0, default: column.dflt_value });
    }
    const indexes = sqliteIndexes(db, name);
    const pk = info.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
    // The primary key by its columns (SQLite lists it as an index only when it is not the rowid itself).
    if (pk.length > 0) indexes.add(indexKey(true, pk, undefined));
    schema.set(name, { columns, indexes });
  }
  return schema;
}

function sqliteIndexes(db: Db, table: string): Set<string> {
  const indexes = new Set<string>();
  for (const index of db.prepare(`PRAGMA index_list(${table})`).all() as { name: string; unique: number; partial: number }[]) {
    const keys = (db.prepare(`PRAGMA index_xinfo(${index.name})`).all() as { name: string | null; desc: number; key: number }[])
      .filter((key) => key.key === 1)
      .map((key) => `${key.name}${key.desc ? ' DESC' : ''}`);
    // (A WITHOUT ROWID table's primary key has no row in sqlite_master, and is never partial.)
    const sql = (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(index.name) as { sql: string | null } | undefined)?.sql;
    const where = index.partial && sql ? / WHERE (.*)$/s.exec(sql)![1]! : undefined;
    indexes.add(indexKey(index.unique === 1, keys, where));
  }
  return indexes;
}

const PG_COLUMNS = `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
  WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;

/** Each index: its table, uniqueness, condition, and keys in order (with DESC where descending). */
const PG_INDEXES = `SELECT t.relname AS table_name, i.indisunique AS unique, pg_get_expr(i.indpred, i.indrelid) AS predicate,
    array(SELECT a.attname || CASE WHEN (i.indoption[k.n - 1] & 1) = 1 THEN ' DESC' ELSE '' END
          FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          ORDER BY k.n) AS keys
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace
  WHERE s.nspname = 'public'`;

interface PgColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: string;
  column_default: string | null;
}

async function postgresSchema(pool: PgPool): Promise<Schema> {
  const schema: Schema = new Map();
  for (const column of (await pool.query<PgColumn>(PG_COLUMNS)).rows) {
    const table = schema.get(column.table_name) ?? { columns: new Map(), indexes: new Set<string>() };
    table.columns.set(column.column_name, { type: column.data_type, notNull: column.is_nullable === 'NO', default: column.column_default });
    schema.set(column.table_name, table);
  }
  const { rows: indexes } = await pool.query<{ table_name: string; unique: boolean; keys: string[]; predicate: string | null }>(PG_INDEXES);
  for (const index of indexes) schema.get(index.table_name)!.indexes.add(indexKey(index.unique, index.keys, index.predicate ?? undefined));
  return schema;
}

/** An index by what it does: uniqueness, keys in order, and its condition in a dialect-neutral spelling. */
function indexKey(unique: boolean, keys: string[], where: string | undefined): string {
  const condition = where === undefined ? '' : ` WHERE ${where.replace(/::\w+/g, '').replace(/[()]/g, '').replace(/\s+/g, ' ').trim()}`;
  return `${unique ? 'unique ' : ''}(${keys.join(', ')})${condition}`;
}

describe('the SQLite and PostgreSQL schemas', () => {
  let postgres: TestPostgres | undefined;
  let pool: PgPool | undefined;
  let db: Db | undefined;
  let dir = '';
  let sqlite: Schema;
  let pgSchema: Schema;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-schema-'));
    db = openDatabase(dir);
    sqlite = sqliteSchema(db);
    postgres = await startPostgres({ durable: false });
    pool = createPool({ url: await postgres.createDatabase('schema') });
    await migrate(pool);
    pgSchema = await postgresSchema(pool);
  });
  after(async () => {
    db?.close();
    await pool?.end();
    await postgres?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('have the same tables, but for those one dialect has on purpose', () => {
    const common = [...sqlite.keys()].filter((name) => !(name in ONLY_SQLITE)).map((name) => RENAMED[name] ?? name);
    const postgresOnly = [...pgSchema.keys()].filter((name) => !common.includes(name)).sort();
    assert.deepEqual(postgresOnly, Object.keys(ONLY_POSTGRES).sort());
    for (const name of common) assert.ok(pgSchema.has(name), `${name} is missing in PostgreSQL`);
    for (const name of Object.keys(ONLY_SQLITE)) assert.ok(sqlite.has(name), `${name} is listed as SQLite's, but SQLite has no such table`);
  });

  it('have the same columns, types, nullability and defaults in every table', () => {
    assert.deepEqual(columnMismatches(sqlite, pgSchema), []);
  });

  it('have the same indexes, by columns, order and uniqueness', () => {
    assert.deepEqual(indexMismatches(sqlite, pgSchema), []);
  });
});

/** The table pairs both dialects have: [SQLite's name, PostgreSQL's table, SQLite's table]. */
function pairs(sqlite: Schema, postgres: Schema): [string, Table, Table][] {
  return [...sqlite]
    .filter(([name]) => !(name in ONLY_SQLITE) && postgres.has(RENAMED[name] ?? name))
    .map(([name, table]) => [name, postgres.get(RENAMED[name] ?? name)!, table]);
}

function columnMismatches(sqlite: Schema, postgres: Schema): string[] {
  const found: string[] = [];
  for (const [name, pgTable, liteTable] of pairs(sqlite, postgres)) {
    const onlyLite = COLUMNS_ONLY_SQLITE[name] ?? {};
    const onlyPg = COLUMNS_ONLY_POSTGRES[name] ?? {};
    for (const column of Object.keys(onlyLite)) {
      if (!liteTable.columns.has(column) || pgTable.columns.has(column)) found.push(`${name}.${column}: listed as SQLite's only`);
    }
    for (const column of Object.keys(onlyPg)) {
      if (!pgTable.columns.has(column) || liteTable.columns.has(column)) found.push(`${name}.${column}: listed as PostgreSQL's only`);
    }
    for (const [column, lite] of liteTable.columns) {
      if (column in onlyLite) continue;
      const pg = pgTable.columns.get(column);
      if (!pg) {
        found.push(`${name}.${column}: missing in PostgreSQL`);
        continue;
      }
      const typed = TYPED[`${name}.${column}`];
      const sameType = typed ? pg.type === typed : (TYPES[lite.type] ?? []).includes(pg.type);
      if (!sameType) found.push(`${name}.${column}: ${lite.type} in SQLite, ${pg.type} in PostgreSQL`);
      if (lite.notNull !== pg.notNull) found.push(`${name}.${column}: ${lite.notNull ? 'NOT NULL' : 'nullable'} in SQLite, not in PostgreSQL`);
      const postgresOnly = `${name}.${column}` in DEFAULT_ONLY_POSTGRES;
      const sqliteOnly = `${name}.${column}` in DEFAULT_ONLY_SQLITE;
      if (postgresOnly && (lite.default !== null || pg.default === null)) found.push(`${name}.${column}: listed as a PostgreSQL-only default`);
      if (sqliteOnly && (lite.default === null || pg.default !== null)) found.push(`${name}.${column}: listed as a SQLite-only default`);
      const defaults = [sqliteOnly ? 'none' : sqliteDefault(lite.default), postgresOnly ? 'none' : postgresDefault(pg.default)];
      if (defaults[0] !== defaults[1]) found.push(`${name}.${column}: default ${defaults[0]} in SQLite, ${defaults[1]} in PostgreSQL`);
    }
    for (const column of pgTable.columns.keys()) {
      if (!liteTable.columns.has(column) && !(column in onlyPg)) found.push(`${name}.${column}: missing in SQLite`);
    }
  }
  return found;
}

function indexMismatches(sqlite: Schema, postgres: Schema): string[] {
  const found: string[] = [];
  for (const [name, pgTable, liteTable] of pairs(sqlite, postgres)) {
    const lite = normalised(liteTable.indexes, undefined);
    const pg = normalised(pgTable.indexes, ROWID[name]);
    const onlyLite = INDEXES_ONLY_SQLITE[name] ?? {};
    const onlyPg = INDEXES_ONLY_POSTGRES[name] ?? {};
    for (const index of lite) if (!pg.has(index) && !(index in onlyLite)) found.push(`${name} ${index}: missing in PostgreSQL`);
    for (const index of pg) if (!lite.has(index) && !(index in onlyPg)) found.push(`${name} ${index}: missing in SQLite`);
    for (const index of Object.keys(onlyLite)) if (!lite.has(index) || pg.has(index)) found.push(`${name} ${index}: listed as SQLite's only`);
    for (const index of Object.keys(onlyPg)) if (!pg.has(index) || lite.has(index)) found.push(`${name} ${index}: listed as PostgreSQL's only`);
  }
  return found;
}

/**
 * Indexes in a form both dialects share: without the rowid's stand-in as the last key (and without an index of
 * the stand-in alone), and read forwards when every key is descending (a B-tree is read either way).
 */
function normalised(indexes: Set<string>, rowid: string | undefined): Set<string> {
  const result = new Set<string>();
  for (const index of indexes) {
    const [, unique, keyList, where] = /^(unique )?\((.*)\)(.*)$/.exec(index)!;
    let keys = keyList!.split(', ').filter((key) => key !== '');
    if (rowid !== undefined && keys.at(-1)?.replace(/ DESC$/, '') === rowid) {
      if (keys.length === 1 && unique && !where) continue;
      if (keys.length > 1) keys = keys.slice(0, -1);
    }
    if (keys.length > 0 && keys.every((key) => key.endsWith(' DESC'))) keys = keys.map((key) => key.replace(/ DESC$/, ''));
    result.add(`${unique ?? ''}(${keys.join(', ')})${where}`);
  }
  return result;
}

/** SQLite keeps a default as written: `1`, `'exact'`. */
function sqliteDefault(value: string | null): string {
  return value ?? 'none';
}

/** PostgreSQL spells defaults with casts (`'[]'::jsonb`) and booleans as words: the SQLite spelling of each. */
function postgresDefault(value: string | null): string {
  if (value === null) return 'none';
  const bare = value.replace(/::[\w ]+$/, '');
  return ({ true: '1', false: '0' } as Record<string, string>)[bare] ?? bare;
}
