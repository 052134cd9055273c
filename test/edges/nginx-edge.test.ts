import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderNginxConf } from '../../src/edges/nginx-conf.ts';
import { runCli } from '../helpers/cli.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { eventually, meanColour, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { CACHE_PURGE_MODULE, nginxDir, startNginx, type TestNginx } from '../helpers/nginx.ts';
import { freePort } from '../helpers/ports.ts';
import { purgeAndWait, requestPurge, waitForPurge, type PurgeApi } from '../helpers/purges.ts';
import { skipWithout } from '../helpers/tools.ts';

const RED: [number, number, number] = [220, 30, 30];
const BLUE: [number, number, number] = [30, 30, 220];

/** One Pictor (SQLite) behind a real nginx edge, its configuration printed by `pictor nginx-conf`. */
describe('an nginx edge', { skip: skipWithout('nginx') }, () => {
  let dataDir: string;
  let t: TestPictor;
  let nginx: TestNginx;
  let api: PurgeApi;
  let edgePort: number;
  let renderPort: number;
  const start = async (): Promise<void> => {
    t = await startPictor({
      dataDir,
      options: { port: String(renderPort) },
      assets: {
        'photos/a/cat.jpg': await solidImage(20, 20, RED),
        'photos/a/dog.jpg': await solidImage(20, 20, RED),
        'other/x.jpg': await solidImage(20, 20, RED),
        'mark.png': await solidImage(20, 20, RED, 'png'),
      },
    });
  };
  /** Through the edge: whether the image is blue, and the edge's Cache-Status entry. */
  const viaEdge = async (target: string): Promise<{ blue: boolean; status: string }> => {
    const response = await fetch(`http://127.0.0.1:${edgePort}${target}`);
    assert.equal(response.status, 200, target);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return { blue: b > r, status: response.headers.get('cache-status') ?? '' };
  };
  const cached = async (targets: string[]): Promise<void> => {
    for (const target of targets) {
      await viaEdge(target);
      assert.match((await viaEdge(target)).status, /ngx; HIT/, `${target} is cached at the edge`);
    }
  };

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-nginx-edge-'));
    [edgePort, renderPort] = [await freePort(), await freePort()];
    const purgePort = await freePort();
    await start();
    api = { adminUrl: t.adminUrl, apiKey: t.apiKey };
    const dir = nginxDir();
    const http = renderNginxConf({
      name: 'ngx',
      backends: [`127.0.0.1:${renderPort}`],
      listen: `127.0.0.1:${edgePort}`,
      purgeListen: `127.0.0.1:${purgePort}`,
      cachePath: path.join(dir, 'cache'),
    });
    nginx = await startNginx({ dir, http, ports: [edgePort, purgePort], main: [CACHE_PURGE_MODULE] });
    const added = await fetch(`${t.adminUrl}/api/v1/edges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'edges', attributes: { name: 'ngx', kind: 'nginx', url: `http://127.0.0.1:${purgePort}` } } }),
    });
    assert.equal(added.status, 201);
  });
  after(async () => {
    await nginx?.stop();
    await t?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('an asset purge leaves no old variant at the edge before it completes', async () => {
    const targets = ['/photos/a/cat.jpg', '/photos/a/cat.jpg?w=10', '/photos/a/cat.jpg?w=10&fm=png'];
    await cached(targets);
    await t.put('photos/a/cat.jpg', await solidImage(20, 20, BLUE));
    const done = await purgeAndWait(api, `${t.renderUrl}/photos/a/cat.jpg`);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.edges, { purged: ['ngx'], out_of_rotation: [] });
    const states = done.edge_states as { name: string; kind: string; state: string }[];
    assert.deepEqual(states.map((edge) => [edge.name, edge.kind, edge.state]), [['ngx', 'nginx', 'purged']]);
    for (const target of targets) assert.ok((await viaEdge(target)).blue, `${target} is the new image at the edge`);
  });

  it('a key whose derivative Pictor no longer has is still purged (the record outlives Pictor’s caches and a restart)', async () => {
    await cached(['/other/x.jpg?w=12']);
    await t.stop();
    await fs.rm(path.join(dataDir, 'cache'), { recursive: true, force: true });
    await start();
    api = { adminUrl: t.adminUrl, apiKey: api.apiKey };
    await t.put('other/x.jpg', await solidImage(20, 20, BLUE));
    assert.equal((await purgeAndWait(api, `${t.renderUrl}/other/x.jpg`)).status, 'completed');
    assert.ok((await viaEdge('/other/x.jpg?w=12')).blue);
  });

  it('a prefix purge removes every key under the folder and nothing else', async () => {
    for (const name of ['photos/a/cat.jpg', 'photos/a/dog.jpg', 'other/x.jpg']) await t.put(name, await solidImage(20, 20, RED));
    await purgeAndWait(api, `${t.renderUrl}/other/x.jpg`);
    await purgeAndWait(api, `${t.renderUrl}/photos/a/cat.jpg`);
    await cached(['/photos/a/cat.jpg?w=8', '/photos/a/dog.jpg?w=8', '/other/x.jpg?w=8']);
    for (const name of ['photos/a/cat.jpg', 'photos/a/dog.jpg', 'other/x.jpg']) await t.put(name, await solidImage(20, 20, BLUE));
    const { body } = await requestPurge(api, `${t.renderUrl}/photos/a/`, { match: 'prefix' });
    assert.equal((await waitForPurge(api, body.data!.id)).status, 'completed');
    assert.ok((await viaEdge('/photos/a/cat.jpg?w=8')).blue && (await viaEdge('/photos/a/dog.jpg?w=8')).blue, 'the folder is the new images');
    const outside = await viaEdge('/other/x.jpg?w=8');
    assert.ok(!outside.blue && /ngx; HIT/.test(outside.status), 'outside the folder stays cached');
  });

  it('a whole-Source purge and a sub-image purge reach every key that covers them', async () => {
    await cached(['/photos/a/dog.jpg?w=6', '/other/x.jpg?w=6&mark=/mark.png']);
    await t.put('photos/a/dog.jpg', await solidImage(20, 20, BLUE));
    const auth = { authorization: `Bearer ${api.apiKey}` };
    const response = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/purge`, { method: 'POST', headers: auth });
    const id = ((await response.json()) as { data: { id: string } }).data.id;
    assert.equal((await waitForPurge(api, id)).status, 'completed');
    assert.ok((await viaEdge('/photos/a/dog.jpg?w=6')).blue);

    await cached(['/other/x.jpg?w=20&fm=png&mark=/mark.png&mark-w=20&mark-h=20&mark-fit=scale']);
    await t.put('mark.png', await solidImage(20, 20, [0, 220, 0], 'png'));
    const { body } = await requestPurge(api, `${t.renderUrl}/mark.png`, { sub_image: true, source_id: t.defaultSourceId });
    assert.equal((await waitForPurge(api, body.data!.id)).status, 'completed');
    const marked = await fetch(`http://127.0.0.1:${edgePort}/other/x.jpg?w=20&fm=png&mark=/mark.png&mark-w=20&mark-h=20&mark-fit=scale`);
    const [r, g] = await meanColour(Buffer.from(await marked.arrayBuffer()));
    assert.ok(g > r, 'the parent carries the new (green) mark at the edge');
  });

  it('a forged edge header from a client cannot make nginx keep what Pictor did not record', async () => {
    const forged = { 'x-pictor-edge': 'nope', 'x-pictor-cache-key': 'k' };
    const response = await fetch(`http://127.0.0.1:${renderPort}/photos/a/cat.jpg?w=3`, { headers: forged });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-accel-expires'), '0');
    const throughEdge = await fetch(`http://127.0.0.1:${edgePort}/photos/a/cat.jpg?w=3`);
    assert.equal(throughEdge.headers.get('x-accel-expires'), null, 'nginx does not pass it on');
  });

  it('out of rotation, it is flushed and back by itself; one that does not answer stays out, even with no key recorded', async () => {
    await cached(['/photos/a/dog.jpg']);
    const down = { name: 'ngx-down', kind: 'nginx', url: `http://127.0.0.1:${await freePort()}` };
    const headers = { authorization: `Bearer ${api.apiKey}` };
    const body = JSON.stringify({ data: { type: 'edges', attributes: down } });
    const add = { method: 'POST', headers: { ...headers, 'content-type': 'application/vnd.api+json' }, body };
    assert.equal((await fetch(`${t.adminUrl}/api/v1/edges`, add)).status, 201);
    const stores = await openStores({ dataDir });
    try {
      for (const name of ['ngx', 'ngx-down']) await stores.edges.setInRotation(name, false, 'no answer within 500 ms');
    } finally {
      await stores.close();
    }
    type Attributes = { in_rotation: boolean; readmitted_by: string | null; last_error: string | null };
    const edges = async (): Promise<Record<string, Attributes>> => {
      const listed = (await (await fetch(`${t.adminUrl}/api/v1/edges`, { headers })).json()) as { data: { id: string; attributes: Attributes }[] };
      return Object.fromEntries(listed.data.map((entry) => [entry.id, entry.attributes]));
    };
    await eventually(async () => {
      const now = await edges();
      return now.ngx!.in_rotation && /could not be flushed/.test(now['ngx-down']!.last_error ?? '');
    }, 60_000);
    const now = await edges();
    assert.deepEqual([now.ngx!.readmitted_by, now['ngx-down']!.in_rotation], ['automatic', false]);
    assert.match((await viaEdge('/photos/a/dog.jpg')).status, /ngx; MISS/, 'flushed before it came back');
    assert.equal((await fetch(`${t.adminUrl}/api/v1/edges/ngx-down`, { method: 'DELETE', headers })).status, 204);
  });

  it('pictor nginx-conf prints this configuration, and refuses a bad backend or name', async () => {
    const backends = ['--backend', '10.0.0.5:8080', '--backend', '10.0.0.6:8080'];
    const printed = await runCli(['nginx-conf', '--name', 'ngx', ...backends, '--purger', '10.0.0.0/24']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, renderNginxConf({ name: 'ngx', backends: ['10.0.0.5:8080', '10.0.0.6:8080'], purgers: ['10.0.0.0/24'] }));
    assert.match(printed.stdout, /allow 10\.0\.0\.0\/24;\n {4}deny all;/);
    for (const [args, message] of [
      [['--name', 'ngx', '--backend', 'nope'], /is not HOST:PORT/],
      [['--name', 'Bad Name', '--backend', '10.0.0.5:8080'], /must be the name it is registered under/],
    ] as const) {
      const refused = await runCli(['nginx-conf', ...args]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, message);
    }
  });
});
