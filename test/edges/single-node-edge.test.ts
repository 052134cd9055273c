import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { renderVcl } from '../../src/edges/vcl.ts';
import { meanColour, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';

/** One Pictor (SQLite) behind one real Varnish: a purge reaches the edge before it completes. */
describe('a single node behind a Varnish edge', { skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  let down: TestVarnish;
  before(async () => {
    t = await startPictor({ assets: { 'cat.jpg': await solidImage(40, 30, [220, 30, 30]) } });
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-1' });
    down = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-2' });
    for (const target of [edge, down]) {
      const response = await fetch(`${t.adminUrl}/api/v1/edges`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'edges', attributes: { name: target.name, url: target.url } } }),
      });
      assert.equal(response.status, 201);
    }
  });
  after(async () => {
    await edge?.stop();
    await down?.stop();
    await t?.stop();
  });

  const blueness = async (target: string): Promise<{ blue: boolean; cacheStatus: string }> => {
    const response = await fetch(`${edge.url}${target}`);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return { blue: b > r, cacheStatus: response.headers.get('cache-status') ?? '' };
  };

  it('purges every derivative from the edge before `completed`; an edge that does not answer is out of rotation and named', async () => {
    for (const target of ['/cat.jpg', '/cat.jpg?w=20', '/cat.jpg?w=10&fm=png']) {
      await blueness(target);
      assert.match((await blueness(target)).cacheStatus, /edge-1; hit/);
    }
    await down.stop(); // an edge that cannot be reached
    await t.put('cat.jpg', await solidImage(40, 30, [30, 30, 220]));
    const done = await t.purgeAndWait(`${t.renderUrl}/cat.jpg`);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.edges, { purged: ['edge-1'], out_of_rotation: ['edge-2'] });
    assert.equal((done.nodes as { applied: string[] }).applied.length, 1);
    for (const target of ['/cat.jpg', '/cat.jpg?w=20', '/cat.jpg?w=10&fm=png']) assert.ok((await blueness(target)).blue, `${target} is the new image at the edge`);
  });
});
