import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClusterStatus, EdgeStatus } from '../../src/cluster/cluster-status.ts';
import { renderVcl } from '../../src/edges/vcl.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { cli } from '../helpers/cli.ts';
import { eventually, meanColour, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';

const RED: [number, number, number] = [220, 30, 30];
const BLUE: [number, number, number] = [30, 30, 220];
/** Long enough for a few flushes that fail, each waiting twice as long as the one before. */
const HEAL_WAIT_MS = 120_000;

/**
 * One Pictor (SQLite) healing its edges every second, behind one real Varnish; a second Pictor with healing
 * off names the same Varnish in its own registry. While the edge must stay out (to be looked at), it refuses
 * PURGE (a VCL whose purgers are elsewhere): the flushes of the healer fail there as they do at a stopped edge.
 */
describe('an edge out of rotation heals by itself once a flush succeeds', { skip: skipWithout('varnish'), timeout: 300_000 }, () => {
  let t: TestPictor;
  let off: TestPictor;
  let edge: TestVarnish;
  let vclDir: string;
  before(async () => {
    t = await startPictor({ assets: { 'cat.jpg': await solidImage(40, 30, RED) }, options: { edgeHealIntervalSeconds: '1' } });
    off = await startPictor({ options: { edgeHealIntervalSeconds: '0' } });
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-h' });
    vclDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-heal-vcl-'));
    fs.chmodSync(vclDir, 0o755); // varnishd reads it as its own user
    const refusing = path.join(vclDir, 'refusing.vcl');
    fs.writeFileSync(refusing, renderVcl({ backends: [`127.0.0.1:${t.renderPort}`], purgers: ['192.0.2.1'] }), { mode: 0o644 });
    edge.admin('vcl.load', 'refusing', refusing);
    for (const pictor of [t, off]) {
      const response = await fetch(`${pictor.adminUrl}/api/v1/edges`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pictor.apiKey}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'edges', attributes: { name: edge.name, url: edge.url } } }),
      });
      assert.equal(response.status, 201);
    }
    // Out of rotation in the registry of the Pictor that does not heal, as a missed purge leaves it.
    const stores = await openStores({ dataDir: off.dataDir });
    try {
      await stores.edges.setInRotation(edge.name, false, 'no answer within 500 ms');
    } finally {
      await stores.close();
    }
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
    await off?.stop();
    if (vclDir) fs.rmSync(vclDir, { recursive: true, force: true });
  });

  const status = async (pictor: TestPictor): Promise<EdgeStatus> => {
    const response = await fetch(`${pictor.adminUrl}/api/v1/status`, { headers: { authorization: `Bearer ${pictor.apiKey}` } });
    assert.equal(response.status, 200);
    const document = (await response.json()) as { data: { attributes: ClusterStatus } };
    return document.data.attributes.edges.find((entry) => entry.name === edge.name)!;
  };
  /** The colour and Cache-Status of cat.jpg, asked of the edge itself. */
  const atEdge = async (): Promise<{ blue: boolean; cacheStatus: string }> => {
    const response = await fetch(`${edge.url}/cat.jpg`);
    const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
    return { blue: b > r, cacheStatus: response.headers.get('cache-status') ?? '' };
  };
  const metric = async (line: string): Promise<number | undefined> => {
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    const found = text.split('\n').find((row) => row.startsWith(`${line} `));
    return found === undefined ? undefined : Number(found.slice(line.length + 1));
  };

  it('a stopped edge misses a purge and is out; its flushes fail while it refuses; once they succeed it is back, flushed', async () => {
    await atEdge();
    assert.match((await atEdge()).cacheStatus, /edge-h; hit/);
    edge.admin('vcl.use', 'refusing');
    const cache = edge.cachePid();
    process.kill(cache, 'SIGSTOP');
    let done: Record<string, unknown>;
    try {
      await t.put('cat.jpg', await solidImage(40, 30, BLUE));
      done = await t.purgeAndWait(`${t.renderUrl}/cat.jpg`);
    } finally {
      process.kill(cache, 'SIGCONT');
    }
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.edges, { purged: [], out_of_rotation: ['edge-h'] });

    // The healer's flushes fail, each recorded as the last error; the edge stays out and still holds the old image.
    await eventually(async () => /could not be flushed: answered 403/.test((await status(t)).last_error ?? ''), HEAL_WAIT_MS);
    const out = await status(t);
    assert.equal(out.in_rotation, false);
    assert.match(out.reason ?? '', /no answer within/, 'the reason stays the purge it missed');
    const stale = await atEdge();
    assert.ok(!stale.blue && /hit/.test(stale.cacheStatus), `the edge still holds the old image: ${stale.cacheStatus}`);
    assert.equal(await metric('pictor_edge_state{edge="edge-h",state="out_of_rotation"}'), 1);

    edge.admin('vcl.use', 'boot');
    await eventually(async () => (await status(t)).in_rotation, HEAL_WAIT_MS);
    const fresh = await atEdge();
    assert.ok(fresh.blue, 'the old image is gone from the edge');
    assert.match(fresh.cacheStatus, /fwd=miss/);

    const back = await status(t);
    assert.deepEqual([back.reason, back.readmitted_by, back.readmitted_at], [null, 'automatic', back.since]);
    assert.ok(Date.parse(back.since) > Date.parse(out.since));
    assert.match(back.last_error ?? '', /could not be flushed: answered 403/, 'the last error is kept');
    assert.equal(await metric('pictor_edge_state{edge="edge-h",state="in_rotation"}'), 1);
    assert.equal(await metric('pictor_edge_readmitted_timestamp_seconds{edge="edge-h",by="automatic"}'), Date.parse(back.since) / 1000);
    const table = (await cli(['status', '--data', t.dataDir])).stdout;
    assert.match(table, /^edge-h\t.*\tin rotation \(re-admitted after a flush\)\t/m);

    const next = await t.purgeAndWait(`${t.renderUrl}/cat.jpg`);
    assert.deepEqual(next.edges, { purged: ['edge-h'], out_of_rotation: [] }, 'back in rotation, it takes purges again');
    const purged = await status(t);
    assert.ok(purged.last_purge_at !== null && Date.parse(purged.last_purge_at) >= Date.parse(back.since), 'its last purge is shown');
    assert.ok((await metric('pictor_edge_last_purge_timestamp_seconds{edge="edge-h"}'))! >= Date.parse(back.since) / 1000);
  });

  it('with --edge-heal-interval 0 the same edge stays out until readmitted by hand', async () => {
    // Taken out in `before`, ahead of the other Pictor's take-out: that one has healed by now, this one did not.
    const stays = await status(off);
    assert.deepEqual([stays.in_rotation, stays.reason, stays.readmitted_at, stays.readmitted_by], [false, 'no answer within 500 ms', null, null]);
    const headers = { authorization: `Bearer ${off.apiKey}` };
    const readmit = await fetch(`${off.adminUrl}/api/v1/edges/edge-h/readmit`, { method: 'POST', headers });
    assert.equal(readmit.status, 200);
    const back = await status(off);
    assert.deepEqual([back.in_rotation, back.readmitted_by, back.readmitted_at], [true, 'operator', back.since]);
  });
});
