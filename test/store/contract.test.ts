import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ApiKeys } from '../../src/auth/api-keys.ts';
import { bootstrap } from '../../src/bootstrap.ts';
import { AdminAccounts } from '../../src/dashboard/accounts.ts';
import { createFirstCredentials } from '../../src/first-start.ts';
import { DEFAULT_DEPLOYMENT, type SourceRecord } from '../../src/store/source-record.ts';
import { newSecretKey, SecretKeyError } from '../../src/store/secret-box.ts';
import type { DomainClaim } from '../../src/store/stores.ts';
import { eventually } from '../helpers/pictor.ts';
import { storeBackends } from '../helpers/store-backends.ts';

/**
 * One contract, two implementations: every case runs against SQLite (a temporary data directory) and against
 * PostgreSQL (a database of its own on one server for this file). `open` gives another handle on the same
 * state: a second process on the SQLite file, a second node's pool on the PostgreSQL database.
 */
const BACKENDS = storeBackends('contract');

const directories: string[] = [];
after(() => Promise.all(directories.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-contract-'));
  directories.push(dir);
  return dir;
}

let sequence = 0;
function record(name: string, deployment: Partial<SourceRecord['deployment']> = {}, dateDeployed = 1_700_000_000): SourceRecord {
  return {
    id: (++sequence).toString(16).padStart(24, '0'),
    name,
    enabled: true,
    secureUrlToken: undefined,
    dateDeployed,
    deployment: { ...DEFAULT_DEPLOYMENT, type: 'webproxy', ...deployment },
  };
}

const conflict = (host: string): DomainClaim => ({ host, refuse: (owner) => new Error(`${host} belongs to ${owner.name}`) });

for (const backend of BACKENDS) {
  describe(`stores contract: ${backend.name}`, () => {
    it('describes where it is, never with a password', async () => {
      const { open, dataDir } = await backend.fresh();
      const stores = await open();
      if (backend.name === 'SQLite') assert.equal(stores.describe, `SQLite at ${path.join(dataDir, 'pictor.db')}`);
      else assert.match(stores.describe, /^PostgreSQL at 127\.0\.0\.1:\d+\/contract_\d+$/);
    });

    it('meta: absent, set, replaced', async () => {
      const { meta } = await (await backend.fresh()).open();
      assert.equal(await meta.get('k'), undefined);
      await meta.set('k', 'one');
      await meta.set('k', 'one');
      assert.equal(await meta.get('k'), 'one');
      await meta.set('k', 'two');
      assert.equal(await meta.get('k'), 'two');
    });

    it('Sources: written and read back whole, secrets sealed at rest, listed with filters, orders and pages', async () => {
      const { sources } = await (await backend.fresh()).open();
      const s3 = record('Bucket', { type: 's3', s3_bucket: 'b', s3_secret_key: 'TOP-SECRET', region: 'eu', custom_domains: ['Img.Example.org'], imgix_subdomains: ['Shop'] }, 1_700_000_002);
      const web = { ...record('alpha 10', { custom_domains: ['web.example.org'] }, 1_700_000_001), secureUrlToken: 'token-1', enabled: false };
      const other = record('Alpha 9', {}, 1_700_000_003);
      for (const each of [s3, web, other]) await sources.upsert(each);
      assert.deepEqual(await sources.get(s3.id), s3);
      assert.deepEqual(await sources.get(web.id), web);
      assert.equal(await sources.get('f'.repeat(24)), undefined);
      assert.deepEqual((await sources.all()).map((each) => each.id), [web.id, s3.id, other.id], 'creation order (a Source is created at its first deployment)');

      const names = async (listing: Parameters<typeof sources.list>[0]) => (await sources.list(listing)).records.map((each) => each.name);
      assert.deepEqual(await names({ filters: [], sort: [{ field: 'name', descending: false }] }), ['Alpha 9', 'alpha 10', 'Bucket']);
      assert.deepEqual(await names({ filters: [], sort: [{ field: 'date_deployed', descending: true }] }), ['Alpha 9', 'Bucket', 'alpha 10']);
      assert.deepEqual(await names({ filters: [{ field: 'enabled', value: 'false' }], sort: [] }), ['alpha 10']);
      assert.deepEqual(await names({ filters: [{ field: 'deployment.custom_domains', value: 'img.example.org' }], sort: [] }), ['Bucket']);
      assert.deepEqual(await names({ filters: [{ field: 'deployment.imgix_subdomains', value: 'shop' }], sort: [] }), ['Bucket']);
      assert.deepEqual(await names({ filters: [{ field: 'deployment.region', value: 'eu' }, { field: 'deployment.type', value: 's3' }], sort: [] }), ['Bucket']);
      const page = await sources.list({ filters: [], sort: [{ field: 'name', descending: true }], page: { offset: 1, limit: 1 } });
      assert.deepEqual([page.records.map((each) => each.name), page.total], [['alpha 10'], 3]);
      const plain = await sources.list({ filters: [], sort: [], page: { offset: 2, limit: 5 } });
      assert.deepEqual([plain.records.map((each) => each.name), plain.total], [['Alpha 9'], 3]);
      assert.deepEqual(await sources.domainOwner({ host: 'img.example.org' }, other.id), { id: s3.id, name: 'Bucket' });
      assert.deepEqual(await sources.domainOwner({ label: 'shop' }, other.id), { id: s3.id, name: 'Bucket' });
      assert.equal(await sources.domainOwner({ host: 'img.example.org' }, s3.id), undefined, 'a Source does not clash with itself');
    });

    it('Sources: a key that cannot open the stored secrets stops the open, naming PICTOR_SECRET_KEY', async () => {
      const { open } = await backend.fresh();
      const stores = await open();
      await stores.sources.upsert(record('sealed', { type: 's3', s3_bucket: 'b', s3_secret_key: 'TOP-SECRET' }));
      await stores.sources.sealAll();
      await assert.rejects(
        async () => {
          const other = await open([newSecretKey()]);
          await other.sources.sealAll();
        },
        (error: unknown) => error instanceof SecretKeyError && /PICTOR_SECRET_KEY/.test(error.message),
      );
    });

    it('saveChecked: a claimed domain is refused naming its owner and nothing is written; `build` sees the stored record', async () => {
      const { sources } = await (await backend.fresh()).open();
      const owner = record('owner', { custom_domains: ['taken.example.org'] });
      await sources.upsert(owner);
      const late = record('late');
      await assert.rejects(sources.saveChecked(late.id, () => ({ record: late, claims: [conflict('taken.example.org')] })), /taken.example.org belongs to owner/);
      assert.equal(await sources.get(late.id), undefined);
      await assert.rejects(
        sources.saveChecked(late.id, () => {
          throw new Error('refused by build');
        }),
        /refused by build/,
      );
      const saved = await sources.saveChecked(owner.id, (current) => {
        assert.deepEqual(current, owner);
        return { record: { ...current!, name: 'renamed' }, claims: [conflict('taken.example.org')] };
      });
      assert.equal(saved.name, 'renamed');
      assert.equal((await sources.get(owner.id))?.name, 'renamed');
    });

    it('saveChecked: two writers claiming the same domain at once, from two connections: exactly one wins', async () => {
      const { open } = await backend.fresh();
      const [first, second] = [await open(), await open()];
      for (let round = 0; round < 5; round++) {
        const host = `race-${round}.example.org`;
        const a = record(`a${round}`, { custom_domains: [host] });
        const b = record(`b${round}`, { custom_domains: [host] });
        const results = await Promise.allSettled([
          first.sources.saveChecked(a.id, () => ({ record: a, claims: [conflict(host)] })),
          second.sources.saveChecked(b.id, () => ({ record: b, claims: [conflict(host)] })),
        ]);
        assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1, JSON.stringify(results));
        const owners = (await first.sources.list({ filters: [{ field: 'deployment.custom_domains', value: host }], sort: [] })).total;
        assert.equal(owners, 1);
      }
    });

    it('watch: a Source written by another connection is reported, then no longer after the watch stops', async () => {
      const { open } = await backend.fresh();
      const [watched, writer] = [await open(), await open()];
      const changes: (string | undefined)[] = [];
      const stop = await watched.sources.watch((id) => changes.push(id));
      const written = record('elsewhere');
      await writer.sources.upsert(written);
      await eventually(() => changes.length > 0);
      // SQLite cannot say which Source changed (undefined: read them all); PostgreSQL names it.
      assert.ok(changes.every((id) => id === undefined || id === written.id), JSON.stringify(changes));
      await stop();
      const count = changes.length;
      await writer.sources.upsert(record('unseen'));
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(changes.length, count);
    });

    it('API keys: inserted, found by hash while active, listed, touched, revoked once', async () => {
      const { apiKeys } = await (await backend.fresh()).open();
      await apiKeys.insert({ id: 'k1', name: 'one', key_hash: 'aa'.repeat(32), permissions: 'purge', created_at: 1_000 });
      await apiKeys.insert({ id: 'k2', name: 'two', key_hash: 'bb'.repeat(32), permissions: 'admin', created_at: 2_000 });
      await assert.rejects(apiKeys.insert({ id: 'k3', name: 'dup', key_hash: 'aa'.repeat(32), permissions: 'purge', created_at: 3_000 }));
      assert.deepEqual(await apiKeys.findActiveByHash('aa'.repeat(32)), { id: 'k1', name: 'one', key_hash: 'aa'.repeat(32), permissions: 'purge', created_at: 1_000, last_used_at: null, revoked_at: null });
      await apiKeys.touch('k1', 5_000);
      assert.equal((await apiKeys.findActiveByHash('aa'.repeat(32)))?.last_used_at, 5_000);
      assert.equal(await apiKeys.revoke('k1', 6_000), true);
      assert.equal(await apiKeys.revoke('k1', 7_000), false);
      assert.equal(await apiKeys.findActiveByHash('aa'.repeat(32)), undefined);
      assert.deepEqual((await apiKeys.list()).map((row) => [row.id, row.revoked_at]), [['k1', 6_000], ['k2', null]]);
    });

    it('accounts, sessions and devices: created once, expired, limited per account, ended with a new password', async () => {
      const { accounts, sessions, devices } = await (await backend.fresh()).open();
      assert.equal(await accounts.exists('admin'), false);
      assert.equal(await accounts.createIfMissing('admin', 'hash-1', 1_000), true);
      assert.equal(await accounts.createIfMissing('admin', 'hash-2', 1_000), false);
      assert.equal(await accounts.passwordHash('admin'), 'hash-1');
      assert.equal(await accounts.passwordHash('nobody'), undefined);

      const session = (id: string, at: number) => ({ id_hash: id, username: 'admin', csrf_token: `csrf-${id}`, created_at: at, expires_at: at + 100 });
      await sessions.create(session('s1', 1_000));
      assert.deepEqual(await sessions.find('s1'), session('s1', 1_000));
      await sessions.create(session('s2', 1_100));
      assert.equal(await sessions.find('s1'), undefined, 'expired sessions are dropped when one is made');
      await sessions.delete('s2');
      assert.equal(await sessions.find('s2'), undefined);
      await sessions.create(session('s3', 2_000));

      const device = (id: string, at: number) => ({ id_hash: id, username: 'admin', signed_in_at: at, expires_at: at + 1_000 });
      for (let i = 0; i < 5; i++) await devices.insert(device(`d${i}`, 2_000 + i), { replaces: undefined, keepPerAccount: 3 });
      assert.equal(await devices.find('d1'), undefined, 'the oldest beyond the limit are dropped');
      assert.deepEqual(await devices.find('d4'), device('d4', 2_004));
      await devices.insert(device('d5', 2_005), { replaces: 'd4', keepPerAccount: 3 });
      assert.equal(await devices.find('d4'), undefined, 'replaced');
      await devices.insert(device('d6', 3_003), { replaces: undefined, keepPerAccount: 3 });
      assert.equal(await devices.find('d3'), undefined, 'expired devices are dropped when one is added');
      assert.ok(await devices.find('d5'));

      assert.deepEqual(await accounts.setPassword('admin', 'hash-3', 4_000), { created: false, sessionsEnded: 1, devicesForgotten: 2 });
      assert.equal(await accounts.passwordHash('admin'), 'hash-3');
      assert.equal(await sessions.find('s3'), undefined);
      assert.deepEqual(await accounts.setPassword('editor', 'hash-4', 4_000), { created: true, sessionsEnded: 0, devicesForgotten: 0 });
      await devices.insert({ ...device('e1', 4_000), username: 'editor' }, { replaces: undefined, keepPerAccount: 3 });
      assert.equal(await devices.deleteForAccount('editor'), 1);
    });

    it('rate limit: a burst, then a wait in whole seconds; callers and limiters apart', async () => {
      const stores = await (await backend.fresh()).open();
      const limiter = stores.rateLimiter('purge', 0.01, 3);
      assert.deepEqual([await limiter.take('k'), await limiter.take('k'), await limiter.take('k')], [0, 0, 0]);
      const wait = await limiter.take('k');
      assert.ok(wait >= 1 && wait <= 100, String(wait));
      assert.equal(await limiter.take('other'), 0, 'another caller has its own bucket');
      assert.equal(await stores.rateLimiter('sign-in', 0.01, 3).take('k'), 0, 'another limiter too');
    });

    it('bootstrap: the default Source, created once and kept in step; no key and no account before the node listens', async () => {
      const { open } = await backend.fresh();
      const stores = await open();
      const assetsDir = await tempDir();
      const first = await bootstrap(stores, { assetsDir, publicUrl: new URL('https://img.example.com') });
      const again = await bootstrap(stores, { assetsDir, publicUrl: new URL('https://img.example.com') });
      assert.deepEqual(again, first);
      const source = await stores.sources.get(first.defaultSourceId);
      assert.deepEqual([source?.deployment.folder_path, source?.deployment.custom_domains.includes('img.example.com')], [assetsDir, true]);
      assert.equal((await stores.apiKeys.list()).length, 0);
      assert.equal(await stores.accounts.exists('admin'), false);
    });

    it('first start: one admin key and one password, created once and given back once; later starts get none', async () => {
      const stores = await (await backend.fresh()).open();
      const first = await createFirstCredentials(stores);
      assert.match(first.apiKey ?? '', /^ak_[0-9a-f]{64}$/);
      assert.ok(first.adminPassword);
      assert.deepEqual(await createFirstCredentials(stores), { apiKey: undefined, adminPassword: undefined });
      const keys = new ApiKeys(stores.apiKeys);
      assert.deepEqual((await keys.verify(first.apiKey))?.permissions, ['admin']);
      assert.equal(await new AdminAccounts(stores.accounts).verify('admin', first.adminPassword), true);
      assert.equal((await stores.apiKeys.list()).length, 1);
    });
  });
}

describe('stores contract: PostgreSQL across nodes', () => {
  it('rate limit: two pools sharing a database spend one bucket', async () => {
    const { open } = await BACKENDS[1].fresh();
    const [a, b] = [(await open()).rateLimiter('purge', 0.01, 4), (await open()).rateLimiter('purge', 0.01, 4)];
    const taken = await Promise.all([a.take('key'), b.take('key'), a.take('key'), b.take('key')]);
    assert.deepEqual(taken, [0, 0, 0, 0]);
    assert.ok((await a.take('key')) > 0, 'the fifth call, on either node, waits');
    assert.ok((await b.take('key')) > 0);
  });

  it('bootstrap: three nodes starting at once on an empty database create exactly one default Source, key and password', async () => {
    const { open } = await BACKENDS[1].fresh();
    const nodes = await Promise.all([open(), open(), open()]);
    const assetsDir = await tempDir();
    const results = await Promise.all(nodes.map((stores) => bootstrap(stores, { assetsDir, publicUrl: undefined })));
    assert.equal(new Set(results.map((result) => result.defaultSourceId)).size, 1);
    const shown = await Promise.all(nodes.map((stores) => createFirstCredentials(stores)));
    assert.equal(shown.filter((result) => result.apiKey !== undefined).length, 1, 'one node got the key to print');
    assert.equal(shown.filter((result) => result.adminPassword !== undefined).length, 1, 'one node got the password');
    assert.equal((await nodes[0]!.sources.all()).length, 1);
    assert.equal((await nodes[0]!.apiKeys.list()).length, 1);
  });

  it('a second node whose secret key differs stops at start, naming PICTOR_SECRET_KEY', async () => {
    const { open } = await BACKENDS[1].fresh();
    const first = await open();
    await first.sources.sealAll();
    await assert.rejects(open([newSecretKey()]), (error: unknown) => error instanceof SecretKeyError && /set PICTOR_SECRET_KEY to it on every node/.test(error.message));
  });

  it('watch: after the server restarts, the watcher reconnects, asks for everything again, and sees later writes', async () => {
    const { open } = await BACKENDS[1].fresh();
    const watched = await open();
    const changes: (string | undefined)[] = [];
    const stop = await watched.sources.watch((id) => changes.push(id));
    await BACKENDS[1].restartServer!();
    await eventually(() => changes.includes(undefined), 10_000);
    const writer = await open();
    const written = record('after restart');
    await writer.sources.upsert(written);
    await eventually(() => changes.includes(written.id), 10_000);
    await stop();
  });
});
