import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { meanColour, solidImage } from '../helpers/pictor.ts';
import { skipWithout } from '../helpers/tools.ts';

/** Two `pictor serve` processes on one PostgreSQL: a tag set on one node is purged through the other, on both. */
describe('a purge by tag in a cluster of two nodes', { timeout: 120_000, skip: skipWithout('postgres') }, () => {
  let cluster: TestCluster;
  const red = () => solidImage(48, 32, [220, 30, 30]);
  before(async () => {
    cluster = await startCluster({ nodes: 2, edges: 0, lease: 2, assets: { 'shoe.jpg': await red(), 'boot.jpg': await red(), 'sock.jpg': await red() } });
  });
  after(() => cluster?.stop());

  const blueAt = async (node: number, target: string): Promise<boolean> => {
    const response = await fetch(`${cluster.nodes[node]!.renderUrl}${target}`);
    assert.equal(response.status, 200, target);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return b! > r!;
  };

  it('both nodes stop serving the old bytes of every tagged asset; the untagged one stays as cached', async () => {
    const sources = (await cluster.api('GET', '/api/v1/sources')).body as { data: { id: string }[] };
    const assets = `/api/v1/sources/${sources.data[0]!.id}/assets`;
    for (const name of ['shoe.jpg', 'boot.jpg']) {
      assert.ok((await cluster.api('POST', `${assets}/add/${name}`, undefined, 0)).status < 300);
      const patched = await cluster.api('PATCH', `${assets}/${name}`, { data: { type: 'assets', attributes: { tags: ['footwear'] } } }, 0);
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    }
    const targets = ['/shoe.jpg?w=20', '/boot.jpg?w=20', '/boot.jpg?w=10&fm=png', '/sock.jpg?w=20'];
    for (const node of [0, 1]) for (const target of targets) assert.equal(await blueAt(node, target), false);
    const blue = await solidImage(48, 32, [30, 30, 220]);
    for (const name of ['shoe.jpg', 'boot.jpg', 'sock.jpg']) await cluster.put(name, blue);

    const accepted = await cluster.api('POST', '/api/v1/purge', { data: { type: 'purges', attributes: { tag: 'footwear' } } }, 1);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const done = await cluster.waitCompleted((accepted.body as { data: { id: string } }).data.id);
    assert.deepEqual([done.assets, (done.nodes as { applied: string[] }).applied.sort()], [2, ['node-1', 'node-2']]);
    for (const node of [0, 1]) {
      for (const target of targets.slice(0, 3)) assert.ok(await blueAt(node, target), `node ${node + 1}: ${target} is the new version`);
      assert.equal(await blueAt(node, '/sock.jpg?w=20'), false, `node ${node + 1}: the untagged asset is still served from its cache`);
    }
  });
});
