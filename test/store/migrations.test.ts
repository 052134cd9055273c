import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { PG_MIGRATIONS } from '../../src/store/postgres/database.ts';
import { SchemaTooNewError } from '../../src/store/schema-version.ts';
import { MIGRATIONS, openDatabase } from '../../src/store/sqlite/db.ts';
import { spawnServer } from '../helpers/process.ts';

const DB = fileURLToPath(new URL('../../src/store/sqlite/db.ts', import.meta.url));
const OPEN = `import { openDatabase } from ${JSON.stringify(DB)}; openDatabase(process.argv[1]).close();`;

/** Opens the data directory's store in a process of its own; resolves with what it printed on failure. */
function openElsewhere(dataDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OPEN, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? '' : stderr || `exit ${code}`));
  });
}

describe('SQLite migrations', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

  it('processes opening a new data directory at once each find it migrated, none fails on a step another applied', async () => {
    // A race: one round may pass by luck, so several rounds of four processes each.
    for (let round = 0; round < 10; round++) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-migrate-'));
      dirs.push(dir);
      const failures = (await Promise.all([1, 2, 3, 4].map(() => openElsewhere(dir)))).filter((failure) => failure !== '');
      assert.deepEqual(failures, [], `round ${round + 1}`);
    }
  });
});

/**
 * The steps each dialect had when nodes of two versions began to share a database (rolling upgrades, see
 * src/store/schema-version.ts): every step after them must only add, so that the version before keeps working.
 */
const ROLLING_FROM = { sqlite: 14, postgres: 11 };
/** What an older node could trip on: a table, column or index gone or renamed, a column retyped or newly required. */
const NOT_ADDITIVE = /\b(DROP\s+(TABLE|COLUMN|INDEX)|RENAME|ALTER\s+COLUMN\s+\w+\s+(TYPE|SET\s+NOT\s+NULL)|ADD\s+COLUMN\s+\w+\s+[^,;]*NOT\s+NULL(?![^,;]*DEFAULT))/i;

describe('migrations during a rolling upgrade', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

  it('every step since rolling upgrades began only adds, in both dialects', () => {
    const steps = [...MIGRATIONS.slice(ROLLING_FROM.sqlite), ...PG_MIGRATIONS.slice(ROLLING_FROM.postgres)];
    assert.ok(steps.length >= 2, 'the sign-in failures step of each dialect is checked');
    for (const step of steps) assert.doesNotMatch(step, NOT_ADDITIVE);
  });

  it('a data directory migrated by a newer Pictor is refused, naming both schema versions', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-schema-'));
    dirs.push(dir);
    openDatabase(dir).close();
    const db = new Database(path.join(dir, 'pictor.db'));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(() => openDatabase(dir), (error: unknown) => {
      assert.ok(error instanceof SchemaTooNewError);
      assert.equal(error.found, MIGRATIONS.length + 1);
      assert.equal(error.known, MIGRATIONS.length);
      return true;
    });
    await assert.rejects(spawnServer(['--data', dir, '--assets', dir]), (error: Error) => {
      assert.match(error.message, /^pictor exited early \(2\)/);
      assert.ok(error.message.includes(`schema is at version ${MIGRATIONS.length + 1}, newer than version ${MIGRATIONS.length}`), error.message);
      assert.match(error.message, new RegExp(`the store in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be used by Pictor`));
      assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace');
      return true;
    });
    const unchanged = new Database(path.join(dir, 'pictor.db'), { readonly: true });
    assert.equal(unchanged.pragma('user_version', { simple: true }), MIGRATIONS.length + 1, 'the recorded version is left as it was');
    unchanged.close();
  });
});
