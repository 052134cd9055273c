import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assetRef, assetScope } from '../../src/cache/freshness.ts';
import { Cluster } from '../../src/cluster/cluster.ts';
import { PurgeCoordinator, type LoggedPurge } from '../../src/cluster/coordinator.ts';
import type { PurgeRecord } from '../../src/purge/model.ts';
import { createPool, migrate, type PgPool } from '../../src/store/postgres/database.ts';
import { PgNodeStore } from '../../src/store/postgres/node-store.ts';
import { PgPurgeLog } from '../../src/store/postgres/purge-log.ts';
import { PurgeRetention } from '../../src/purge/retention.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/**
 * The purge protocol of a cluster against a real PostgreSQL: log, LISTEN/NOTIFY, acknowledgements, leases,
 * fencing, replay and re-driving. Nodes here are in one process (each with its own connections and
 * freshness state); test/cluster/cluster.test.ts runs the same rules with real processes and edges.
 */
const LEASE = 1;

describe('cluster purge protocol', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres({ durable: false });
  });
  after(async () => {
    await pg?.stop();
  });

  interface TestNode {
    cluster: Cluster;
    pool: PgPool;
    coordinator: PurgeCoordinator;
    stop(): Promise<void>;
  }

  async function startNode(url: string, id: string, claimMs = 3000, serveWhenIsolated = false): Promise<TestNode> {
    const pool = createPool({ url });
    await migrate(pool);
    const cluster = await Cluster.open({ pool, databaseUrl: url, leaseSeconds: LEASE, serveWhenIsolated, onError: () => {} });
    await cluster.join(id);
    const coordinator = new PurgeCoordinator(new PgPurgeLog(pool), new PgNodeStore(pool), cluster.node, {
      leaseSeconds: LEASE,
      claimMs,
      verdict: async () => undefined,
      edges: async () => ({ purged: [], out_of_rotation: [] }),
    });
    coordinator.start();
    return {
      cluster,
      pool,
      coordinator,
      async stop() {
        await coordinator.stop();
        await cluster.stop();
        await pool.end();
      },
    };
  }

  function record(path: string): PurgeRecord {
    return {
      id: randomUUID(),
      url: `http://x${path}`,
      sourceId: 'src',
      path,
      match: 'exact',
      subImage: false,
      parentSourceId: undefined,
      status: 'pending',
      origin: undefined,
      matched: undefined,
      generation: undefined,
      error: undefined,
      requestedBy: 'test',
      createdAt: Date.now(),
      completedAt: undefined,
    };
  }

  async function append(pool: PgPool, path: string, coordinator: string, claimMs = 3000): Promise<LoggedPurge> {
    const purge = record(path);
    const scopes = [assetScope('src', path)];
    const seq = await new PgPurgeLog(pool).append(purge, scopes, coordinator, claimMs);
    return { ...purge, seq, scopes };
  }

  async function completed(pool: PgPool, id: string, timeoutMs = 10_000): Promise<PurgeRecord> {
    const log = new PgPurgeLog(pool);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await log.get(id);
      if (found?.status === 'completed') return found;
      if (Date.now() > deadline) throw new Error(`purge ${id} did not complete: ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a purge is applied by every node before it completes, and the report names them', async () => {
    const url = await pg.createDatabase('applied');
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(url, id)));
    try {
      const builtAt = nodes.map((node) => node.cluster.freshness.current());
      const purge = await append(nodes[0]!.pool, '/cat.jpg', 'a');
      nodes[0]!.coordinator.drive(purge);
      const done = await completed(nodes[0]!.pool, purge.id);
      assert.deepEqual(done.report?.nodes, { applied: ['a', 'b', 'c'], fenced: [] });
      nodes.forEach((node, i) => {
        assert.equal(node.cluster.freshness.isFresh([assetRef('src', '/cat.jpg')], builtAt[i]!), false, 'stale on every node');
        assert.equal(node.cluster.freshness.isFresh([assetRef('src', '/dog.jpg')], builtAt[i]!), true, 'other assets stay fresh');
        assert.equal(node.cluster.unavailableReason(), undefined);
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
      const purge = await append(a!.pool, '/cat.jpg', 'a');
      a!.coordinator.drive(purge);
      const done = await completed(a!.pool, purge.id);
      assert.deepEqual(done.report?.nodes, { applied: ['a', 'b'], fenced: ['c'] });
      assert.ok(c.cluster.unavailableReason(), 'a node past its lease does not serve');

      c = await startNode(url, 'c'); // restarted: replays before it serves
      assert.equal(c.cluster.unavailableReason(), undefined);
      assert.equal(c.cluster.freshness.isFresh([assetRef('src', '/cat.jpg')], purge.seq - 1), false, 'the missed purge was replayed');
      const states = await new PgNodeStore(a!.pool).states();
      assert.deepEqual(
        states.map((state) => [state.id, state.fenced]),
        [
          ['a', false],
          ['b', false],
          ['c', false],
        ],
      );
      const next = await append(a!.pool, '/dog.jpg', 'a');
      a!.coordinator.drive(next);
      assert.deepEqual((await completed(a!.pool, next.id)).report?.nodes, { applied: ['a', 'b', 'c'], fenced: [] });
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c.stop()]);
    }
  });

  it('a node that cannot reach the database stops serving when its lease ends, unless it prefers availability', async () => {
    const url = await pg.createDatabase('isolated');
    const strict = await startNode(url, 'strict');
    const available = await startNode(url, 'available', 3000, true);
    try {
      assert.equal(strict.cluster.unavailableReason(), undefined);
      await pg.stopServer();
      await new Promise((resolve) => setTimeout(resolve, LEASE * 1000 + 200));
      assert.match(strict.cluster.unavailableReason() ?? '', /lease ran out/);
      assert.equal(available.cluster.unavailableReason(), undefined, '--serve-when-isolated keeps serving');
      await pg.startServer();
      const deadline = Date.now() + 10_000;
      while (strict.cluster.unavailableReason() !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(strict.cluster.unavailableReason(), undefined, 'serves again once it has renewed its lease');
    } finally {
      await Promise.all([strict.stop(), available.stop()]);
    }
  });

  it('a purge whose coordinator died is completed by another node', async () => {
    const url = await pg.createDatabase('redrive');
    const nodes = await Promise.all(['a', 'b'].map((id) => startNode(url, id, 300)));
    try {
      const purge = await append(nodes[0]!.pool, '/cat.jpg', 'gone', 300); // never driven by its coordinator
      const done = await completed(nodes[0]!.pool, purge.id);
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
      await c.cluster.node.stop(); // away: no acknowledgements, no renewals
      const builtAt = c.cluster.freshness.current();
      const purges = [await append(a!.pool, '/gone.jpg', 'a'), await append(a!.pool, '/gone/too.jpg', 'a')];
      for (const purge of purges) a!.coordinator.drive(purge);
      for (const purge of purges) assert.deepEqual((await completed(a!.pool, purge.id)).report?.nodes.fenced, ['c']);

      const log = new PgPurgeLog(a!.pool);
      const result = await new PurgeRetention(log, a!.cluster.freshness, { retentionMs: 0, intervalMs: 3_600_000 }).compact(Date.now() + 1);
      assert.equal(result.floor, purges[1]!.seq);
      assert.ok(result.purgesDeleted >= 2 && result.marksDeleted >= 2);
      assert.equal(await log.get(purges[0]!.id), undefined, 'the purge is gone from the log');

      await c.cluster.node.catchUp(); // back: resyncs from the snapshot, then rejoins
      assert.equal(c.cluster.freshness.isFresh([assetRef('src', '/gone.jpg')], builtAt), false);
      assert.equal(c.cluster.freshness.current(), purges[1]!.seq);
      const states = await new PgNodeStore(a!.pool).states();
      assert.equal(states.find((state) => state.id === 'c')?.fenced, false);
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c.cluster.stop().then(() => c.pool.end())]);
    }
  });

  it('entries are applied in log order, each once, across a burst from several nodes', async () => {
    const url = await pg.createDatabase('burst');
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(url, id)));
    try {
      const purges = await Promise.all(Array.from({ length: 60 }, (_, i) => append(nodes[i % 3]!.pool, `/p${i}.jpg`, 'x')));
      for (const [i, purge] of purges.entries()) nodes[i % 3]!.coordinator.drive(purge);
      for (const purge of purges) await completed(nodes[0]!.pool, purge.id);
      const head = Math.max(...purges.map((purge) => purge.seq));
      for (const node of nodes) assert.equal(node.cluster.freshness.current(), head);
      const seqs = purges.map((purge) => purge.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => seqs[0]! + i), 'sequence numbers have no gaps');
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});
