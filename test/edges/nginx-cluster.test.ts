import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderNginxConf } from '../../src/edges/nginx-conf.ts';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { CACHE_PURGE_MODULE, nginxDir, startNginx, type TestNginx } from '../helpers/nginx.ts';
import { meanColour, solidImage } from '../helpers/pictor.ts';
import { freePort } from '../helpers/ports.ts';
import { skipWithout } from '../helpers/tools.ts';

/**
 * A 2-node cluster (PostgreSQL) behind an nginx edge that fills from node 2 only: a purge that node 1 drives
 * finds the keys node 2 recorded in the shared store.
 */
describe('an nginx edge in front of a cluster', { skip: skipWithout('nginx') }, () => {
  let cluster: TestCluster;
  let nginx: TestNginx;
  let edgePort: number;
  before(async () => {
    cluster = await startCluster({ nodes: 2, edges: 0, assets: { 'cat.jpg': await solidImage(20, 20, [220, 30, 30]) } });
    edgePort = await freePort();
    const purgePort = await freePort();
    const dir = nginxDir();
    const http = renderNginxConf({
      name: 'ngx',
      backends: [`127.0.0.1:${cluster.nodes[1]!.renderPort}`],
      listen: `127.0.0.1:${edgePort}`,
      purgeListen: `127.0.0.1:${purgePort}`,
      cachePath: path.join(dir, 'cache'),
    });
    nginx = await startNginx({ dir, http, ports: [edgePort, purgePort], main: [CACHE_PURGE_MODULE] });
    const attributes = { name: 'ngx', kind: 'nginx', url: `http://127.0.0.1:${purgePort}` };
    const added = await cluster.api('POST', '/api/v1/edges', { data: { type: 'edges', attributes } });
    assert.equal(added.status, 201);
  });
  after(async () => {
    await nginx?.stop();
    await cluster?.stop();
  });

  const viaEdge = async (target: string): Promise<{ blue: boolean; status: string }> => {
    const response = await fetch(`http://127.0.0.1:${edgePort}${target}`);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return { blue: b > r, status: response.headers.get('cache-status') ?? '' };
  };

  it('a key served by one node is purged by a purge another node drives', async () => {
    // The edge's list of nginx edges on node 2 is read again within a couple of seconds of the edge being added.
    for (let tries = 0; !/ngx; HIT/.test((await viaEdge('/cat.jpg?w=10')).status); tries++) {
      assert.ok(tries < 400, 'the edge caches the image');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await cluster.put('cat.jpg', await solidImage(20, 20, [30, 30, 220]));
    const { status, body } = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/cat.jpg`, 0);
    assert.equal(status, 200);
    const done = await cluster.waitCompleted(body.data!.id, undefined, 0);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.edges, { purged: ['ngx'], out_of_rotation: [] });
    assert.ok((await viaEdge('/cat.jpg?w=10')).blue, 'the edge has the new image');
  });
});
