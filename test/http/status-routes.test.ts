import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterStatus } from '../../src/cluster/cluster-status.ts';
import { createKey } from '../assets/client.ts';
import { eventually, startPictor, type TestPictor } from '../helpers/pictor.ts';

describe('GET /api/v1/status on one node', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'a.txt': 'a' } });
  });
  after(() => t?.stop());

  const get = (key?: string): Promise<Response> =>
    fetch(`${t.adminUrl}/api/v1/status`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });

  it('needs a key with the admin permission', async () => {
    assert.equal((await get()).status, 401);
    const refused = await get(await createKey(t, ['purge']));
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { errors: { detail: string }[] }).errors[0]!.detail, /admin/);
  });

  it('lists the node, whose lease never runs out, with lag 0 after a purge and nothing pending', async () => {
    await t.purgeAndWait(`${t.renderUrl}/a.txt`);
    const read = async (): Promise<{ type: string; attributes: ClusterStatus }> => {
      const response = await get(t.apiKey);
      assert.equal(response.status, 200);
      return ((await response.json()) as { data: { type: string; attributes: ClusterStatus } }).data;
    };
    // On SQLite a completion is written with the next commit, a moment after the purge answers completed.
    await eventually(async () => (await read()).attributes.purge_log.pending === 0);
    const data = await read();
    assert.equal(data.type, 'cluster-status');
    const { nodes, edges, purge_log: log } = data.attributes;
    assert.deepEqual(
      nodes.map((node) => [node.lease_until, node.lease_expired, node.last_applied, node.lag, node.fenced]),
      [[null, false, log.head, 0, false]],
    );
    assert.ok(log.head >= 1);
    assert.deepEqual([edges, log.pending, log.oldest_pending_at, log.oldest_pending_age_seconds], [[], 0, null, null]);
  });

  it('answers 405 to other methods', async () => {
    const response = await fetch(`${t.adminUrl}/api/v1/status`, { method: 'DELETE', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET');
  });
});
