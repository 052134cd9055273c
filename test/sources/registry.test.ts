import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_DEPLOYMENT } from '../../src/store/source-record.ts';
import { SourceRegistry, type RegistryOptions } from '../../src/sources/registry.ts';
import { SourceService } from '../../src/sources/source-service.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { Stores } from '../../src/store/stores.ts';
import { bootstrap } from '../../src/bootstrap.ts';
import { eventually } from '../helpers/pictor.ts';

describe('SourceRegistry: changes', () => {
  let dataDir: string;
  let stores: Stores;
  let registry: SourceRegistry;
  let service: SourceService;
  /** Source id → Origins created for it. */
  let origins: Map<string, number>;

  beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-registry-'));
    stores = await openStores({ dataDir });
    origins = new Map();
    const options: RegistryOptions = {
      assetsDir: dataDir,
      folderRoots: [dataDir],
      publicUrl: undefined,
      maxInputBytes: 1024,
      outboundAllow: [],
      originTimeoutSeconds: 1,
      baseDomain: 'images.example.com',
      originInterceptor: (origin, source) => {
        origins.set(source.id, (origins.get(source.id) ?? 0) + 1);
        return origin;
      },
    };
    const { defaultSourceId } = await bootstrap(stores, { assetsDir: dataDir, publicUrl: undefined });
    registry = await SourceRegistry.open(stores.sources, options, defaultSourceId);
    service = new SourceService(stores.sources, { baseDomain: options.baseDomain, folderRoots: [dataDir], onChanged: (record) => registry.changed(record) });
  });
  afterEach(async () => {
    await registry.close();
    await stores.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const create = (name: string, deployment: Record<string, unknown>) => service.create({ name, deployment: { type: 'webproxy', ...deployment } });
  const served = (host: string) => registry.forHost(host).record.name;

  it('applies a change by this process to that Source alone, at once', async () => {
    const a = await create('a', { custom_domains: ['a.example.org'] });
    const b = await create('b', { imgix_subdomains: ['bee'] });
    assert.equal(served('A.example.org:443'), 'a');
    assert.equal(served('bee.images.example.com'), 'b');
    assert.equal(registry.forDomain('bee.images.example.com')?.record.id, b.id);
    assert.deepEqual([origins.get(a.id), origins.get(b.id)], [1, 1]);

    const generation = registry.generation;
    await service.update(a.id, { name: 'a renamed' });
    assert.equal(registry.generation, generation + 1);
    assert.equal(served('a.example.org'), 'a renamed');
    assert.equal(registry.get(a.id)?.record.name, 'a renamed');
    assert.deepEqual([origins.get(a.id), origins.get(b.id)], [1, 1], 'an unchanged deployment keeps its Origin');

    await service.update(a.id, { deployment: { custom_domains: ['a2.example.org'] } });
    assert.equal(origins.get(a.id), 2, 'a changed deployment gets a new Origin');
    assert.equal(served('a.example.org'), 'default', 'the old domain is let go');
    assert.equal(registry.forDomain('a.example.org'), undefined);
    assert.equal(served('a2.example.org'), 'a renamed');
    assert.equal(origins.get(b.id), 1);
  });

  it('reloads every Source within a second when another connection wrote', async () => {
    const a = await create('a', { custom_domains: ['a.example.org'] });
    assert.equal(served('else.example.org'), 'default');
    const other = await openStores({ dataDir });
    try {
      await new SourceService(other.sources, { folderRoots: [dataDir] }).create({ name: 'from elsewhere', deployment: { type: 'webproxy', custom_domains: ['else.example.org'] } });
      await new SourceService(other.sources, { folderRoots: [dataDir] }).update(a.id, { enabled: false });
    } finally {
      await other.close();
    }
    await eventually(() => served('else.example.org') === 'from elsewhere');
    assert.equal(registry.forHost('a.example.org').record.enabled, false);
  });

  it('an overlap from an older database: the newer Source serves the host, the older takes over when it lets go', async () => {
    const deployment = { ...DEFAULT_DEPLOYMENT, type: 'webproxy' as const, custom_domains: ['cdn.example.org'] };
    // Written past the uniqueness check, as databases from before it may hold.
    for (const [id, name, dateDeployed] of [['a'.repeat(24), 'older', 1_700_000_000], ['b'.repeat(24), 'newer', 1_700_000_001]] as const) {
      const record = { id, name, enabled: true, secureUrlToken: undefined, dateDeployed, deployment };
      await stores.sources.upsert(record);
      registry.changed(record);
    }
    assert.equal(served('cdn.example.org'), 'newer');
    await service.update('a'.repeat(24), { name: 'older, renamed' });
    assert.equal(served('cdn.example.org'), 'newer', 'a change to the older Source keeps the order');
    await service.update('b'.repeat(24), { deployment: { custom_domains: [] } });
    assert.equal(served('cdn.example.org'), 'older, renamed');
    assert.equal(registry.forDomain('cdn.example.org')?.record.id, 'a'.repeat(24));
  });
});
