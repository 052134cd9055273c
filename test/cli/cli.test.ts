import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as pictor from '../helpers/cli.ts';
import { solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => pictor.cli(args, { env });

describe('pictor keys', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-keys-'));
  });
  after(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('creates a key (printed last), lists it without the key, revokes it', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci', '--permissions', 'purge,sources', '--data', dataDir]);
    const key = created.stdout.trim().split('\n').at(-1)!;
    assert.match(key, /^ak_[0-9a-f]{64}$/);

    const listed = await cli(['keys', 'list', '--json', '--data', dataDir]);
    const keys = JSON.parse(listed.stdout) as { id: string; name: string; permissions: string[] }[];
    assert.equal(keys.length, 1);
    assert.deepEqual(keys[0]!.permissions, ['purge', 'sources']);
    assert.ok(!listed.stdout.includes(key), 'the key itself is never listed');
    const database = await fs.readFile(path.join(dataDir, 'pictor.db'));
    assert.ok(!database.includes(Buffer.from(key)), 'only a hash is stored');

    await cli(['keys', 'revoke', keys[0]!.id, '--data', dataDir]);
    const after = JSON.parse((await cli(['keys', 'list', '--json', '--data', dataDir])).stdout) as { revokedAt?: string }[];
    assert.ok(after[0]!.revokedAt);
  });

  it('refuses an unknown permission with a clear message', async () => {
    await assert.rejects(cli(['keys', 'create', '--name', 'x', '--permissions', 'purge,everything', '--data', dataDir]), /unknown permission "everything"/);
  });
});

describe('pictor serve configuration errors', () => {
  it('fails at start naming the setting', async () => {
    await assert.rejects(cli(['serve', '--port', 'eighty']), (error: { stderr: string; code: number }) => {
      assert.match(error.stderr, /--port \(PICTOR_PORT\)/);
      assert.equal(error.code, 2);
      return true;
    });
    await assert.rejects(cli(['serve'], { PICTOR_ADMIN_PORT: '-1' }), /--admin-port/);
  });
});

describe('pictor purge', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(10, 10, [1, 1, 1]) }, options: { purgeRateLimit: '1000' } });
  });
  after(() => t.stop());

  it('purges URLs and a file of URLs through the API, and --wait prints each result', async () => {
    const list = path.join(t.dataDir, 'urls.txt');
    await fs.writeFile(list, `# assets to purge\n${t.renderUrl}/b.jpg\n${t.renderUrl}/c.jpg\n`);
    const { stdout } = await cli(['purge', `${t.renderUrl}/a.jpg`, '--file', list, '--api', t.adminUrl, '--wait'], { PICTOR_API_KEY: t.apiKey });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^completed\s/);
    assert.match(lines[0]!, /origin=unchanged/);
    assert.match(lines[1]!, /origin=removed/);
  });

  it('exits non-zero when the API refuses', async () => {
    await assert.rejects(cli(['purge', 'https://not-ours.example/a.jpg', '--api', t.adminUrl, '--key', t.apiKey]), (error: { stdout: string }) => {
      assert.match(error.stdout, /not a domain of any Source/);
      return true;
    });
    await assert.rejects(cli(['purge', `${t.renderUrl}/a.jpg`, '--api', t.adminUrl], { PICTOR_API_KEY: '' }), /API key is needed/);
  });

  it('--tag purges every asset carrying the tag, --source limits it to one Source, --wait prints how many', async () => {
    const auth = { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' };
    const assets = `${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/assets`;
    assert.equal((await fetch(`${assets}/add/a.jpg`, { method: 'POST', headers: { authorization: auth.authorization } })).ok, true);
    const tags = JSON.stringify({ data: { type: 'assets', attributes: { tags: ['spring sale'] } } });
    assert.equal((await fetch(`${assets}/a.jpg`, { method: 'PATCH', headers: auth, body: tags })).status, 200);

    const env = { PICTOR_API_KEY: t.apiKey };
    const { stdout } = await cli(['purge', '--tag', 'spring sale', '--tag', 'autumn', '--source', t.defaultSourceId, '--api', t.adminUrl, '--wait'], env);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^completed\s+tag "spring sale"\s+id=[0-9a-f-]{36}\s+assets=1\s/);
    assert.match(lines[1]!, /^completed\s+tag "autumn"\s+id=[0-9a-f-]{36}\s+assets=0\s/);
    await assert.rejects(cli(['purge', '--tag', 'x', '--source', 'f'.repeat(24), '--api', t.adminUrl], env), (error: { stdout: string }) => {
      assert.match(error.stdout, /No Source has the id/);
      return true;
    });
    await assert.rejects(cli(['purge', `${t.renderUrl}/a.jpg`, '--tag', 'x', '--api', t.adminUrl], env), /URLs or --tag, not both/);
    await assert.rejects(cli(['purge', '--tag', 'x', '--prefix', '--api', t.adminUrl], env), /--prefix goes with URLs/);
    await assert.rejects(cli(['purge', `${t.renderUrl}/a.jpg`, '--source', t.defaultSourceId, '--api', t.adminUrl], env), /--source goes with --tag/);
  });
});
