import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../src/store/postgres/database.ts';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { solidImage } from '../helpers/pictor.ts';
import { skipWithout } from '../helpers/tools.ts';

const NEXT_VERSION = fileURLToPath(new URL('./fixtures/next-version.ts', import.meta.url));

/** The command line of `pictor serve` with the next version's extra migration step preloaded (fixtures/next-version.ts). */
function nextVersion(argv: string[]): string[] {
  const [node, importFlag, tsx, ...rest] = argv;
  return [node!, importFlag!, tsx!, '--import', NEXT_VERSION, ...rest];
}

/**
 * A rolling upgrade of a cluster, as docs/edges-and-cluster.md tells an operator to run it: node 1 runs
 * version N; node 2 starts with version N+1, which migrates the shared database one additive step; both serve
 * and purge through a Varnish edge; a version-N node started now is refused; node 1 stops.
 */
describe('a rolling upgrade of a cluster', { timeout: 180_000, skip: skipWithout('varnish') }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ nodes: 3, startedNodes: 1, edges: 1, assets: { 'cat.jpg': await solidImage(64, 48, [220, 30, 30]) } });
  });
  after(() => cluster?.stop());

  async function schemaVersion(): Promise<number> {
    const client = new pg.Client({ connectionString: cluster.databaseUrl });
    await client.connect();
    try {
      return (await client.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]!.version;
    } finally {
      await client.end();
    }
  }

  async function purgeThrough(node: number): Promise<Record<string, unknown>> {
    const { status, body } = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/cat.jpg`, node);
    assert.equal(status, 200, JSON.stringify(body));
    return cluster.waitCompleted(body.data!.id, 60_000, node);
  }

  it('version N+1 migrates the schema while version N serves; both serve and purge', async () => {
    assert.equal(await schemaVersion(), PG_MIGRATIONS.length);
    await cluster.startNode(1, nextVersion);
    assert.equal(await schemaVersion(), PG_MIGRATIONS.length + 1);
    for (const node of cluster.nodes.slice(0, 2)) assert.equal((await fetch(`${node.renderUrl}/cat.jpg?w=20`)).status, 200, node.id);
    assert.equal((await fetch(`${cluster.edges[0]!.url}/cat.jpg?w=20`)).status, 200);
    for (const node of [0, 1]) {
      const done = await purgeThrough(node);
      assert.equal(done.status, 'completed', `purge through ${cluster.nodes[node]!.id}: ${JSON.stringify(done)}`);
      assert.deepEqual((done.nodes as { applied: string[] }).applied, ['node-1', 'node-2'], 'both versions applied it');
      assert.deepEqual((done.edges as { purged: string[] }).purged, ['edge-1']);
    }
  });

  it('a version-N node started on the migrated schema exits 2, naming both versions and what to do, without a stack', async () => {
    await assert.rejects(cluster.startNode(2), (error: Error) => {
      assert.match(error.message, /^pictor exited early \(2\)/);
      const known = PG_MIGRATIONS.length;
      assert.ok(
        error.message.includes(`its schema is at version ${known + 1}, newer than version ${known}, the newest this Pictor understands`),
        error.message,
      );
      assert.match(error.message, /cannot start: the database 127\.0\.0\.1:\d+\/\w+ cannot be used by Pictor \d+\.\d+\.\d+/);
      assert.match(error.message, /Start this node with that newer Pictor \(see "Rolling upgrades" in docs\/edges-and-cluster\.md\)/);
      assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace');
      return true;
    });
  });

  it('version N stops; version N+1 serves and purges alone', async () => {
    const first = cluster.nodes[0]!.process!;
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.equal((await fetch(`${cluster.edges[0]!.url}/cat.jpg?w=30`)).status, 200);
    const done = await purgeThrough(1);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual((done.nodes as { applied: string[] }).applied, ['node-2']);
  });
});
