import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { solidImage } from '../helpers/pictor.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { mountSmallFs, smallFsUnavailable } from '../helpers/small-fs.ts';

const unavailable = await smallFsUnavailable();

async function purge(server: ServerProcess, url: string): Promise<{ status: number; id?: string; detail?: string; retryAfter: string | null }> {
  const response = await fetch(`${server.adminUrl}/api/v1/purge`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/vnd.api+json' },
    body: JSON.stringify({ data: { type: 'purges', attributes: { url } } }),
  });
  const body = (await response.json()) as { data?: { id: string }; errors?: { detail: string }[] };
  return { status: response.status, id: body.data?.id, detail: body.errors?.[0]?.detail, retryAfter: response.headers.get('retry-after') };
}

async function statusOf(server: ServerProcess, apiKey: string, id: string): Promise<string | undefined> {
  const response = await fetch(`${server.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (response.status !== 200) return undefined;
  return ((await response.json()) as { data: { attributes: { status: string } } }).data.attributes.status;
}

async function health(server: ServerProcess): Promise<{ status: string; problems?: { condition: string; problem: string }[] }> {
  return (await (await fetch(`${server.adminUrl}/healthz`)).json()) as never;
}

describe('purges when the store cannot write (a real SQLite on a full file system)', { skip: unavailable }, () => {
  it('are refused with 503, never acknowledged unless on disk, and accepted again once space is freed', async (t) => {
    const small = await mountSmallFs(t, 24 * 1024 * 1024);
    const assets = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-assets-'));
    t.after(() => fs.rm(assets, { recursive: true, force: true }));
    await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(200, 100, [10, 100, 200]));
    const dataDir = path.join(small.dir, 'data');
    const start = () => spawnServer(['--data', dataDir, '--assets', assets, '--purge-rate-limit', '1000'], { PICTOR_LOG_LEVEL: 'info' }, (argv) => small.command(argv));
    const server = await start();
    const apiKey = server.apiKey!;
    t.after(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await server.exited;
    });

    // Long URLs make every purge need new space in the store's log, so the full disk is met within a few.
    const url = (i: number) => `${server.renderUrl}/photo.jpg?${'q'.repeat(7000)}&n=${i}`;
    const acknowledged: string[] = [];
    const first = await purge(server, url(0));
    assert.equal(first.status, 200);
    acknowledged.push(first.id!);

    await small.fill();
    let refused = 0;
    for (let i = 1; i <= 400 && refused < 3; i++) {
      const answer = await purge(server, url(i));
      assert.ok(answer.status === 200 || answer.status === 503, `purge ${i}: ${answer.status} ${answer.detail}`);
      if (answer.status === 200) acknowledged.push(answer.id!);
      else {
        refused++;
        assert.match(answer.detail!, /cannot write to its store \(the disk holding it is full: SQLITE_FULL\), so nothing was recorded/);
        assert.equal(answer.retryAfter, '5');
      }
    }
    assert.equal(refused, 3, 'the full disk was met');
    const degraded = await health(server);
    assert.equal(degraded.status, 'degraded');
    assert.ok(degraded.problems?.some((problem) => problem.condition === 'store' && /SQLITE_FULL/.test(problem.problem)), JSON.stringify(degraded));
    // Renders do not need the store.
    assert.equal((await fetch(`${server.renderUrl}/photo.jpg?w=50`)).status, 200);

    await small.free();
    const accepted = await purge(server, url(1000));
    assert.equal(accepted.status, 200, accepted.detail);
    acknowledged.push(accepted.id!);
    for (const id of acknowledged) {
      for (let tries = 0; (await statusOf(server, apiKey, id)) !== 'completed'; tries++) {
        assert.ok(tries < 200, `purge ${id} did not complete`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(!(await health(server)).problems?.some((problem) => problem.condition === 'store'), 'the store is working again');
    assert.equal(server.child.exitCode, null, 'the server never stopped');
    assert.doesNotMatch(server.output(), /Unhandled|uncaught/i);
    const logs = server.output().split('\n');
    assert.equal(logs.filter((line) => line.includes('"msg":"degraded: Pictor cannot write to its store')).length, 1, 'logged once');

    // Every acknowledged purge is on disk: a restart knows each of them.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    const again = await start();
    t.after(async () => {
      if (again.child.exitCode === null) again.child.kill('SIGKILL');
      await again.exited;
    });
    // Completions written at the stop are there at once; one the stop could not write is recovered and
    // applied again, so every acknowledged purge ends completed either way.
    for (const id of acknowledged) {
      for (let tries = 0; (await statusOf(again, apiKey, id)) !== 'completed'; tries++) {
        assert.ok(tries < 200, `purge ${id} is not completed after the restart`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
});

describe('purges while another process holds the store write lock', () => {
  it('are answered only once on disk: 200 after the lock is released, 503 if it is held past the busy timeout', async (t) => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-lock-'));
    t.after(() => fs.rm(root, { recursive: true, force: true }));
    const assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(20, 20, [1, 2, 3]));
    const dataDir = path.join(root, 'data');
    const server = await spawnServer(['--data', dataDir, '--assets', assets]);
    t.after(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await server.exited;
    });
    const db = new Database(path.join(dataDir, 'pictor.db'));
    t.after(() => db.close());
    const stored = (id: string) => db.prepare('SELECT 1 FROM purges WHERE id = ?').get(id) !== undefined;
    let settled = false;

    db.exec('BEGIN EXCLUSIVE');
    const released = purge(server, `${server.renderUrl}/photo.jpg`).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(settled, false, 'no answer while the purge cannot be written');
    db.exec('COMMIT');
    const answer = await released;
    assert.equal(answer.status, 200);
    assert.ok(stored(answer.id!), 'acknowledged, and on disk');

    db.exec('BEGIN EXCLUSIVE');
    try {
      const refused = await purge(server, `${server.renderUrl}/other.jpg`);
      assert.equal(refused.status, 503);
      assert.match(refused.detail!, /cannot write to its store \(another process has held its write lock too long: SQLITE_BUSY\)/);
    } finally {
      db.exec('COMMIT');
    }
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM purges').get() as { n: number }).n, 1, 'the refused purge left nothing behind');
  });
});

describe('a restart on a full disk', { skip: unavailable }, () => {
  it('is refused with a message saying why (the store cannot be opened), and starts cleanly once space is freed', async (t) => {
    const small = await mountSmallFs(t, 24 * 1024 * 1024);
    const assets = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-assets-'));
    t.after(() => fs.rm(assets, { recursive: true, force: true }));
    await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(200, 100, [10, 100, 200]));
    const dataDir = path.join(small.dir, 'data');
    const start = () => spawnServer(['--data', dataDir, '--assets', assets], {}, (argv) => small.command(argv));
    const first = await start();
    const apiKey = first.apiKey!;
    const before = await purge(first, `${first.renderUrl}/photo.jpg`);
    assert.equal(before.status, 200);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    await small.fill();
    await assert.rejects(start(), (error: Error) => {
      assert.match(error.message, /exited early \(2\)/);
      assert.match(error.message, /pictor: cannot start: the store in .* cannot be used \(.*the disk holding it is full: SQLITE_(FULL|IOERR\w*)\)\. Fix that, then start again\./);
      assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace');
      return true;
    });

    await small.free();
    const server = await start();
    t.after(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await server.exited;
    });
    assert.equal(await statusOf(server, apiKey, before.id!), 'completed', 'what was acknowledged before is all there');
    assert.equal((await fetch(`${server.renderUrl}/photo.jpg?w=40`)).status, 200);
    assert.equal((await purge({ ...server, apiKey }, `${server.renderUrl}/photo.jpg`)).status, 200);
  });
});
