import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DashboardClient } from '../dashboard/http-client.ts';
import { runCli } from '../helpers/cli.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { spawnServer } from '../helpers/process.ts';

/** Runs the CLI with some standard input; resolves with its exit code and output. */
const cli = (args: string[], input = '') => runCli(args, { input });

describe('pictor admin set-password', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor();
  });
  after(() => t.stop());

  it('changes the password of a running server’s data directory (read from standard input), signs its sessions out and forgets its browsers', async () => {
    const client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
    assert.equal((await client.get('/dashboard/tools')).status, 200);

    const changed = await cli(['admin', 'set-password', '--data', t.dataDir], 'a brand new passphrase\n');
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /The dashboard password of "admin" is changed\. 1 dashboard session was signed out\. 1 browser is no longer trusted\./);
    assert.ok(!changed.stdout.includes('a brand new passphrase'));

    assert.equal((await client.get('/dashboard/tools')).status, 303, 'the old session is gone');
    const fresh = new DashboardClient(t.adminUrl);
    assert.equal((await fresh.signIn('admin', t.adminPassword)).status, 401, 'the old password no longer works');
    assert.equal((await fresh.signIn('admin', 'a brand new passphrase')).status, 303);
  });

  it('takes --password, refuses a short one with a clear message, and creates the account on a fresh data directory', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-admin-cli-'));
    try {
      const short = await cli(['admin', 'set-password', '--data', dir, '--password', 'short']);
      assert.equal(short.code, 1);
      assert.match(short.stderr, /pictor: The password must have at least 12 characters\./);
      const created = await cli(['admin', 'set-password', '--data', dir, '--password', 'twelve chars!']);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /Created the dashboard account "admin"/);
      const database = await fs.readFile(path.join(dir, 'pictor.db'));
      assert.ok(!database.includes(Buffer.from('twelve chars!')), 'only a hash is stored');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('pictor serve prints the dashboard URL, and the admin password next to the first API key, once', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-serve-banner-'));
    try {
      const args = ['--data', path.join(dir, 'data'), '--assets', dir];
      const first = await spawnServer(args);
      let password: string | undefined;
      try {
        assert.match(first.output(), /Dashboard: +http:\/\/127\.0\.0\.1:\d+\/dashboard\//);
        password = /Dashboard password: (\S+)/.exec(first.output())?.[1];
        assert.match(password ?? '', /^.{20,}$/);
        assert.ok(first.output().indexOf('API key:') < first.output().indexOf('Dashboard password:'));
        assert.equal((await new DashboardClient(first.adminUrl).signIn('admin', password!)).status, 303);
      } finally {
        first.child.kill('SIGTERM');
        await first.exited;
      }
      const second = await spawnServer(args);
      second.child.kill('SIGTERM');
      await second.exited;
      assert.doesNotMatch(second.output(), /Dashboard password/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
