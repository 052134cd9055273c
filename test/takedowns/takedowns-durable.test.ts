import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const RED: [number, number, number] = [220, 0, 0];

describe('Takedowns across restarts and nodes', { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('a takedown survives a restart on the same data directory (with its audit trail), and its lift does too', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-takedown-data-'));
    cleanup.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const photo = await solidImage(50, 40, RED);
    const assets = { 'photo.jpg': photo, 'copy.jpg': photo };
    // Each server is stopped once, here or by the cleanup if an assertion fails first (a server left running
    // would keep the test process alive).
    const started = async (): Promise<TestPictor & { stopNow: () => Promise<void> }> => {
      const pictor = await startPictor({ dataDir, assets });
      let stopping: Promise<void> | undefined;
      const stopNow = () => (stopping ??= pictor.stop());
      cleanup.push(stopNow);
      return { ...pictor, stopNow };
    };
    const first = await started();
    const apiKey = first.apiKey;
    const api = (adminUrl: string, method: string, urlPath: string, body?: unknown) =>
      fetch(`${adminUrl}${urlPath}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    assert.equal((await rawGet(first.renderPort, '/photo.jpg?w=20')).status, 200);
    const created = await api(first.adminUrl, 'POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: `${first.renderUrl}/photo.jpg`, reason: 'notice 7' } } });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as any).data.id as string;
    assert.equal((await rawGet(first.renderPort, '/photo.jpg?w=20')).status, 451);
    await first.stopNow();

    // The origin still has the file; the restarted server blocks it before it answers anything.
    const second = await started();
    assert.equal((await rawGet(second.renderPort, '/photo.jpg?w=20')).status, 451);
    assert.equal((await rawGet(second.renderPort, '/photo.jpg')).status, 451);
    assert.equal((await rawGet(second.renderPort, '/copy.jpg?w=20')).status, 451, 'its content too');
    const read = (await (await api(second.adminUrl, 'GET', `/api/v1/takedowns/${id}`)).json()) as any;
    assert.equal(read.data.attributes.status, 'active');
    assert.deepEqual(read.data.attributes.audit.map((entry: any) => entry.action), ['created']);
    assert.equal((await api(second.adminUrl, 'DELETE', `/api/v1/takedowns/${id}`)).status, 200);
    assert.equal((await rawGet(second.renderPort, '/photo.jpg?w=20')).status, 200);
    await second.stopNow();

    const third = await started();
    assert.equal((await rawGet(third.renderPort, '/photo.jpg?w=20')).status, 200);
    const lifted = (await (await api(third.adminUrl, 'GET', `/api/v1/takedowns/${id}`)).json()) as any;
    assert.deepEqual(lifted.data.attributes.audit.map((entry: any) => entry.action), ['created', 'lifted']);
  });

  it('in a cluster, the node taking the takedown blocks it and its content at once, the others within moments; a lift reaches them too', async () => {
    const photo = await solidImage(50, 40, RED);
    const cluster: TestCluster = await startCluster({ nodes: 2, edges: 0, assets: { 'photo.jpg': photo, 'copy.jpg': photo } });
    cleanup.push(() => cluster.stop());
    const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
    for (const node of [a, b]) {
      for (const target of ['/photo.jpg?w=20', '/copy.jpg?w=20']) assert.equal((await rawGet(node.renderPort, target)).status, 200);
    }

    const created = await cluster.api('POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: `${a.renderUrl}/photo.jpg`, reason: 'notice' } } }, 0);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await rawGet(a.renderPort, '/photo.jpg?w=20')).status, 451);
    assert.equal((await rawGet(a.renderPort, '/copy.jpg?w=20')).status, 451);
    await eventually(async () => (await rawGet(b.renderPort, '/photo.jpg?w=20')).status === 451);
    // The other node read the content from the shared store: its cached copy is blocked as well.
    assert.equal((await rawGet(b.renderPort, '/copy.jpg?w=20')).status, 451);

    const id = (created.body as any).data.id as string;
    assert.equal((await cluster.api('DELETE', `/api/v1/takedowns/${id}`, undefined, 1)).status, 200);
    assert.equal((await rawGet(b.renderPort, '/photo.jpg?w=20')).status, 200);
    assert.equal((await rawGet(b.renderPort, '/copy.jpg?w=20')).status, 200);
    await eventually(async () => (await rawGet(a.renderPort, '/copy.jpg?w=20')).status === 200);
  });
});
