import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { DashboardClient, type DashboardResponse } from '../dashboard/http-client.ts';

/** One sign-in post with a wrong password, from a client's current form. */
async function wrongPassword(client: DashboardClient): Promise<DashboardResponse> {
  const form = { _csrf: await client.csrf('/dashboard/sign-in'), username: 'admin', password: 'not the password at all', next: '/dashboard/tools' };
  return client.post('/dashboard/sign-in', form);
}

describe('a cluster limits dashboard sign-ins as one', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2, edges: 0 });
  });
  after(() => cluster?.stop());

  it('failed sign-ins from one address spread over two nodes are counted together: the 6th is refused on either node', async () => {
    const clients = cluster.nodes.map((node) => new DashboardClient(node.adminUrl));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await wrongPassword(clients[i % 2]!)).status);
    // An address has 5 free failures: counted per node, each node would still have allowed 2 more.
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const refused = await wrongPassword(clients[0]!);
    assert.equal(refused.status, 429);
    assert.match(refused.text, /Too many failed sign-ins from your address/);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  });
});
