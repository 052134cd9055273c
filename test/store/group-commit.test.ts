import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type Db } from '../../src/store/sqlite/db.ts';
import { GroupCommit, LAZY_COMMIT_MS } from '../../src/store/sqlite/group-commit.ts';

describe('GroupCommit', () => {
  let dir: string;
  let db: Db;
  const rows = (): number[] => (db.prepare('SELECT x FROM t ORDER BY x').all() as { x: number }[]).map((row) => row.x);
  const insert = (x: number) => () => void db.prepare('INSERT INTO t (x) VALUES (?)').run(x);
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-commit-'));
    db = openDatabase(dir);
    db.exec('CREATE TABLE t (x INTEGER)');
  });
  after(async () => {
    db.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('commits the writes of one turn of the event loop together, and resolves after the commit', async () => {
    db.exec('DELETE FROM t');
    const commits = new GroupCommit(db);
    const done = Promise.all([commits.commit(insert(1)), commits.commit(insert(2))]);
    assert.deepEqual(rows(), [], 'nothing is written before the turn ends');
    await done;
    assert.deepEqual(rows(), [1, 2]);
  });

  it('a lazy write waits for the next commit and rides along with it', async () => {
    db.exec('DELETE FROM t');
    const commits = new GroupCommit(db);
    const lazy = commits.commitSoon(insert(3));
    await turn();
    await turn();
    assert.deepEqual(rows(), [], 'a lazy write alone does not commit at once');
    await commits.commit(insert(4));
    assert.deepEqual(rows(), [3, 4], 'it joined the next commit');
    await lazy;
  });

  it('a lazy write with nothing to ride along with is committed on its own within the delay', async () => {
    db.exec('DELETE FROM t');
    const commits = new GroupCommit(db);
    const started = performance.now();
    await commits.commitSoon(insert(5));
    assert.deepEqual(rows(), [5]);
    assert.ok(performance.now() - started >= LAZY_COMMIT_MS - 5, 'it waited for company first');
  });

  it('rejects every write of a batch that failed, and commits none of them', async () => {
    db.exec('DELETE FROM t');
    const commits = new GroupCommit(db);
    const results = await Promise.allSettled([
      commits.commit(insert(6)),
      commits.commitSoon(() => {
        throw new Error('disk full');
      }),
    ]);
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    assert.deepEqual(rows(), []);
  });
});
