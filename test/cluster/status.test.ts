import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/cli.ts';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/pictor.ts';
import { freePort } from '../helpers/ports.ts';
import { DashboardClient } from '../dashboard/http-client.ts';
import type { ClusterStatus } from '../../src/cluster/cluster-status.ts';

/** The status document's attributes, as a node's API answers them. */
async function apiStatus(cluster: TestCluster, node = 0): Promise<ClusterStatus> {
  const { status, body } = await cluster.api('GET', '/api/v1/status', undefined, node);
  assert.equal(status, 200);
  return (body as { data: { attributes: ClusterStatus } }).data.attributes;
}

/** The value of one sample of a node's /metrics (undefined when absent). */
async function sample(adminUrl: string, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const found = text.split('\n').find((row) => row.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/** Without the lease ends, which every renewal moves. */
const withoutLeases = (status: ClusterStatus): unknown => ({ ...status, nodes: status.nodes.map(({ lease_until: _lease, ...node }) => node) });

describe('seeing the cluster: pictor status, GET /api/v1/status, the Cluster page and /metrics', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2, edges: 0, assets: { 'a.txt': 'a' } });
    // An edge nobody listens at: the first purge takes it out of rotation.
    const attributes = { name: 'edge-gone', url: `http://127.0.0.1:${await freePort()}` };
    const added = await cluster.api('POST', '/api/v1/edges', { data: { type: 'edges', attributes } });
    assert.equal(added.status, 201);
    const purged = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/a.txt`);
    await cluster.waitCompleted(purged.body.data!.id as string);
    // The nodes try to flush it to re-admit it: the failure is its last error, written once, then left as it is.
    await eventually(async () => /could not be flushed/.test((await apiStatus(cluster)).edges[0]?.last_error ?? ''), 60_000);
  });
  after(() => cluster?.stop());

  it('after a purge both nodes have lag 0, and the edge that missed it is out of rotation with its reason', async () => {
    const status = await apiStatus(cluster, 1);
    assert.deepEqual(
      status.nodes.map((node) => [node.id, node.lag, node.fenced, node.last_applied === status.purge_log.head]),
      cluster.nodes.map((node) => [node.id, 0, false, true]),
    );
    for (const node of status.nodes) assert.ok(Date.parse(node.lease_until!) > Date.now() - 5_000, `${node.id} holds a lease`);
    assert.ok(status.purge_log.head >= 1);
    assert.deepEqual([status.purge_log.pending, status.purge_log.oldest_pending_at], [0, null]);
    const [edge] = status.edges;
    assert.deepEqual([edge?.name, edge?.in_rotation], ['edge-gone', false]);
    assert.match(edge!.reason ?? '', /\S/, 'a reason is given');
    assert.deepEqual([edge?.readmitted_at, edge?.readmitted_by, edge?.last_purge_at], [null, null, null]);
    assert.match(edge!.last_error ?? '', /^edge edge-gone could not be flushed: connection refused/);
  });

  it('the CLI --json reads the same document from the database as the API answers', async () => {
    const fromApi = await apiStatus(cluster);
    const { stdout } = await cli(['status', '--json', '--database', cluster.databaseUrl]);
    assert.deepEqual(withoutLeases(JSON.parse(stdout) as ClusterStatus), withoutLeases(fromApi));
    const table = (await cli(['status', '--database', cluster.databaseUrl])).stdout;
    for (const node of cluster.nodes) assert.match(table, new RegExp(`^${node.id}\\t.*\\t0\\tok$`, 'm'));
    assert.match(table, /^edge-gone\t.*out: /m);
  });

  it('/metrics exports each node\'s lag, each edge\'s state and the pending purges', async () => {
    const adminUrl = cluster.nodes[0]!.adminUrl;
    for (const node of cluster.nodes) assert.equal(await sample(adminUrl, `pictor_node_lag{node="${node.id}"}`), 0);
    assert.equal(await sample(adminUrl, 'pictor_edge_state{edge="edge-gone",state="out_of_rotation"}'), 1);
    assert.equal(await sample(adminUrl, 'pictor_edge_state{edge="edge-gone",state="in_rotation"}'), 0);
    assert.equal(await sample(adminUrl, 'pictor_purges_pending'), 0);
  });

  it('the Cluster page of the dashboard lists the nodes and the edge', async () => {
    const client = new DashboardClient(cluster.nodes[0]!.adminUrl);
    assert.equal((await client.signIn('admin', cluster.adminPassword)).status, 303);
    const page = await client.get('/dashboard/cluster');
    assert.equal(page.status, 200);
    assert.match(page.text, /<a href="\/dashboard\/cluster" aria-current="page">Cluster<\/a>/);
    for (const node of cluster.nodes) assert.match(page.text, new RegExp(`data-node-id="${node.id}"`));
    assert.match(page.text, /data-edge="edge-gone"[^]*?out of rotation: /);
  });

  it('a stopped node shows as lagging and fenced once its lease ran out, in the API and in /metrics', async () => {
    const stopped = cluster.nodes[1]!;
    stopped.process!.child.kill('SIGSTOP');
    try {
      const purged = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/a.txt`);
      // The purge completes only once the stopped node's lease ran out and it was fenced.
      await cluster.waitCompleted(purged.body.data!.id as string);
      const node = (await apiStatus(cluster)).nodes.find((state) => state.id === stopped.id)!;
      assert.deepEqual([node.lag >= 1, node.fenced, node.lease_expired], [true, true, true]);
      assert.ok((await sample(cluster.nodes[0]!.adminUrl, `pictor_node_lag{node="${stopped.id}"}`))! >= 1);
      assert.equal(await sample(cluster.nodes[0]!.adminUrl, `pictor_node_lag{node="${cluster.nodes[0]!.id}"}`), 0);
    } finally {
      stopped.process!.child.kill('SIGCONT');
    }
  });
});
