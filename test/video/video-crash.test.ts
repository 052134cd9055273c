import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { makeClip, untilProcessed } from '../helpers/video.ts';
import { childrenOf } from '../helpers/pids.ts';

describe('kill -9 during processing', { timeout: 600_000 }, () => {
  const servers: ServerProcess[] = [];
  const orphans: number[] = [];
  let root = '';
  let changedRoot = '';
  after(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already ended
      }
    }
    if (root) await fs.rm(root, { recursive: true, force: true });
    if (changedRoot) await fs.rm(changedRoot, { recursive: true, force: true });
  });

  it('restarts the processing, and never serves a half-written ladder', async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-video-crash-'));
    const data = path.join(root, 'data');
    const assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    // Long enough that the encode is still running when the server is killed.
    await fs.writeFile(path.join(assets, 'long.mp4'), await makeClip({ width: 1280, height: 720, seconds: 12 }));

    const first = await spawnServer(['--data', data, '--assets', assets]);
    servers.push(first);
    const response = await fetch(`${first.renderUrl}/long.mp4?fm=hls`);
    assert.equal(response.status, 423);
    // ffmpeg is running: kill the server in the middle of the encode.
    const deadline = Date.now() + 60_000; // only a bound on a wait for ffmpeg to start
    while (childrenOf(first.child.pid!).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const encoders = childrenOf(first.child.pid!);
    assert.ok(encoders.length > 0, 'an ffmpeg process runs the encode');
    first.child.kill('SIGKILL');
    await first.exited;
    orphans.push(...encoders);
    for (const pid of encoders) process.kill(pid, 'SIGKILL');

    const db = new Database(path.join(data, 'pictor.db'), { readonly: true });
    const row = db.prepare('SELECT state, version FROM videos').get() as { state: string; version: number };
    db.close();
    assert.deepEqual(row, { state: 'processing', version: 1 });
    const assetDirs = await fs.readdir(path.join(data, 'video', 'assets')).catch(() => []);
    for (const dir of assetDirs) assert.deepEqual(await fs.readdir(path.join(data, 'video', 'assets', dir)), [], 'no version was published');

    const leftovers = await fs.readdir(path.join(data, 'video', 'tmp'));
    assert.ok(leftovers.length > 0, 'the killed encode left its input and partial output in tmp/');

    const second = await spawnServer(['--data', data, '--assets', assets]);
    servers.push(second);
    // What the killed encode wrote is deleted before the server serves: it is never used.
    const now = await fs.readdir(path.join(data, 'video', 'tmp'));
    assert.deepEqual(now.filter((entry) => leftovers.includes(entry)), []);
    const master = await untilProcessed(`${second.renderUrl}/long.mp4?fm=hls`, {}, 120_000);
    assert.equal(master.status, 200);
    const text = await master.text();
    assert.match(text, /RESOLUTION=1280x720/);
    // Its claim is this node's own: taken back at start, and the same version encoded again from the origin.
    assert.match(text, /version=1/, 'the resumed processing finishes the same version');
    // Every segment of every rendition is there and whole.
    for (const uri of text.split('\n').filter((line) => line.startsWith('./'))) {
      const variantUrl = new URL(uri, `${second.renderUrl}/long.mp4`);
      const variant = await (await fetch(variantUrl)).text();
      assert.match(variant, /#EXT-X-ENDLIST/);
      const durations = [...variant.matchAll(/#EXTINF:([\d.]+)/g)].map((match) => Number(match[1]));
      assert.ok(Math.abs(durations.reduce((sum, value) => sum + value, 0) - 12) < 0.5);
      for (const segment of variant.split('\n').filter((line) => line.startsWith('./'))) {
        const answer = await fetch(new URL(segment, variantUrl));
        assert.equal(answer.status, 200);
        assert.ok((await answer.arrayBuffer()).byteLength > 1000);
      }
    }
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('a video whose file changed while its encoder was down is processed from the new bytes, as the next version', async () => {
    changedRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-video-changed-'));
    const data = path.join(changedRoot, 'data');
    const assets = path.join(changedRoot, 'assets');
    await fs.mkdir(assets);
    await fs.writeFile(path.join(assets, 'changed.mp4'), await makeClip({ width: 640, height: 360, seconds: 6 }));
    const first = await spawnServer(['--data', data, '--assets', assets]);
    servers.push(first);
    assert.equal((await fetch(`${first.renderUrl}/changed.mp4?fm=hls`)).status, 423);
    const deadline = Date.now() + 60_000; // only a bound on a wait for ffmpeg to start
    while (childrenOf(first.child.pid!).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const encoders = childrenOf(first.child.pid!);
    first.child.kill('SIGKILL');
    await first.exited;
    orphans.push(...encoders);
    for (const pid of encoders) process.kill(pid, 'SIGKILL');

    await fs.writeFile(path.join(assets, 'changed.mp4'), await makeClip({ width: 320, height: 180, seconds: 2 }));
    const second = await spawnServer(['--data', data, '--assets', assets]);
    servers.push(second);
    const master = await untilProcessed(`${second.renderUrl}/changed.mp4?fm=hls`, {}, 120_000);
    assert.equal(master.status, 200);
    const text = await master.text();
    assert.match(text, /RESOLUTION=320x180/, 'made from the new bytes');
    assert.match(text, /version=2/);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
