import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { solidImage } from '../helpers/pictor.ts';
import { skipWithout } from '../helpers/tools.ts';

/**
 * `matched` of an exact purge in a cluster: the cached entries of the asset on every node that applied it,
 * with a Varnish edge in front that spreads requests over the nodes round-robin, as in production (where
 * Varnish is installed; the tests without it run without the edge).
 */
describe('matched of an exact purge in a cluster', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    const image = await solidImage(64, 48, [220, 30, 30]);
    cluster = await startCluster({ nodes: 2, edges: skipWithout('varnish') ? 0 : 1, assets: { 'cat.jpg': image, 'dog.jpg': image, 'owl.jpg': image, 'emu.jpg': image } });
  });
  after(() => cluster?.stop());

  /** Renders derivatives of an asset on one node, so that its cache holds them. */
  async function warm(node: number, asset: string, widths: number[]): Promise<void> {
    for (const width of widths) {
      const response = await fetch(`${cluster.nodes[node]!.renderUrl}/${asset}?w=${width}`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
  }

  /** Requests derivatives through the edge, which sends each miss to the next node in turn. */
  async function warmThroughEdge(asset: string, widths: number[]): Promise<void> {
    for (const width of widths) {
      const response = await fetch(`${cluster.edges[0]!.url}/${asset}?w=${width}`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
  }

  /** Purges an asset through node 1, waits for completion, and reads `matched` back from the store through node 2. */
  async function purgedMatched(asset: string): Promise<unknown> {
    const { status, body } = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/${asset}`, 0);
    assert.equal(status, 200, JSON.stringify(body));
    const done = await cluster.waitCompleted(body.data!.id, 60_000, 0);
    assert.equal(done.status, 'completed');
    return (await cluster.status(body.data!.id, 1)).matched;
  }

  it('counts what another node had cached when the accepting node had nothing', async () => {
    await warm(1, 'cat.jpg', [10, 20, 30]);
    const matched = await purgedMatched('cat.jpg');
    assert.equal(typeof matched, 'number');
    assert.ok((matched as number) >= 3, `matched ${String(matched)}: the three derivatives cached on node 2`);
  });

  it('adds the counts of every node: the same derivatives cached on both nodes count twice', async () => {
    await warm(1, 'dog.jpg', [11, 21]);
    const onOne = await purgedMatched('dog.jpg');
    assert.ok((onOne as number) > 0);
    await warm(0, 'owl.jpg', [11, 21]);
    await warm(1, 'owl.jpg', [11, 21]);
    const onBoth = await purgedMatched('owl.jpg');
    assert.equal(onBoth, 2 * (onOne as number));
  });

  it('counts every node a Varnish edge spread the renders over, and the edge forgets them too', { skip: skipWithout('varnish') }, async () => {
    const widths = [12, 22, 32, 42];
    await warmThroughEdge('emu.jpg', widths);
    // The edge sent about half of the misses to each node: counted on the accepting node alone, `matched` would
    // miss the derivatives the other node rendered; counted across nodes, every one of them is in it.
    const matched = await purgedMatched('emu.jpg');
    assert.ok((matched as number) >= widths.length, `matched ${String(matched)} for ${widths.length} derivatives rendered through the edge`);
    const after = await fetch(`${cluster.edges[0]!.url}/emu.jpg?w=12`);
    await after.arrayBuffer();
    assert.doesNotMatch(String(after.headers.get('cache-status')).split(',').at(-1)!, /hit/, 'the edge was purged as well');
  });
});
