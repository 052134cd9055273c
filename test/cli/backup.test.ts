/**
 * `pictor backup FILE`: a copy of the SQLite store taken while a server serves and accepts purges, restored
 * the way docs/production.md says (the backup as `pictor.db` of a new data directory, with the key file),
 * serves what the store held: Sources (with their encrypted secrets), API keys and purges.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const exec = promisify(execFile);
const cli = (args: string[]) => exec(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { env: { ...process.env, PICTOR_SECRET_KEY: '' } });

type Json = { data: { id: string; attributes: Record<string, any> } };

async function api(t: TestPictor, apiKey: string, method: string, route: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${t.adminUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Json };
}

const sourceDoc = (name: string, deployment: Record<string, unknown>) => ({ data: { type: 'sources', attributes: { name, deployment } } });

describe('pictor backup', () => {
  let work: string;
  let shared: string;
  let t: TestPictor;
  const started: TestPictor[] = [];
  before(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-backup-'));
    shared = path.join(work, 'photos');
    await fs.mkdir(shared);
    await fs.writeFile(path.join(shared, 'boat.jpg'), await solidImage(40, 30, [20, 90, 200]));
    t = await startPictor({ assets: { 'sunset.jpg': await solidImage(40, 30, [200, 90, 20]) }, options: { folderRoots: shared, purgeRateLimit: '10000' } });
    started.push(t);
  });
  after(async () => {
    for (const server of started) await server.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('copies the store while purges arrive; a new data directory made of the copy and the key file serves what it held', async () => {
    const photos = await api(t, t.apiKey, 'POST', '/api/v1/sources', sourceDoc('photos', { type: 'folder', folder_path: shared, custom_domains: ['photos.test'] }));
    assert.equal(photos.status, 201, JSON.stringify(photos.json));
    const proxy = await api(t, t.apiKey, 'POST', '/api/v1/sources', sourceDoc('proxy', { type: 'webproxy', secure_url_enabled: true }));
    assert.equal(proxy.status, 201, JSON.stringify(proxy.json));
    const token = proxy.json.data.attributes.secure_url_token as string;
    assert.match(token, /^[0-9a-f]{32}$/);
    const completedId = (await t.purge(`${t.renderUrl}/sunset.jpg`)).body.data!.id;
    await eventually(async () => (await t.purgeStatus(completedId)).status === 'completed');

    // Purges keep arriving while the backup runs; every one acknowledged before it started must be in it.
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) acknowledged.push((await t.purge(`${t.renderUrl}/before-${i}.jpg`)).body.data!.id);
    let stop = false;
    const during = (async () => {
      for (let i = 0; !stop; i++) assert.equal((await t.purge(`${t.renderUrl}/during-${i}.jpg`)).status, 200);
    })();
    const file = path.join(work, 'pictor-backup.db');
    const backup = await cli(['backup', file, '--data', t.dataDir]).finally(() => (stop = true));
    await during;
    assert.match(backup.stdout, /^Backed up .*pictor\.db to .*pictor-backup\.db \(\d+ bytes; integrity checked\)\.$/m);
    assert.match(backup.stdout, /open only with the key [0-9a-f]+, from .*secret\.key/);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600, 'the backup is its owner\'s only, like the store');

    const restoredDir = path.join(work, 'restored');
    await fs.mkdir(restoredDir, { mode: 0o700 });
    await fs.copyFile(file, path.join(restoredDir, 'pictor.db'));
    await fs.copyFile(path.join(t.dataDir, 'secret.key'), path.join(restoredDir, 'secret.key'));
    const restored = await startPictor({ dataDir: restoredDir, assets: { 'sunset.jpg': await solidImage(40, 30, [200, 90, 20]) }, options: { folderRoots: shared } });
    started.push(restored);
    assert.equal(restored.apiKey, '', 'not a first start: no new admin key');

    assert.equal((await rawGet(restored.renderPort, '/boat.jpg?w=20', { host: 'photos.test' })).status, 200, 'the Source made before the backup serves');
    assert.equal((await rawGet(restored.renderPort, '/sunset.jpg?w=20')).status, 200);
    const proxyAfter = await api(restored, t.apiKey, 'GET', `/api/v1/sources/${proxy.json.data.id}`);
    assert.equal(proxyAfter.status, 200, 'the API key made before the backup is accepted');
    assert.equal(proxyAfter.json.data.attributes.secure_url_token, token, 'the encrypted secret opens with the restored key file');
    const purged = await api(restored, t.apiKey, 'GET', `/api/v1/purges/${completedId}`);
    assert.equal(purged.json.data.attributes.status, 'completed');
    for (const id of acknowledged) {
      const found = await api(restored, t.apiKey, 'GET', `/api/v1/purges/${id}`);
      assert.equal(found.status, 200, `purge ${id}, acknowledged before the backup, is in it`);
    }
    const purgeAgain = await api(restored, t.apiKey, 'POST', '/api/v1/purge', { data: { type: 'purges', attributes: { url: `${restored.renderUrl}/sunset.jpg` } } });
    assert.equal(purgeAgain.status, 200, 'the restored server accepts purges');
  });

  it('a copy restored without its key file does not start, and names the key it needs', async () => {
    const file = path.join(work, 'keyless.db');
    await cli(['backup', file, '--data', t.dataDir]);
    const keyless = path.join(work, 'keyless');
    await fs.mkdir(keyless, { mode: 0o700 });
    await fs.copyFile(file, path.join(keyless, 'pictor.db'));
    const keyId = /with the key ([0-9a-f]+)/.exec((await cli(['backup', path.join(work, 'again.db'), '--data', t.dataDir])).stdout)![1]!;
    const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data', keyless, '--assets', t.assetsDir];
    const refused = await cli(serve).then(
      () => assert.fail('a server started without the key'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 2, 'exit status 2, which the systemd unit does not restart');
    assert.ok(refused.stderr.includes(keyId), refused.stderr);
    assert.match(refused.stderr, /secret\.key is missing/);
  });

  it('refuses a PostgreSQL store, a missing store, a missing folder and the store\'s own files, writing nothing', async () => {
    const refused = async (args: string[], code: number, message: RegExp) => {
      const failure = await cli(args).then(
        () => assert.fail(`pictor ${args.join(' ')} succeeded`),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      assert.equal(failure.code, code, failure.stderr);
      assert.match(failure.stderr, message);
      assert.equal(failure.stdout, '');
    };
    await refused(['backup', path.join(work, 'pg.db'), '--database', 'postgres://pictor@127.0.0.1:1/pictor'], 1, /PostgreSQL's own tools/);
    await refused(['backup', path.join(work, 'none.db'), '--data', path.join(work, 'empty')], 2, /no Pictor store/);
    await refused(['backup', path.join(work, 'nowhere', 'x.db'), '--data', t.dataDir], 1, /folder .*nowhere does not exist/);
    await refused(['backup', path.join(t.dataDir, 'pictor.db-wal'), '--data', t.dataDir], 1, /is the store itself or one of its files/);
    for (const name of ['pg.db', 'none.db']) await assert.rejects(fs.stat(path.join(work, name)));
    assert.deepEqual((await fs.readdir(work)).filter((name) => name.endsWith('.partial')), []);
  });
});
