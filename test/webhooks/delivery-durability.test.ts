import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { OutboundGuard } from '../../src/sources/outbound-guard.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { DeliveryWorker } from '../../src/webhooks/delivery-worker.ts';
import { webhookEvent } from '../../src/webhooks/events.ts';
import { startCluster } from '../helpers/cluster.ts';
import { eventually, solidImage } from '../helpers/pictor.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { requestPurge } from '../helpers/purges.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';
import { TEST_SECRET } from '../helpers/store-backends.ts';

const directories: string[] = [];
after(() => Promise.all(directories.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-webhooks-'));
  directories.push(dir);
  return dir;
}

async function api(server: { adminUrl: string }, key: string, method: string, urlPath: string, body?: unknown): Promise<any> {
  const response = await fetch(`${server.adminUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

describe('webhook delivery across a crash', { timeout: 120_000 }, () => {
  it('delivers an event committed before a kill -9 of the sender once it is started again', async () => {
    const root = await tempDir();
    const assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    await fs.writeFile(path.join(assets, 'a.jpg'), await solidImage(10, 10, [0, 0, 255]));
    const args = ['--data', path.join(root, 'data'), '--assets', assets, '--outbound-allow', '127.0.0.1/32'];
    const receiver = await startReceiver();
    let server: ServerProcess | undefined = await spawnServer(args);
    try {
      const key = server.apiKey!;
      const created = await api(server, key, 'POST', '/api/v1/webhooks', { data: { type: 'webhooks', attributes: { url: receiver.url, events: ['purge.completed'] } } });
      receiver.secret = created.data.attributes.secret;
      // The first try is held open by the receiver: the sender is killed while delivering.
      receiver.answer = (_message, n) => (n === 0 ? 'hold' : { status: 204 });
      const purge = await requestPurge({ adminUrl: server.adminUrl, apiKey: key }, `${server.renderUrl}/a.jpg`);
      await eventually(() => receiver.received.length === 1);
      server.child.kill('SIGKILL');
      await server.exited;
      receiver.release(true);

      server = await spawnServer(args);
      await eventually(() => receiver.received.length === 2);
      const [first, second] = receiver.received;
      assert.equal(second!.id, first!.id, 'the same message, by its webhook-id');
      assert.equal(second!.data.purge_id, purge.body.data!.id);
      const deliveries = await api(server, key, 'GET', `/api/v1/webhooks/${created.data.id}/deliveries`);
      await eventually(async () => (await api(server!, key, 'GET', `/api/v1/webhooks/${created.data.id}/deliveries`)).data[0].attributes.state === 'delivered');
      assert.equal(deliveries.data.length, 1);
    } finally {
      server?.child.kill('SIGKILL');
      await server?.exited;
      await receiver.stop();
    }
  });
});

describe('webhook delivery to a private receiver', () => {
  it('is refused by the outbound guard unless its address is allowed, and the attempt says why', async () => {
    const dataDir = await tempDir();
    const stores = await openStores({ dataDir, secretKeys: TEST_SECRET });
    const receiver = await startReceiver(`whsec_${Buffer.alloc(32, 3).toString('base64')}`);
    const start = async (allow: string[]): Promise<{ worker: DeliveryWorker; guard: OutboundGuard }> => {
      const guard = new OutboundGuard(allow);
      const worker = new DeliveryWorker(stores.webhooks, { nodeId: () => 'node', guard, timeoutMs: 5000, retryWindowMs: 60_000, onError: () => {} });
      await worker.start();
      return { worker, guard };
    };
    try {
      // Written behind the service's back: the check at creation is not what stops it here.
      await stores.webhooks.add({ id: 'wh_private', url: receiver.url, events: ['purge.completed'], secret: receiver.secret, createdAt: Date.now() });
      const refused = await start([]);
      await stores.webhooks.emit([webhookEvent('purge.completed', { n: 1 })]);
      let attempts: { error: string | null }[] = [];
      await eventually(async () => (attempts = (await stores.webhooks.deliveries('wh_private', 1))[0]?.attempts ?? []).length > 0);
      await refused.worker.stop();
      await refused.guard.close();
      assert.match(attempts[0]!.error ?? '', /Outbound request refused: 127\.0\.0\.1 is not a public address \(loopback\)/);
      assert.equal(receiver.received.length, 0);

      const allowed = await start(['127.0.0.1/32']);
      const [delivery] = await stores.webhooks.deliveries('wh_private', 1);
      await stores.webhooks.redeliver('wh_private', delivery!.id, Date.now());
      await eventually(() => receiver.received.length === 1);
      await allowed.worker.stop();
      await allowed.guard.close();
    } finally {
      await receiver.stop();
      await stores.close();
    }
  });
});

describe('webhook delivery in a cluster', { timeout: 180_000 }, () => {
  it('delivers each event once, whichever of two nodes on PostgreSQL completed it', async () => {
    const receiver = await startReceiver();
    const cluster = await startCluster({ nodes: 2, edges: 0, assets: { 'a.jpg': await solidImage(10, 10, [0, 255, 0]) }, extraArgs: ['--outbound-allow', '127.0.0.1/32'] });
    try {
      const created = (await cluster.api('POST', '/api/v1/webhooks', { data: { type: 'webhooks', attributes: { url: receiver.url, events: ['purge.completed'] } } })) as any;
      receiver.secret = created.body.data.attributes.secret;
      const purges: string[] = [];
      for (let i = 0; i < 10; i++) {
        const { body } = await cluster.purge(`${cluster.nodes[0]!.renderUrl}/a.jpg?n=${i}`, i % 2);
        purges.push(body.data!.id);
      }
      await eventually(() => purges.every((id) => receiver.received.some((message) => message.data.purge_id === id)), 60_000);
      // Every delivery has settled (none pending, none held by a node): nothing more can arrive.
      await eventually(async () => {
        const { body } = (await cluster.api('GET', `/api/v1/webhooks/${created.body.data.id}/deliveries`, undefined, 1)) as any;
        return body.data.length === 10 && body.data.every((each: any) => each.attributes.state === 'delivered');
      });
      assert.deepEqual([...receiver.counts().values()], Array.from({ length: 10 }, () => 1), 'each message once');
      assert.deepEqual(receiver.rejected, []);
    } finally {
      await cluster.stop();
      await receiver.stop();
    }
  });
});
