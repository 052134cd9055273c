import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, meanColour, solidImage } from '../helpers/pictor.ts';
import { spawnServer } from '../helpers/process.ts';

describe('Durability: every acknowledged purge survives kill -9', () => {
  let root: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-crash-'));
    await fs.mkdir(path.join(root, 'assets'));
    await fs.writeFile(path.join(root, 'assets', 'hero.jpg'), await solidImage(200, 100, [220, 20, 20]));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it('applies, after a restart, every purge acknowledged before the crash', async () => {
    const args = ['--data', path.join(root, 'data'), '--assets', path.join(root, 'assets'), '--purge-rate-limit', '100000'];
    const first = await spawnServer(args);
    const key = first.apiKey!;
    assert.match(key, /^ak_[0-9a-f]{64}$/);

    const derivatives = ['/hero.jpg', '/hero.jpg?w=50', '/hero.jpg?w=80&fm=webp'];
    for (const derivative of derivatives) assert.equal((await fetch(first.renderUrl + derivative)).status, 200);
    await fs.writeFile(path.join(root, 'assets', 'hero.jpg'), await solidImage(200, 100, [20, 20, 220]));

    const urls = [`${first.renderUrl}/hero.jpg`, ...Array.from({ length: 300 }, (_, i) => `${first.renderUrl}/other/${i}.jpg`)];
    const acknowledged = await Promise.all(
      urls.map(async (url) => {
        const response = await fetch(`${first.adminUrl}/api/v1/purge`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.api+json' },
          body: JSON.stringify({ data: { type: 'purges', attributes: { url } } }),
        });
        assert.equal(response.status, 200);
        return ((await response.json()) as { data: { id: string } }).data.id;
      }),
    );
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(args);
    try {
      assert.equal(second.apiKey, undefined, 'the first-start key is only printed once');
      // Acknowledged purges take effect as the server starts answering: no stale derivative is served.
      for (const derivative of derivatives) {
        const response = await fetch(second.renderUrl + derivative);
        assert.equal(response.status, 200);
        const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
        assert.ok(b! > 150 && r! < 80, `${derivative} is the new version after the restart`);
      }
      const statusOf = async (id: string) => {
        const response = await fetch(`${second.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${key}` } });
        assert.equal(response.status, 200, `purge ${id} is known after the restart`);
        return ((await response.json()) as { data: { attributes: { status: string } } }).data.attributes.status;
      };
      await eventually(async () => (await Promise.all(acknowledged.map(statusOf))).every((status) => status === 'completed'), 20_000);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0, 'SIGTERM stops cleanly');
    }
  });

  it('applies, after a restart, a purge by tag acknowledged before the crash: every tagged asset', async () => {
    const args = ['--data', path.join(root, 'data-tags'), '--assets', path.join(root, 'assets'), '--purge-rate-limit', '100000'];
    for (const name of ['sku-1.jpg', 'sku-2.jpg']) await fs.writeFile(path.join(root, 'assets', name), await solidImage(120, 60, [220, 20, 20]));
    const first = await spawnServer(args);
    const json = { authorization: `Bearer ${first.apiKey!}`, 'content-type': 'application/vnd.api+json' };
    const sourceId = (((await (await fetch(`${first.adminUrl}/api/v1/sources`, { headers: json })).json()) as { data: { id: string }[] }).data[0]!).id;
    for (const name of ['sku-1.jpg', 'sku-2.jpg']) {
      assert.ok((await fetch(`${first.adminUrl}/api/v1/sources/${sourceId}/assets/add/${name}`, { method: 'POST', headers: { authorization: json.authorization } })).ok);
      const tags = JSON.stringify({ data: { type: 'assets', attributes: { tags: ['spring'] } } });
      assert.equal((await fetch(`${first.adminUrl}/api/v1/sources/${sourceId}/assets/${name}`, { method: 'PATCH', headers: json, body: tags })).status, 200);
    }
    const derivatives = ['/sku-1.jpg?w=60', '/sku-2.jpg?w=60', '/sku-2.jpg?w=30&fm=png'];
    for (const derivative of derivatives) assert.equal((await fetch(first.renderUrl + derivative)).status, 200);
    for (const name of ['sku-1.jpg', 'sku-2.jpg']) await fs.writeFile(path.join(root, 'assets', name), await solidImage(120, 60, [20, 20, 220]));
    const body = JSON.stringify({ data: { type: 'purges', attributes: { tag: 'spring' } } });
    const accepted = await fetch(`${first.adminUrl}/api/v1/purge`, { method: 'POST', headers: json, body });
    assert.equal(accepted.status, 200);
    const id = ((await accepted.json()) as { data: { id: string } }).data.id;
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(args);
    try {
      const status = async () =>
        ((await (await fetch(`${second.adminUrl}/api/v1/purges/${id}`, { headers: json })).json()) as { data: { attributes: Record<string, unknown> } }).data.attributes;
      assert.deepEqual([(await status()).tag, (await status()).assets], ['spring', 2], 'the purge is in the log after the crash');
      await eventually(async () => (await status()).status === 'completed', 20_000);
      const blueness = async (derivative: string) => {
        const [r, , b] = await meanColour(Buffer.from(await (await fetch(second.renderUrl + derivative)).arrayBuffer()));
        return b! > 150 && r! < 80;
      };
      // (That untagged assets stay cached is shown in tag-purge.test.ts: a kill -9 may lose cache writes.)
      for (const derivative of derivatives) assert.ok(await blueness(derivative), `${derivative} is the new version after the restart`);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });

  it('keeps a completed purge completed when the process is killed just after reporting it', async () => {
    const data = path.join(root, 'data-completed');
    const args = ['--data', data, '--assets', path.join(root, 'assets'), '--purge-rate-limit', '100000'];
    await fs.writeFile(path.join(root, 'assets', 'badge.jpg'), await solidImage(120, 60, [220, 20, 20]));
    const first = await spawnServer(args);
    const key = first.apiKey!;
    const auth = { authorization: `Bearer ${key}` };
    assert.equal((await fetch(`${first.renderUrl}/badge.jpg?w=60`)).status, 200);
    await fs.writeFile(path.join(root, 'assets', 'badge.jpg'), await solidImage(120, 60, [20, 20, 220]));
    const accepted = await fetch(`${first.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${first.renderUrl}/badge.jpg` } } }),
    });
    const id = ((await accepted.json()) as { data: { id: string } }).data.id;
    const statusIn = async (server: { adminUrl: string }) =>
      ((await (await fetch(`${server.adminUrl}/api/v1/purges/${id}`, { headers: auth })).json()) as { data: { attributes: { status: string } } }).data.attributes.status;
    // Killed as soon as the purge says `completed`: its completion may not be on disk yet (it rides along
    // with the next commit), so the restart must make the asset stale again and complete the purge again.
    await eventually(async () => (await statusIn(first)) === 'completed', 10_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(args);
    try {
      const response = await fetch(`${second.renderUrl}/badge.jpg?w=60`);
      const [r, , b] = await meanColour(Buffer.from(await response.arrayBuffer()));
      assert.ok(b! > 150 && r! < 80, 'the purged derivative is never served after the restart');
      await eventually(async () => (await statusIn(second)) === 'completed', 10_000);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });
});
