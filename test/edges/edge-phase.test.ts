import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EdgeOrder, EdgeOutcome } from '../../src/edges/edge-driver.ts';
import { registerEdgeKind } from '../../src/edges/kinds.ts';
import { optionalEndpoint, requiredSecret } from '../../src/edges/vendors/vendor-settings.ts';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { runCli } from '../helpers/cli.ts';
import { purgeStatus, requestPurge, waitForPurge, type PurgeApi } from '../helpers/purges.ts';
import { DashboardClient } from '../dashboard/http-client.ts';

/**
 * The vendor path of the edge step, through a real Pictor and its API: a CDN kind registered here whose driver
 * answers what each test scripts, per edge, and records what it was asked.
 */
interface Script {
  purge: EdgeOutcome[];
  poll: EdgeOutcome[];
  orders: EdgeOrder[];
  polls: string[];
}
const scripts = new Map<string, Script>();
const script = (edge: string, purge: EdgeOutcome[], poll: EdgeOutcome[] = []): Script => {
  const entry = { purge, poll, orders: [], polls: [] };
  scripts.set(edge, entry);
  return entry;
};

registerEdgeKind({
  name: 'test-cdn',
  addressed: false,
  settings: { endpoint: { required: false, about: 'the API' } },
  secrets: { api_token: { required: true, about: 'a token' } },
  parse: (attributes) => {
    const endpoint = optionalEndpoint(attributes);
    const settings: Record<string, string> = endpoint === undefined ? {} : { endpoint };
    return { settings, secrets: { api_token: requiredSecret(attributes, 'api_token', 'a token') } };
  },
  driver: (edge) => {
    const entry = scripts.get(edge.name)!;
    assert.equal(edge.secrets.api_token, `token-of-${edge.name}`, 'the driver gets the secret, opened');
    return {
      purge: async (order) => (entry.orders.push(order), entry.purge.length > 1 ? entry.purge.shift()! : entry.purge[0]!),
      poll: async (vendorId) => (entry.polls.push(vendorId), entry.poll.length > 1 ? entry.poll.shift()! : entry.poll[0]!),
    };
  },
});

type EdgeState = { name: string; kind: string; state: string; vendor_id: string | null; error: string | null; attempts: number };

describe('the edge step with CDN edges', () => {
  let dataDir: string;
  let t: TestPictor;
  let api: PurgeApi;
  const addEdge = async (name: string): Promise<void> => {
    const response = await fetch(`${t.adminUrl}/api/v1/edges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'edges', attributes: { name, kind: 'test-cdn', api_token: `token-of-${name}` } } }),
    });
    assert.equal(response.status, 201, await response.text());
  };
  const removeEdges = async (): Promise<void> => {
    const auth = { authorization: `Bearer ${api.apiKey}` };
    for (const name of scripts.keys()) await fetch(`${t.adminUrl}/api/v1/edges/${name}`, { method: 'DELETE', headers: auth });
    scripts.clear();
  };
  const purge = async (): Promise<string> => {
    const { status, body } = await requestPurge(api, `${t.renderUrl}/photos/cat.jpg`);
    assert.equal(status, 200);
    return body.data!.id;
  };

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-edge-phase-'));
    t = await startPictor({ dataDir, assets: { 'photos/cat.jpg': await solidImage(8, 8, [200, 0, 0]) }, options: { edgeRetrySeconds: '10' } });
    api = { adminUrl: t.adminUrl, apiKey: t.apiKey };
  });
  after(async () => {
    await t?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(removeEdges);

  it('tries a CDN that fails transiently again, no sooner than it asks, until it purges; the status shows each try', async () => {
    const entry = script('cdn-a', [{ state: 'retry', error: 'answered 503', afterMs: 1500 }, { state: 'purged' }]);
    await addEdge('cdn-a');
    const id = await purge();
    await eventually(async () => ((await purgeStatus(api, id)).edge_states as EdgeState[])[0]?.attempts === 1);
    const pending = await purgeStatus(api, id);
    assert.equal(pending.status, 'pending');
    const states = (pending.edge_states as EdgeState[]).map((edge) => [edge.name, edge.kind, edge.state, edge.error]);
    assert.deepEqual(states, [['cdn-a', 'test-cdn', 'pending', 'answered 503']]);
    const done = await waitForPurge(api, id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.edges, { purged: ['cdn-a'], out_of_rotation: [] });
    assert.deepEqual((done.edge_states as EdgeState[]).map((edge) => [edge.state, edge.attempts, edge.error]), [['purged', 2, null]]);
    assert.ok(entry.orders[1]!.id === entry.orders[0]!.id, 'the same idempotency key on every try');
    assert.equal(entry.orders[0]!.id, `${id}:cdn-a`);
    // Every host of the default Source, each with the asset's path.
    assert.ok(entry.orders[0]!.urls.length > 0);
    for (const url of entry.orders[0]!.urls) assert.deepEqual({ ...url, host: '' }, { host: '', path: '/photos/cat.jpg', prefix: false });
    assert.equal(entry.orders[0]!.keys.length, 1);
  });

  it('polls a purge the CDN has in progress by its id, without starting another', async () => {
    const entry = script('cdn-b', [{ state: 'pending', vendorId: 'I2J0' }], [{ state: 'pending', vendorId: 'I2J0' }, { state: 'purged' }]);
    await addEdge('cdn-b');
    const done = await waitForPurge(api, await purge());
    assert.equal(done.status, 'completed');
    assert.equal(entry.orders.length, 1);
    assert.deepEqual(entry.polls, ['I2J0', 'I2J0']);
    assert.deepEqual((done.edge_states as EdgeState[]).map((edge) => [edge.state, edge.vendor_id, edge.attempts]), [['purged', 'I2J0', 3]]);
  });

  it('a CDN that refuses fails the purge and says why, without holding up another edge', async () => {
    const refused = script('cdn-c', [{ state: 'failed', error: 'answered 403: bad token' }]);
    const fine = script('cdn-d', [{ state: 'purged' }]);
    await addEdge('cdn-c');
    await addEdge('cdn-d');
    const done = await waitForPurge(api, await purge());
    assert.equal(done.status, 'failed');
    assert.match(String(done.error), /Pictor's nodes and caches are purged; edge cdn-c \(test-cdn\) failed: answered 403: bad token/);
    assert.deepEqual(
      (done.edge_states as EdgeState[]).map((edge) => [edge.name, edge.state, edge.error]),
      [['cdn-c', 'failed', 'answered 403: bad token'], ['cdn-d', 'purged', null]],
    );
    assert.deepEqual([refused.orders.length, fine.orders.length], [1, 1]);
  });

  it('pictor purge --wait and the dashboard name each edge\'s state; the command fails when an edge failed', async () => {
    script('cdn-g', [{ state: 'failed', error: 'answered 404: no such zone' }]);
    script('cdn-h', [{ state: 'purged' }]);
    await addEdge('cdn-g');
    await addEdge('cdn-h');
    const waited = await runCli(['purge', `${t.renderUrl}/photos/cat.jpg`, '--api', t.adminUrl, '--wait'], { env: { PICTOR_API_KEY: api.apiKey } });
    assert.equal(waited.code, 1, waited.stderr);
    assert.match(waited.stdout, /^failed .* edges=cdn-g:failed,cdn-h:purged .* error: Pictor's nodes and caches are purged; /);
    assert.match(waited.stdout, /edge cdn-g \(test-cdn\) failed: answered 404: no such zone\n$/);
    const id = /id=([0-9a-f-]+)/.exec(waited.stdout)![1]!;
    const dashboard = new DashboardClient(t.adminUrl);
    assert.equal((await dashboard.signIn('admin', t.adminPassword)).status, 303);
    const summary = JSON.parse((await dashboard.get(`/dashboard/purges/${id}/status`)).text) as { edgesLabel: string; statusLabel: string };
    assert.equal(summary.statusLabel, 'Failed');
    assert.equal(summary.edgesLabel, 'cdn-g (test-cdn): failed, last error: answered 404: no such zone; cdn-h (test-cdn): purged');
    assert.match((await dashboard.get(`/dashboard/tools?purge=${id}`)).text, /cdn-g \(test-cdn\): failed, last error: answered 404: no such zone/);
  });

  it('gives up on a CDN that keeps failing once the retry window is over, with the last error', async () => {
    const entry = script('cdn-e', [{ state: 'retry', error: 'connection refused (ECONNREFUSED)' }]);
    await addEdge('cdn-e');
    const done = await waitForPurge(api, await purge());
    assert.equal(done.status, 'failed');
    const [state] = done.edge_states as EdgeState[];
    assert.equal(state?.state, 'failed');
    assert.match(state!.error!, /^gave up after \d+ tries: connection refused \(ECONNREFUSED\)$/);
    assert.equal(state?.attempts, entry.orders.length);
  });

  it('a purge in progress at a CDN outlives a restart: it is polled by its stored id, not started again', async () => {
    const entry = script('cdn-f', [{ state: 'pending', vendorId: 'I9' }], [{ state: 'pending', vendorId: 'I9' }]);
    await addEdge('cdn-f');
    const id = await purge();
    await eventually(async () => ((await purgeStatus(api, id)).edge_states as EdgeState[])[0]?.vendor_id === 'I9');
    await t.stop();
    entry.poll = [{ state: 'purged' }];
    t = await startPictor({ dataDir, options: { edgeRetrySeconds: '10' } });
    api = { adminUrl: t.adminUrl, apiKey: api.apiKey };
    const done = await waitForPurge(api, id);
    assert.equal(done.status, 'completed');
    assert.equal(entry.orders.length, 1, 'the CDN was asked to purge once');
    assert.equal(entry.polls.at(-1), 'I9');
  });
});
