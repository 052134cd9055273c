import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';

/** Runs the CLI from `cwd` (as a user in another directory would), without the store variables of this shell. */
const cli = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { cwd, env: { PICTOR_DATA_DIR: undefined, PICTOR_DATABASE_URL: undefined, ...env } });

describe('the CLI says which store it uses, and read-only commands never make a new one', () => {
  let t: TestPictor;
  let elsewhere: string;
  before(async () => {
    t = await startPictor();
    elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-elsewhere-'));
  });
  after(async () => {
    await t.stop();
    await fs.rm(elsewhere, { recursive: true, force: true });
  });

  for (const args of [['keys', 'list'], ['keys', 'list', '--json'], ['sources', 'list'], ['edges', 'list', '--json']]) {
    it(`\`pictor ${args.join(' ')}\` from another directory: exit 2, names the directory and how to give the right one, creates nothing`, async () => {
      const result = await cli(args, elsewhere);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '', 'no empty table that looks like an answer');
      assert.ok(result.stderr.includes(path.join(elsewhere, '.pictor')), result.stderr);
      assert.match(result.stderr, /--data/);
      assert.match(result.stderr, /PICTOR_DATA_DIR/);
      assert.deepEqual(await fs.readdir(elsewhere), [], 'no .pictor/ was created');
    });
  }

  it('with the server’s data directory (--data or PICTOR_DATA_DIR): the store on stderr, stdout stays JSON', async () => {
    const file = path.join(t.dataDir, 'pictor.db');
    const byFlag = await cli(['keys', 'list', '--json', '--data', t.dataDir], elsewhere);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.equal(byFlag.stderr, `Store: SQLite at ${file}\n`);
    assert.ok((JSON.parse(byFlag.stdout) as unknown[]).length >= 1, 'the server’s first key is listed');

    const byEnv = await cli(['sources', 'list', '--json'], elsewhere, { PICTOR_DATA_DIR: t.dataDir });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(byEnv.stderr, `Store: SQLite at ${file}\n`);
    assert.ok(Array.isArray(JSON.parse(byEnv.stdout)));

    const edges = await cli(['edges', 'list', '--json', '--data', t.dataDir], elsewhere);
    assert.equal(edges.code, 0, edges.stderr);
    assert.equal(edges.stderr, `Store: SQLite at ${file}\n`);
    assert.deepEqual(JSON.parse(edges.stdout), []);
  });

  it('commands that write say where, so a key made in the wrong place is noticed at once', async () => {
    const fresh = path.join(elsewhere, 'new-data');
    const created = await cli(['keys', 'create', '--name', 'ci', '--permissions', 'purge', '--data', fresh], elsewhere);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, `Store: SQLite at ${path.join(fresh, 'pictor.db')}\n`);
    assert.match(created.stdout, /Created API key/);

    const rotated = await cli(['secrets', 'rotate', '--data', fresh], elsewhere);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stderr, new RegExp(`^Store: SQLite at ${path.join(fresh, 'pictor.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));

    const password = await cli(['admin', 'set-password', '--password', 'a long enough passphrase', '--data', fresh], elsewhere);
    assert.equal(password.code, 0, password.stderr);
    assert.equal(password.stderr, `Store: SQLite at ${path.join(fresh, 'pictor.db')}\n`);
    await fs.rm(fresh, { recursive: true, force: true });
  });
});
