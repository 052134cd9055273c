import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { PROBE_INTERVAL_MS } from '../../src/cache/disk-store.ts';
import { solidImage, startPictor } from '../helpers/pictor.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { mountSmallFs, smallFsUnavailable, type SmallFs } from '../helpers/small-fs.ts';

const unavailable = await smallFsUnavailable();

/** How long a recovered disk may take to be noticed: the probe interval, and time for a render or two. */
const RECOVERY_DEADLINE_MS = 2 * PROBE_INTERVAL_MS + 5000;

interface Node {
  renderUrl: string;
  adminUrl: string;
}

/** Renders a width not asked for before, so that every call is a miss that the cache tries to store. */
let width = 10;
async function renderNew(node: Node): Promise<{ status: number; cacheStatus: string; url: string }> {
  const url = `${node.renderUrl}/photo.jpg?w=${width++}`;
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, cacheStatus: response.headers.get('cache-status') ?? '', url };
}

async function healthOf(url: string): Promise<{ status: string; problems?: { condition: string; problem: string; since: string }[] }> {
  const response = await fetch(`${url}/healthz`);
  assert.equal(response.status, 200, 'a degraded node still says it serves');
  return (await response.json()) as never;
}

async function metricsOf(node: Node): Promise<string> {
  return (await fetch(`${node.adminUrl}/metrics`)).text();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Renders until the node reports the disk cache degraded; the first failing write is what trips it. */
async function untilDegraded(node: Node): Promise<void> {
  for (let tries = 0; (await healthOf(node.renderUrl)).status !== 'degraded'; tries++) {
    assert.ok(tries < 50, 'the failing disk was not noticed');
    assert.equal((await renderNew(node)).status, 200);
    await pause(20);
  }
}

/** Checks everything a degraded node must say, on both listeners and in /metrics. */
async function assertDegraded(node: Node, dataDir: string, reason: RegExp, code: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const answer = await renderNew(node);
    assert.equal(answer.status, 200, 'renders are still served');
    assert.doesNotMatch(answer.cacheStatus, /stored/, 'a render that is not written to disk does not say stored');
    const again = await fetch(answer.url);
    assert.equal(again.status, 200);
    assert.match(again.headers.get('cache-status') ?? '', /^Pictor; hit; detail=memory/, 'the memory tier still serves it');
  }
  for (const url of [node.renderUrl, node.adminUrl]) {
    const health = await healthOf(url);
    assert.equal(health.status, 'degraded');
    assert.equal(health.problems?.length, 1);
    const [problem] = health.problems!;
    assert.equal(problem!.condition, 'disk-cache');
    assert.match(problem!.problem, reason);
    assert.ok(problem!.problem.includes(path.join(dataDir, 'cache')), `names the directory: ${problem!.problem}`);
    assert.ok(!Number.isNaN(Date.parse(problem!.since)), problem!.since);
  }
  const metrics = await metricsOf(node);
  assert.match(metrics, /^pictor_degraded\{condition="disk-cache"\} 1$/m);
  assert.match(metrics, new RegExp(`^pictor_cache_write_errors_total\\{code="${code}"\\} [1-9]\\d*$`, 'm'));
}

/** Renders until one says `stored` again, and checks that the node says it is fine. */
async function assertRecovers(node: Node): Promise<void> {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  while (!/stored/.test((await renderNew(node)).cacheStatus)) {
    assert.ok(Date.now() < deadline, 'the disk cache did not start storing again after the disk recovered');
    await pause(100);
  }
  for (const url of [node.renderUrl, node.adminUrl]) assert.deepEqual(await healthOf(url), { status: 'ok' });
  assert.match(await metricsOf(node), /^pictor_degraded\{condition="disk-cache"\} 0$/m);
}

/** A `pictor serve` whose data directory is on the small file system; stopped (and checked) by `t.after`. */
async function serveOn(t: TestContext, small: SmallFs): Promise<{ server: ServerProcess; dataDir: string }> {
  const assets = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-assets-'));
  t.after(() => fs.rm(assets, { recursive: true, force: true }));
  await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(400, 300, [200, 90, 40]));
  const dataDir = path.join(small.dir, 'data');
  const server = await spawnServer(['--data', dataDir, '--assets', assets], { PICTOR_LOG_LEVEL: 'info' }, (argv) => small.command(argv));
  t.after(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await server.exited;
  });
  return { server, dataDir };
}

/** The server never crashed, logged each change once, and stops cleanly. */
async function assertStillUpThenStop(server: ServerProcess): Promise<void> {
  assert.equal(server.child.exitCode, null, `the server exited:\n${server.output()}`);
  assert.doesNotMatch(server.output(), /Unhandled|uncaught/i);
  const logs = server.output().split('\n');
  assert.equal(logs.filter((line) => line.includes('"msg":"degraded: cannot write the disk cache')).length, 1, 'the problem is logged once');
  assert.equal(logs.filter((line) => line.includes('"msg":"disk-cache is working again"')).length, 1, 'the recovery is logged once');
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
}

describe('a server whose data directory is on a small file system', { skip: unavailable }, () => {
  it('keeps serving from memory while the disk is full, says so, and stores again once space is freed', async (t) => {
    const small = await mountSmallFs(t, 8 * 1024 * 1024);
    const { server, dataDir } = await serveOn(t, small);
    assert.match((await renderNew(server)).cacheStatus, /Pictor; fwd=miss; stored/);

    await small.fill();
    await untilDegraded(server);
    await assertDegraded(server, dataDir, /^cannot write the disk cache at .*: no space left on device \(ENOSPC\); serving without it$/, 'ENOSPC');

    await small.free();
    await assertRecovers(server);
    await assertStillUpThenStop(server);
  });

  it('keeps serving while the disk is read-only, says so, and stores again once it is writable', async (t) => {
    const small = await mountSmallFs(t, 8 * 1024 * 1024);
    const { server, dataDir } = await serveOn(t, small);
    assert.match((await renderNew(server)).cacheStatus, /stored/);

    await small.readOnly();
    await untilDegraded(server);
    await assertDegraded(server, dataDir, /^cannot write the disk cache at .*: read-only file system \(EROFS\); serving without it$/, 'EROFS');

    await small.readWrite();
    await assertRecovers(server);
    await assertStillUpThenStop(server);
  });
});

describe('a data directory whose cache cannot be made', () => {
  it('starts degraded, serves, and starts caching once the directory can be made', async (t) => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-blocked-'));
    t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
    await fs.writeFile(path.join(dataDir, 'cache'), 'a file where the cache directory should be');
    const node = await startPictor({ dataDir, assets: { 'photo.jpg': await solidImage(400, 300, [20, 90, 200]) } });
    t.after(() => node.stop());

    await assertDegraded(node, dataDir, /^cannot create the disk cache at .*: a file is in the way of a directory \(EEXIST\); serving without it$/, 'EEXIST');
    await fs.rm(path.join(dataDir, 'cache'));
    await assertRecovers(node);
  });
});
