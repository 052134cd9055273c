import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrap } from '../../src/bootstrap.ts';
import { assetRef, assetScope } from '../../src/cache/freshness.ts';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { PurgeCoordinator } from '../../src/purge/coordinator.ts';
import { PurgeLedger } from '../../src/purge/ledger.ts';
import { PurgeRetention } from '../../src/purge/retention.ts';
import { VerdictStep } from '../../src/purge/verdict.ts';
import { SourceRegistry } from '../../src/sources/registry.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { LoggedPurge, PurgeRecord } from '../../src/store/purge-log.ts';
import type { Stores } from '../../src/store/stores.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { TEST_SECRET } from '../helpers/store-backends.ts';
import { pendingPurge } from '../helpers/purge-records.ts';

/**
 * The purge protocol of a cluster against a real PostgreSQL: log, LISTEN/NOTIFY, acknowledgements, leases,
 * fencing, replay and re-driving. Nodes here are in one process (each with its own connections and
 * freshness state); test/cluster/cluster.test.ts runs the same rules with real processes and edges.
 */
const LEASE = 1;

describe('cluster purge protocol', () => {
  let pg: TestPostgres;
  const directories: string[] = [];
  before(async () => {
    pg = await startPostgres({ durable: false });
  });
  after(async () => {
    await pg?.stop();
    await Promise.all(directories.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  interface TestNode {
    stores: Stores;
    ledger: PurgeLedger;
    node: ClusterNode;
    coordinator: PurgeCoordinator;
    /** The cluster's default Source (the first node to start made it). */
    sourceId: string;
    stop(): Promise<void>;
  }

  /** A node as `serve` wires one, without listeners: its ledger, its membership and its coordinator. */
  async function startNode(url: string, id: string, claimMs = 3000, serveWhenIsolated = false): Promise<TestNode> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-protocol-'));
    directories.push(dataDir);
    const stores = await openStores({ dataDir, databaseUrl: url, secretKeys: TEST_SECRET });
    const registry = { assetsDir: dataDir, folderRoots: [dataDir], publicUrl: undefined, maxInputBytes: 1e6, outboundAllow: [], originTimeoutSeconds: 5 };
    const { defaultSourceId } = await bootstrap(stores, registry);
    const sources = await SourceRegistry.open(stores.sources, registry, defaultSourceId);
    const ledger = await PurgeLedger.open(stores.purgeLog);
    const node = new ClusterNode(stores.nodes, ledger, { leaseSeconds: LEASE, serveWhenIsolated });
    const phases = {
      matched: () => 0,
      tagged: async () => [],
      verdict: new VerdictStep(async () => undefined, []),
      nodes: node.nodes,
      edges: {
        propagate: async () => ({ settled: true, failed: false, wakeAt: 0, report: { purged: [], out_of_rotation: [] }, states: [] }),
        statesOf: async () => [],
      },
    };
    const coordinator = new PurgeCoordinator(ledger, sources, phases, { nodeId: () => id, claimMs, stopGraceMs: LEASE * 1000 + 1500, maxTagAssets: 10 });
    await node.join(id);
    await coordinator.start();
    return {
      stores,
      ledger,
      node,
      coordinator,
      sourceId: defaultSourceId,
      async stop() {
        await coordinator.stop();
        await node.stop();
        await ledger.stop();
        await sources.close();
        await stores.close();
      },
    };
  }

  const record = (sourceId: string, pathName: string): PurgeRecord => pendingPurge(sourceId, pathName, { url: `http://x${pathName}`, requestedBy: 'test' });

  /** Appends a purge to the shared log through `node`'s store, as any node's coordinator does, without applying it there. */
  async function append(node: TestNode, pathName: string, coordinator: string, claimMs = 3000): Promise<LoggedPurge> {
    const purge = record(node.sourceId, pathName);
    const scopes = [assetScope(node.sourceId, pathName)];
    const seq = await node.stores.purgeLog.append(purge, scopes, { coordinator, claimMs });
    return { ...purge, seq, scopes };
  }

  async function completed(node: TestNode, id: string, timeoutMs = 10_000): Promise<PurgeRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await node.stores.purgeLog.get(id);
      if (found?.status === 'completed') return found;
      if (Date.now() > deadline) throw new Error(`purge ${id} did not complete: ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a purge is applied by every node before it completes, and the report names them', async () => {
    const url = await pg.createDatabase('applied');
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(url, id)));
    try {
      const builtAt = nodes.map((node) => node.ledger.current());
      const purge = await append(nodes[0]!, '/cat.jpg', 'a');
      nodes[0]!.coordinator.drive(purge);
      const done = await completed(nodes[0]!, purge.id);
      assert.deepEqual(done.report?.nodes, { applied: ['a', 'b', 'c'], fenced: [] });
      nodes.forEach((node, i) => {
        assert.equal(node.ledger.view.isFresh([assetRef(node.sourceId, '/cat.jpg')], builtAt[i]!), false, 'stale on every node');
        assert.equal(node.ledger.view.isFresh([assetRef(node.sourceId, '/dog.jpg')], builtAt[i]!), true, 'other assets stay fresh');
        assert.equal(node.node.unavailableReason(), undefined);
      });
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });

  it('a node that stops acknowledging is fenced once its lease runs out; it rejoins only after replaying', async () => {
    const url = await pg.createDatabase('fencing');
    const [a, b] = await Promise.all(['a', 'b'].map((id) => startNode(url, id)));
    let c = await startNode(url, 'c');
    try {
      await c.stop(); // hung: no more acknowledgements or renewals
      const purge = await append(a!, '/cat.jpg', 'a');
      a!.coordinator.drive(purge);
      const done = await completed(a!, purge.id);
      assert.deepEqual(done.report?.nodes, { applied: ['a', 'b'], fenced: ['c'] });
      assert.ok(c.node.unavailableReason(), 'a node past its lease does not serve');

      c = await startNode(url, 'c'); // restarted: replays before it serves
      assert.equal(c.node.unavailableReason(), undefined);
      assert.equal(c.ledger.view.isFresh([assetRef(c.sourceId, '/cat.jpg')], purge.seq - 1), false, 'the missed purge was replayed');
      const states = await a!.stores.nodes.states();
      assert.deepEqual(
        states.map((state) => [state.id, state.fenced]),
        [
          ['a', false],
          ['b', false],
          ['c', false],
        ],
      );
      const next = await append(a!, '/dog.jpg', 'a');
      a!.coordinator.drive(next);
      assert.deepEqual((await completed(a!, next.id)).report?.nodes, { applied: ['a', 'b', 'c'], fenced: [] });
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c.stop()]);
    }
  });

  it('a node that cannot reach the database stops serving when its lease ends, unless it prefers availability', async () => {
    const url = await pg.createDatabase('isolated');
    const strict = await startNode(url, 'strict');
    const available = await startNode(url, 'available', 3000, true);
    try {
      assert.equal(strict.node.unavailableReason(), undefined);
      await pg.stopServer();
      await new Promise((resolve) => setTimeout(resolve, LEASE * 1000 + 200));
      assert.match(strict.node.unavailableReason() ?? '', /lease ran out/);
      assert.equal(available.node.unavailableReason(), undefined, '--serve-when-isolated keeps serving');
      await pg.startServer();
      const deadline = Date.now() + 10_000;
      while (strict.node.unavailableReason() !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(strict.node.unavailableReason(), undefined, 'serves again once it has renewed its lease');
    } finally {
      await Promise.all([strict.stop(), available.stop()]);
    }
  });

  it('a purge whose coordinator died is completed by another node', async () => {
    const url = await pg.createDatabase('redrive');
    const nodes = await Promise.all(['a', 'b'].map((id) => startNode(url, id, 300)));
    try {
      const purge = await append(nodes[0]!, '/cat.jpg', 'gone', 300); // never driven by its coordinator
      const done = await completed(nodes[0]!, purge.id);
      assert.deepEqual(done.report?.nodes, { applied: ['a', 'b'], fenced: [] });
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });

  it('retention compacts the log; a fenced node that missed purges now gone from the log resyncs from the marks', async () => {
    const url = await pg.createDatabase('retention');
    const [a, b] = await Promise.all(['a', 'b'].map((id) => startNode(url, id)));
    const c = await startNode(url, 'c');
    try {
      await c.coordinator.stop();
      await c.node.stop(); // away: no acknowledgements, no renewals
      const builtAt = c.ledger.current();
      const purges = [await append(a!, '/gone.jpg', 'a'), await append(a!, '/gone/too.jpg', 'a')];
      for (const purge of purges) a!.coordinator.drive(purge);
      for (const purge of purges) assert.deepEqual((await completed(a!, purge.id)).report?.nodes.fenced, ['c']);

      const result = await new PurgeRetention(a!.ledger, { retentionMs: 0, intervalMs: 3_600_000 }).compact(Date.now() + 1);
      assert.equal(result.floor, purges[1]!.seq);
      assert.ok(result.purgesDeleted >= 2 && result.marksDeleted >= 2);
      assert.equal(await a!.stores.purgeLog.get(purges[0]!.id), undefined, 'the purge is gone from the log');

      await c.node.catchUp(); // back: resyncs from the snapshot, then rejoins
      assert.equal(c.ledger.view.isFresh([assetRef(c.sourceId, '/gone.jpg')], builtAt), false);
      assert.equal(c.ledger.current(), purges[1]!.seq);
      const states = await a!.stores.nodes.states();
      assert.equal(states.find((state) => state.id === 'c')?.fenced, false);
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c.stop()]);
    }
  });

  it('entries are applied in log order, each once, across a burst from several nodes', async () => {
    const url = await pg.createDatabase('burst');
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(url, id)));
    try {
      const purges = await Promise.all(Array.from({ length: 60 }, (_, i) => append(nodes[i % 3]!, `/p${i}.jpg`, 'x')));
      for (const [i, purge] of purges.entries()) nodes[i % 3]!.coordinator.drive(purge);
      for (const purge of purges) await completed(nodes[0]!, purge.id);
      const head = Math.max(...purges.map((purge) => purge.seq));
      for (const node of nodes) assert.equal(node.ledger.current(), head);
      const seqs = purges.map((purge) => purge.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => seqs[0]! + i), 'sequence numbers have no gaps');
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});
