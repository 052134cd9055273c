import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClusterStatus } from '../../src/cluster/cluster-status.ts';
import { cli } from '../helpers/cli.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';

/** The status document's attributes, as the running node's API answers them. */
async function apiStatus(pictor: TestPictor): Promise<ClusterStatus> {
  const response = await fetch(`${pictor.adminUrl}/api/v1/status`, { headers: { authorization: `Bearer ${pictor.apiKey}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: { attributes: ClusterStatus } }).data.attributes;
}

/** What `pictor status --json --data DIR` prints, read from the data directory by its own process. */
async function cliStatus(dataDir: string): Promise<ClusterStatus> {
  return JSON.parse((await cli(['status', '--json', '--data', dataDir])).stdout) as ClusterStatus;
}

describe('pictor status on one node (SQLite): the node of the data directory is listed', { timeout: 120_000 }, () => {
  let root: string;
  let dataDir: string;
  let pictor: TestPictor | undefined;
  let nodeId: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pictor-status-'));
    dataDir = path.join(root, 'data');
    pictor = await startPictor({ dataDir, assets: { 'a.txt': 'a', 'b.txt': 'b' } });
    nodeId = `${os.hostname()}:${pictor.renderPort}`;
    for (const name of ['a.txt', 'b.txt']) await pictor.purgeAndWait(`${pictor.renderUrl}/${name}`);
  });
  after(async () => {
    await pictor?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('GET /api/v1/status lists the running node: its id, at the log\'s head, lag 0, no lease, not fenced', async () => {
    const status = await apiStatus(pictor!);
    assert.ok(status.purge_log.head >= 2);
    assert.deepEqual(status.nodes, [
      { id: nodeId, lease_until: null, lease_expired: false, last_applied: status.purge_log.head, lag: 0, fenced: false },
    ]);
  });

  it('pictor status --data, beside the running node, reads the same document from the data directory', async () => {
    assert.deepEqual(await cliStatus(dataDir), await apiStatus(pictor!));
    const table = (await cli(['status', '--data', dataDir])).stdout;
    assert.match(table, /^Nodes \(1\)$/m);
    assert.match(table, new RegExp(`^${nodeId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\t-\\t\\d+\\t0\\tok$`, 'm'));
  });

  it('pictor status --data still lists the node once it stopped, at the head of its log', async () => {
    const before = await apiStatus(pictor!);
    await pictor!.pictor.stop();
    const status = await cliStatus(dataDir);
    assert.deepEqual(status.nodes.map((node) => [node.id, node.last_applied, node.lag, node.fenced]), [[nodeId, before.purge_log.head, 0, false]]);
    assert.equal(status.purge_log.head, before.purge_log.head);
  });
});
