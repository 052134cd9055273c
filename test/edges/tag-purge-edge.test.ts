import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { renderVcl } from '../../src/edges/vcl.ts';
import { meanColour, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { skipWithout } from '../helpers/tools.ts';
import { startVarnish, type TestVarnish } from '../helpers/varnish.ts';

/** A purge by tag reaches a real Varnish edge through the asset keys of the tagged assets. */
describe('a purge by tag at a Varnish edge', { skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  const red = () => solidImage(40, 30, [220, 30, 30]);
  before(async () => {
    t = await startPictor({ assets: { 'cat.jpg': await red(), 'dog.jpg': await red(), 'cow.jpg': await red() }, options: { purgeRateLimit: '1000' } });
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-1' });
    const headers = { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' };
    const registered = await fetch(`${t.adminUrl}/api/v1/edges`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ data: { type: 'edges', attributes: { name: edge.name, url: edge.url } } }),
    });
    assert.equal(registered.status, 201);
    const assets = `${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/assets`;
    for (const name of ['cat.jpg', 'dog.jpg']) {
      assert.ok((await fetch(`${assets}/add/${name}`, { method: 'POST', headers: { authorization: headers.authorization } })).ok);
      const body = JSON.stringify({ data: { type: 'assets', attributes: { tags: ['pets'] } } });
      assert.equal((await fetch(`${assets}/${name}`, { method: 'PATCH', headers, body })).status, 200);
    }
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
  });

  const atEdge = async (target: string): Promise<{ blue: boolean; cacheStatus: string }> => {
    const response = await fetch(`${edge.url}${target}`);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return { blue: b! > r!, cacheStatus: response.headers.get('cache-status') ?? '' };
  };

  it('drops every response of the tagged assets before `completed`, and keeps the others', async () => {
    const tagged = ['/cat.jpg?w=20', '/cat.jpg?w=10&fm=png', '/dog.jpg?w=20'];
    const untagged = ['/cow.jpg?w=20'];
    for (const target of [...tagged, ...untagged]) {
      await atEdge(target);
      assert.match((await atEdge(target)).cacheStatus, /edge-1; hit/, `${target} is cached at the edge`);
    }
    const blue = await solidImage(40, 30, [30, 30, 220]);
    for (const name of ['cat.jpg', 'dog.jpg', 'cow.jpg']) await t.put(name, blue);
    const accepted = await fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { tag: 'pets' } } }),
    });
    assert.equal(accepted.status, 200);
    const done = await t.waitForPurge(((await accepted.json()) as { data: { id: string } }).data.id);
    assert.deepEqual([done.status, done.assets, done.edges], ['completed', 2, { purged: ['edge-1'], out_of_rotation: [] }]);
    for (const target of tagged) assert.ok((await atEdge(target)).blue, `${target} is the new image at the edge`);
    for (const target of untagged) {
      const { blue: isBlue, cacheStatus } = await atEdge(target);
      assert.equal(isBlue, false, `${target} was not purged`);
      assert.match(cacheStatus, /edge-1; hit/);
    }
  });

  it('completes a purge of a tag no asset carries, the edge told nothing of the tag itself', async () => {
    const accepted = await fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { tag: 'nobody-has-it', source_id: t.defaultSourceId } } }),
    });
    assert.equal(accepted.status, 200);
    const done = await t.waitForPurge(((await accepted.json()) as { data: { id: string } }).data.id);
    assert.deepEqual([done.status, done.assets, done.edges], ['completed', 0, { purged: ['edge-1'], out_of_rotation: [] }]);
  });
});
