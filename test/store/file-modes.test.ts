import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { solidImage } from '../helpers/pictor.ts';
import { spawnServer } from '../helpers/process.ts';

/** Runs a command line under umask 022, the usual default, which leaves new files readable by everyone. */
const usualUmask = (argv: string[]) => ['sh', '-c', 'umask 022 && exec "$@"', 'sh', ...argv];

async function modeOf(file: string): Promise<string> {
  return ((await fs.stat(file)).mode & 0o777).toString(8);
}

const cli = (args: string[]) => runCli(args, { command: usualUmask });

describe('the data directory is readable by its owner only', () => {
  let root: string;
  let assets: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-modes-'));
    await fs.chmod(root, 0o755);
    assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(20, 20, [1, 2, 3]));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it('a server creates it 0700, its store (pictor.db, -wal, -shm) and key file 0600, and tightens a store left readable by others', async (t) => {
    const dataDir = path.join(root, 'served', 'data');
    const start = () => spawnServer(['--data', dataDir, '--assets', assets], {}, usualUmask);
    let server = await start();
    t.after(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await server.exited;
    });
    assert.equal((await fetch(`${server.renderUrl}/photo.jpg?w=10`)).status, 200);
    assert.equal(await modeOf(dataDir), '700');
    for (const file of ['pictor.db', 'pictor.db-wal', 'pictor.db-shm', 'secret.key']) assert.equal(await modeOf(path.join(dataDir, file)), '600', file);

    // A store made readable by others (as one made before this rule was) is tightened at the next start.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    await fs.chmod(path.join(dataDir, 'pictor.db'), 0o644);
    server = await start();
    for (const file of ['pictor.db', 'pictor.db-wal', 'pictor.db-shm']) assert.equal(await modeOf(path.join(dataDir, file)), '600', file);
  });

  it('a CLI command on a new data directory creates it 0700 and its store 0600', async () => {
    const dataDir = path.join(root, 'cli', 'data');
    const made = await cli(['keys', 'create', '--data', dataDir, '--name', 'ci', '--permissions', 'purge']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await modeOf(dataDir), '700');
    assert.equal(await modeOf(path.join(dataDir, 'pictor.db')), '600');
  });
});
