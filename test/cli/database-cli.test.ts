import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newSecretKey } from '../../src/store/secret-box.ts';
import { runCli } from '../helpers/cli.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/** Runs the CLI; resolves with its exit code and output. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env });

describe('the CLI with --database', () => {
  let postgres: TestPostgres;
  let url: string;
  let dataDir: string;
  const env = { PICTOR_SECRET_KEY: newSecretKey().toString('base64') };
  before(async () => {
    postgres = await startPostgres({ durable: false });
    url = await postgres.createDatabase('cli');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-db-cli-'));
  });
  after(async () => {
    await postgres?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('keys, sources and admin work on the shared database, as the servers resolve it (flag or PICTOR_DATABASE_URL)', async () => {
    const created = await cli(['keys', 'create', '--name', 'ops', '--permissions', 'purge', '--database', url, '--data', dataDir], env);
    assert.equal(created.code, 0, created.stderr);
    const listed = await cli(['keys', 'list', '--json', '--data', dataDir], { ...env, PICTOR_DATABASE_URL: url });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((key) => key.name), ['ops']);

    const add = await cli(['sources', 'add', '--name', 'web', '--type', 'webproxy', '--domain', 'img.example.org', '--database', url, '--data', dataDir], env);
    assert.equal(add.code, 0, add.stderr);
    const clash = await cli(['sources', 'add', '--name', 'other', '--type', 'webproxy', '--domain', 'img.example.org', '--database', url, '--data', dataDir], env);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /"img.example.org" is already a domain of the Source "web" .* \(--domain\)\./);
    const sources = await cli(['sources', 'list', '--json', '--database', url, '--data', dataDir], env);
    assert.deepEqual((JSON.parse(sources.stdout) as { attributes: { name: string } }[]).map((source) => source.attributes.name), ['web']);

    const password = await cli(['admin', 'set-password', '--password', 'a long enough passphrase', '--database', url, '--data', dataDir], env);
    assert.equal(password.code, 0, password.stderr);
    assert.match(password.stdout, /Created the dashboard account "admin"/);
  });

  it('refuses a wrong --database without echoing it, and a key rotation of one node', async () => {
    const wrong = await cli(['keys', 'list', '--database', 'mysql://user:hunter2@host/db', '--data', dataDir], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--database \(PICTOR_DATABASE_URL\) must be a PostgreSQL URL/);
    assert.ok(!wrong.stderr.includes('hunter2'));
    const rotate = await cli(['secrets', 'rotate', '--database', url, '--data', dataDir], {});
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /Rotate through PICTOR_SECRET_KEY on every node/);
  });

  it('a sources command with another key than the one the database records refuses, naming PICTOR_SECRET_KEY', async () => {
    const other = { PICTOR_SECRET_KEY: newSecretKey().toString('base64') };
    const secured = await cli(['sources', 'add', '--name', 'signed', '--type', 'webproxy', '--secure', '--database', url, '--data', dataDir], env);
    assert.equal(secured.code, 0, secured.stderr);
    // Its URL token is sealed with the first key: a command run with another key cannot open it, and says which key it needs.
    const listed = await cli(['sources', 'list', '--database', url, '--data', dataDir], other);
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, /PICTOR_SECRET_KEY/);
  });
});
