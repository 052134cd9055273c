import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DashboardClient } from '../dashboard/http-client.ts';
import { apiOutcome, FULL_STORE, startFullDiskPictor, untilRefused, type FullDiskPictor, type Outcome } from '../helpers/full-disk.ts';
import { solidImage } from '../helpers/pictor.ts';
import { smallFsUnavailable } from '../helpers/small-fs.ts';

const unavailable = await smallFsUnavailable();

/** Free bytes left on the filled disk: room for a few writes to the store's log before it is full. */
const ROOM = 64 * 1024;

/**
 * Every write of the admin API and the dashboard, made while the disk holding the store is full: each is
 * answered 503 (nothing recorded) or acknowledged, and then it is on disk. Each test fills the disk, writes
 * until one write is refused, frees the disk and restarts the server on the same data directory: every
 * acknowledged write is there, the refused one is not.
 */
describe('admin writes on a full disk (a real SQLite on a small file system)', { skip: unavailable, timeout: 300_000 }, () => {
  let pictor: FullDiskPictor;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    pictor = await startFullDiskPictor({ after: (fn) => cleanups.unshift(fn) });
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  /**
   * Fills the disk but for a little room (so that the first writes may fit and be acknowledged), writes until
   * one write is refused, frees the disk and restarts the server.
   */
  async function onFullDisk(what: string, attempt: (i: number) => Promise<Outcome>): Promise<{ acknowledged: number[]; refused: number }> {
    await pictor.small.fill(ROOM);
    try {
      return await untilRefused(what, attempt);
    } finally {
      await pictor.small.free();
      await pictor.restart();
    }
  }

  const api = (method: string, urlPath: string, body?: unknown) => pictor.api(method, urlPath, body);

  it('an edge added or removed is answered 503, or acknowledged and still there after a restart', async () => {
    const edge = (name: string, port: number) => ({ data: { type: 'edges', attributes: { name, url: `http://127.0.0.1:${port}` } } });
    for (let i = 0; i < 40; i++) assert.equal((await api('POST', '/api/v1/edges', edge(`kept-${i}`, 2000 + i))).status, 201);

    const added = await onFullDisk('edge added', async (i) => apiOutcome(await api('POST', '/api/v1/edges', edge(`added-${i}`, 3000 + i)), 'POST /api/v1/edges'));
    let names = ((await api('GET', '/api/v1/edges')).body.data as { id: string }[]).map((entry) => entry.id);
    for (const i of added.acknowledged) assert.ok(names.includes(`added-${i}`), `the acknowledged edge added-${i} is kept`);
    assert.ok(!names.includes(`added-${added.refused}`), 'the refused edge is not there');

    const removed = await onFullDisk('edge removed', async (i) => apiOutcome(await api('DELETE', `/api/v1/edges/kept-${i}`), 'DELETE /api/v1/edges/…'));
    names = ((await api('GET', '/api/v1/edges')).body.data as { id: string }[]).map((entry) => entry.id);
    for (const i of removed.acknowledged) assert.ok(!names.includes(`kept-${i}`), `the acknowledged removal of kept-${i} is kept`);
    assert.ok(names.includes(`kept-${removed.refused}`), 'the edge whose removal was refused is still there');
  });

  it('a takedown made or lifted is answered 503, or acknowledged and still in effect after a restart', async () => {
    const takedown = (name: string) => ({ data: { type: 'takedowns', attributes: { url: `${pictor.server.renderUrl}/${name}.jpg`, reason: `notice ${name}` } } });
    const lifting: string[] = [];
    for (let i = 0; i < 20; i++) {
      const made = await api('POST', '/api/v1/takedowns', takedown(`lift-${i}`));
      assert.equal(made.status, 201, made.detail);
      lifting.push(made.body.data.id);
    }

    const ids = new Map<number, string>();
    // A takedown is recorded (and in effect) before its purge: a refusal of the purge says so, and names it.
    const unfinished = /^Takedown (\S+) is recorded and in effect \(the asset is answered 451\), but Pictor cannot write its purge to its store \(the disk/;
    let halfDone: string | undefined;
    const made = await onFullDisk('takedown', async (i) => {
      const answer = await api('POST', '/api/v1/takedowns', takedown(`down-${i}`));
      if (answer.status === 201) ids.set(i, answer.body.data.id);
      halfDone = unfinished.exec(answer.detail ?? '')?.[1];
      return { ...apiOutcome(answer, 'POST /api/v1/takedowns'), says: halfDone === undefined ? undefined : unfinished };
    });
    for (const i of made.acknowledged) {
      const kept = await api('GET', `/api/v1/takedowns/${ids.get(i)}`);
      assert.equal(kept.body.data.attributes.status, 'active');
      assert.notEqual(kept.body.data.attributes.purge_id, null, 'with its purge');
      assert.equal((await fetch(`${pictor.server.renderUrl}/down-${i}.jpg`)).status, 451);
    }
    if (halfDone === undefined) {
      const listed = (await api('GET', '/api/v1/takedowns?page[size]=100')).body.data as { attributes: { path: string } }[];
      assert.ok(!listed.some((entry) => entry.attributes.path === `/down-${made.refused}.jpg`), 'the refused takedown is not there');
    } else {
      assert.equal((await fetch(`${pictor.server.renderUrl}/down-${made.refused}.jpg`)).status, 451, 'the takedown said to be recorded is in effect');
      const finished = await api('POST', '/api/v1/takedowns', takedown(`down-${made.refused}`));
      assert.equal(finished.status, 200, 'sent again, it is finished');
      assert.equal(finished.body.data.id, halfDone);
      assert.notEqual(finished.body.data.attributes.purge_id, null);
    }

    const lifted = await onFullDisk('lift', async (i) => apiOutcome(await api('DELETE', `/api/v1/takedowns/${lifting[i]}`), 'DELETE /api/v1/takedowns/…'));
    for (const i of lifted.acknowledged) assert.equal((await api('GET', `/api/v1/takedowns/${lifting[i]}`)).body.data.attributes.status, 'lifted');
    assert.equal((await api('GET', `/api/v1/takedowns/${lifting[lifted.refused]}`)).body.data.attributes.status, 'active', 'the refused lift left it active');
  });

  it('a Source created or changed is answered 503, or acknowledged and the same after a restart', async () => {
    const source = (name: string) => ({ data: { type: 'sources', attributes: { name, deployment: { type: 'folder', folder_path: pictor.assetsDir } } } });
    const ids = new Map<number, string>();
    const created = await onFullDisk('Source created', async (i) => {
      const answer = await api('POST', '/api/v1/sources', source(`made-${i}`));
      if (answer.status === 201) ids.set(i, answer.body.data.id);
      return apiOutcome(answer, 'POST /api/v1/sources');
    });
    const names = ((await api('GET', '/api/v1/sources')).body.data as { attributes: { name: string } }[]).map((entry) => entry.attributes.name);
    for (const i of created.acknowledged) assert.ok(names.includes(`made-${i}`), `the acknowledged Source made-${i} is kept`);
    assert.ok(!names.includes(`made-${created.refused}`), 'the refused Source is not there');

    const renamed = await api('POST', '/api/v1/sources', source('renamed-0'));
    assert.equal(renamed.status, 201, renamed.detail);
    const id = renamed.body.data.id as string;
    const changed = await onFullDisk('Source changed', async (i) =>
      apiOutcome(await api('PATCH', `/api/v1/sources/${id}`, { data: { type: 'sources', id, attributes: { name: `renamed-${i + 1}` } } }), 'PATCH /api/v1/sources/…'),
    );
    const last = changed.acknowledged.at(-1);
    assert.equal((await api('GET', `/api/v1/sources/${id}`)).body.data.attributes.name, `renamed-${last === undefined ? 0 : last + 1}`);
  });

  it('an asset changed, added, uploaded or refreshed is answered 503, or acknowledged and indexed as answered after a restart', async () => {
    const assets = `/api/v1/sources/${pictor.defaultSourceId}/assets`;
    assert.equal((await api('POST', `${assets}/add/photo.jpg`)).status, 202);
    const named = await onFullDisk('asset PATCH', async (i) =>
      apiOutcome(await api('PATCH', `${assets}/photo.jpg`, { data: { type: 'assets', attributes: { name: `name ${i}` } } }), 'PATCH …/assets/photo.jpg'),
    );
    const last = named.acknowledged.at(-1);
    assert.equal((await api('GET', `${assets}/photo.jpg`)).body.data.attributes.name, last === undefined ? null : `name ${last}`);

    for (let i = 0; i < 40; i++) await fs.writeFile(path.join(pictor.assetsDir, `added-${i}.jpg`), await solidImage(10 + i, 10, [i, 0, 0]));
    const added = await onFullDisk('asset added', async (i) => apiOutcome(await api('POST', `${assets}/add/added-${i}.jpg`), 'POST …/assets/add/…'));
    // A refused add may still be indexed later: reading the asset from its origin queued it for the background
    // indexer, which indexes whatever is served (asset-indexer.ts).
    for (const i of added.acknowledged) assert.equal((await api('GET', `${assets}/added-${i}.jpg`)).body.data.attributes.media_width, 10 + i);

    // An upload or a refresh also waits for its purge, whose edges' states must be written (the edges an earlier
    // case registered): on a full disk that purge waits for space, and the answer is a 503 saying so.
    const waited = (outcome: Outcome): Outcome => ({ ...outcome, says: new RegExp(`${FULL_STORE.source}|The purge of this refresh \\(\\S+\\) has not completed`) });
    const uploads = await Promise.all(Array.from({ length: 40 }, (_, i) => solidImage(20 + i, 10, [0, i, 0])));
    const uploaded = await onFullDisk('upload', async (i) =>
      waited(apiOutcome(await api('POST', `/api/v1/sources/${pictor.defaultSourceId}/upload/up-${i}.jpg`, uploads[i]), 'POST …/upload/…')),
    );
    for (const i of uploaded.acknowledged) assert.equal((await api('GET', `${assets}/up-${i}.jpg`)).body.data.attributes.media_width, 20 + i);

    // Each refresh finds new bytes at the origin: the index says which refresh it last took in.
    const refreshed = await onFullDisk('refresh', async (i) => {
      await fs.writeFile(path.join(pictor.assetsDir, 'photo.jpg'), await solidImage(100 + i, 30, [10, 100, 200]));
      return waited(apiOutcome(await api('POST', `${assets}/refresh/photo.jpg`), 'POST …/assets/refresh/…'));
    });
    const width = (await api('GET', `${assets}/photo.jpg`)).body.data.attributes.media_width;
    const lastRefresh = refreshed.acknowledged.at(-1);
    assert.equal(width, lastRefresh === undefined ? 40 : 100 + lastRefresh, 'the index holds what the last acknowledged refresh read');
  });

  it('an API key created or revoked in the dashboard is answered 503, or acknowledged and the same after a restart', async () => {
    const signedIn = async (): Promise<DashboardClient> => {
      const client = new DashboardClient(pictor.server.adminUrl);
      assert.equal((await client.signIn('admin', pictor.adminPassword)).status, 303);
      return client;
    };
    let client = await signedIn();
    for (let i = 0; i < 20; i++) {
      assert.equal((await client.post('/dashboard/keys', { _csrf: await client.csrf('/dashboard/keys'), name: `revocable-${i}`, permissions: 'purge' })).status, 303);
    }
    const listKeys = async () => JSON.parse((await pictor.cli(['keys', 'list', '--data', pictor.dataDir, '--json'])).stdout) as { id: string; name: string; revokedAt?: string }[];
    const existing = await listKeys();
    const revocable = Array.from({ length: 20 }, (_, i) => existing.find((key) => key.name === `revocable-${i}`)!.id);
    const created = await onFullDisk('key created', async (i) => {
      const page = await client.post('/dashboard/keys', { _csrf: await client.csrf('/dashboard/keys'), name: `made-${i}`, permissions: 'purge' });
      return dashboardOutcome(page, 'POST /dashboard/keys');
    });
    const keys = await listKeys();
    for (const i of created.acknowledged) assert.ok(keys.some((key) => key.name === `made-${i}`), `the acknowledged key made-${i} is kept`);
    assert.ok(!keys.some((key) => key.name === `made-${created.refused}`), 'the refused key is not there');

    client = await signedIn();
    const revoked = await onFullDisk('key revoked', async (i) => {
      const page = await client.post(`/dashboard/keys/${revocable[i]}/revoke`, { _csrf: await client.csrf('/dashboard/keys') });
      return dashboardOutcome(page, 'POST /dashboard/keys/…/revoke');
    });
    const afterwards = await listKeys();
    const state = (id: string) => afterwards.find((key) => key.id === id)!.revokedAt;
    for (const i of revoked.acknowledged) assert.ok(state(revocable[i]!), `the acknowledged revocation of ${revocable[i]} is kept`);
    assert.equal(state(revocable[revoked.refused]!), undefined, 'the key whose revocation was refused is still active');
  });

  it('a dashboard sign-in (session and trusted browser) or sign-out is answered 503, or acknowledged and the same after a restart', async () => {
    const clients: DashboardClient[] = [];
    const signIns = await onFullDisk('sign-in', async (i) => {
      const client = (clients[i] = new DashboardClient(pictor.server.adminUrl));
      const page = await client.signIn('admin', pictor.adminPassword);
      return dashboardOutcome(page, 'POST /dashboard/sign-in');
    });
    for (const i of signIns.acknowledged) {
      assert.equal((await moved(clients[i]!).get('/dashboard/tools')).status, 200, `the session of sign-in ${i} is kept`);
      assert.ok(await deviceKnown(clients[i]!), `the browser of sign-in ${i} is still trusted`);
    }
    const refused = clients[signIns.refused]!;
    assert.equal(refused.cookies.get('pictor_session'), undefined, 'the refused sign-in gave no session');
    assert.equal(refused.cookies.get('pictor_device'), undefined, 'nor a device cookie');

    const leaving: DashboardClient[] = [];
    for (let i = 0; i < 20; i++) {
      const client = (leaving[i] = new DashboardClient(pictor.server.adminUrl));
      assert.equal((await client.signIn('admin', pictor.adminPassword)).status, 303);
    }
    const sessions = leaving.map((client) => client.cookies.get('pictor_session'));
    const signOuts = await onFullDisk('sign-out', async (i) =>
      dashboardOutcome(await leaving[i]!.post('/dashboard/sign-out', { _csrf: await leaving[i]!.csrf() }), 'POST /dashboard/sign-out'),
    );
    for (const i of signOuts.acknowledged) {
      const stale = new DashboardClient(pictor.server.adminUrl);
      stale.cookies.set('pictor_session', sessions[i]!);
      assert.equal((await stale.get('/dashboard/tools')).status, 303, `the session ended by sign-out ${i} stays ended`);
    }
    assert.equal(leaving[signOuts.refused]!.cookies.get('pictor_session'), sessions[signOuts.refused], 'the refused sign-out kept its cookie');
    assert.equal((await moved(leaving[signOuts.refused]!).get('/dashboard/tools')).status, 200, 'the refused sign-out left its session working');
  });

  /** The same browser (its cookies), talking to the restarted server. */
  function moved(client: DashboardClient): DashboardClient {
    const again = new DashboardClient(pictor.server.adminUrl);
    for (const [name, value] of client.cookies) again.cookies.set(name, value);
    return again;
  }

  /** Whether the store holds the trusted-browser record of a client's device cookie (read beside the running server). */
  async function deviceKnown(client: DashboardClient): Promise<boolean> {
    const cookie = client.cookies.get('pictor_device');
    if (cookie === undefined) return false;
    const db = new Database(path.join(pictor.dataDir, 'pictor.db'), { readonly: true });
    try {
      return db.prepare('SELECT 1 FROM dashboard_devices WHERE id_hash = ?').get(createHash('sha256').update(cookie).digest('hex')) !== undefined;
    } finally {
      db.close();
    }
  }
});

/** A dashboard form post as an outcome: a redirect acknowledges, a 503 page refuses; anything else fails the test. */
function dashboardOutcome(page: { status: number; text: string }, what: string): Outcome {
  if (page.status === 303) return { ok: true, text: '' };
  assert.equal(page.status, 503, `${what}: ${page.status} ${page.text.slice(0, 500)}`);
  const message = page.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  assert.match(message, FULL_STORE);
  return { ok: false, text: message };
}
