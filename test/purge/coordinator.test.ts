import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrap } from '../../src/bootstrap.ts';
import { assetRef } from '../../src/cache/freshness.ts';
import { nodeMembership, type Membership } from '../../src/cluster/membership.ts';
import { PurgeCoordinator, type CoordinatorPhases, type EdgeStep } from '../../src/purge/coordinator.ts';
import { PurgeLedger } from '../../src/purge/ledger.ts';
import { VerdictStep } from '../../src/purge/verdict.ts';
import { SourceRegistry } from '../../src/sources/registry.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { Stores } from '../../src/store/stores.ts';
import { eventually } from '../helpers/pictor.ts';

/**
 * The purge pipeline of one node on a real SQLite store: accept → log → nodes → edges → completed. The
 * origin and the edges are not part of it here: the verdict asks nothing, and there are no edges.
 */
describe('PurgeCoordinator on one node', () => {
  let dir: string;
  let stores: Stores;
  let sources: SourceRegistry;
  let ledger: PurgeLedger;
  let membership: Membership;
  let purges: PurgeCoordinator;
  let sourceId: string;
  let phases: CoordinatorPhases;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-coordinator-'));
    stores = await openStores({ dataDir: dir });
    const registry = { assetsDir: dir, folderRoots: [dir], publicUrl: undefined, maxInputBytes: 1e6, outboundAllow: [], originTimeoutSeconds: 5 };
    sourceId = (await bootstrap(stores, registry)).defaultSourceId;
    sources = await SourceRegistry.open(stores.sources, registry, sourceId);
    ledger = await PurgeLedger.open(stores.purgeLog);
    membership = nodeMembership(stores.nodes, ledger, { leaseSeconds: 10, serveWhenIsolated: false });
    phases = {
      matched: () => 0,
      tagged: async () => [],
      verdict: new VerdictStep(async () => undefined, []),
      nodes: membership.nodes,
      edges: {
        propagate: async () => ({ settled: true, failed: false, wakeAt: 0, report: { purged: [], out_of_rotation: [] }, states: [] }),
        statesOf: async () => [],
      },
    };
    purges = new PurgeCoordinator(ledger, sources, phases, { nodeId: () => 'solo', claimMs: 13_000, stopGraceMs: 11_500, maxTagAssets: 10 });
    await membership.join('solo');
    await purges.start();
  });
  after(async () => {
    await purges.stop();
    await membership.stop();
    await ledger.stop();
    await sources.close();
    await stores.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a repeat accepted while the first purge is being logged joins it; once logged, a repeat is a purge of its own', async () => {
    const [first, repeat] = await Promise.all([purges.purgeAsset(sourceId, '/a.jpg', 'test'), purges.purgeAsset(sourceId, '/a.jpg', 'test')]);
    assert.deepEqual([first.coalesced, repeat.coalesced, repeat.record.id], [false, true, first.record.id]);
    const later = await purges.purgeAsset(sourceId, '/a.jpg', 'test');
    assert.equal(later.coalesced, false);
    assert.notEqual(later.record.id, first.record.id);
  });

  it('a purge is in effect when acknowledged, and completes with the node named in its report', async () => {
    const builtAt = ledger.current();
    const { record } = await purges.purgeAsset(sourceId, '/b.jpg', 'test');
    assert.equal(ledger.view.isFresh([assetRef(sourceId, '/b.jpg')], builtAt), false, 'stale before the API answers');
    await eventually(async () => (await purges.get(record.id))?.status === 'completed');
    assert.deepEqual((await purges.get(record.id))?.report, { nodes: { applied: ['solo'], fenced: [] }, edges: { purged: [], out_of_rotation: [] } });
    await eventually(() => purges.depth === 0);
  });

  it('a burst of purges runs its edge steps 32 at a time, every purge acknowledged at once and completed in the end', async () => {
    let driving = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const edges = {
      propagate: async (): Promise<EdgeStep> => {
        most = Math.max(most, ++driving);
        await gate;
        driving--;
        return { settled: true, failed: false, wakeAt: 0, report: { purged: [], out_of_rotation: [] }, states: [] };
      },
      statesOf: async () => [],
    };
    const held = new PurgeCoordinator(ledger, sources, { ...phases, edges }, { nodeId: () => 'solo', claimMs: 13_000, stopGraceMs: 11_500, maxTagAssets: 10 });
    const builtAt = ledger.current();
    const accepted = await Promise.all(Array.from({ length: 100 }, (_, i) => held.purgeAsset(sourceId, `/burst/${i}.jpg`, 'test')));
    assert.equal(ledger.view.isFresh([assetRef(sourceId, '/burst/99.jpg')], builtAt), false, 'in effect when acknowledged, driven or not');
    await eventually(() => driving === 32);
    assert.equal(held.depth, 100);
    release();
    await eventually(() => held.depth === 0);
    assert.equal(most, 32);
    const statuses = await Promise.all(accepted.map(({ record }) => held.get(record.id)));
    assert.deepEqual(new Set(statuses.map((record) => record?.status)), new Set(['completed']));
    await held.stop();
  });
});
