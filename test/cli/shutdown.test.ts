import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';
import { eventually, gate, solidImage } from '../helpers/pictor.ts';
import { spawnServer } from '../helpers/process.ts';
import { openStores } from '../../src/store/open-stores.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET through the given agent; with a keep-alive agent the connection is held afterwards, like a CDN's. */
function get(url: string, agent: http.Agent | false, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** The promise's value, or 'timed out' after ms (without keeping the test process alive). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Graceful stop: SIGTERM with a render and a purge in flight', () => {
  let root: string;
  let origin: TestOrigin;
  let image: Buffer;
  const held = gate();

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-shutdown-'));
    await fs.mkdir(path.join(root, 'assets'));
    image = await solidImage(120, 80, [0, 0, 200]);
    // Holds every answer until the gate opens, so a render and a purge's origin check are pending at SIGTERM.
    origin = await startOrigin((_request, response) => {
      void held.wait().then(() => {
        response.writeHead(200, { 'content-type': 'image/jpeg', etag: '"v1"' });
        response.end(image);
      });
    });
  });

  after(async () => {
    held.open();
    await origin?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('finishes the in-flight request and purge, refuses new connections, and exits 0', async () => {
    const args = ['--data', path.join(root, 'data'), '--assets', path.join(root, 'assets'), '--outbound-allow', '127.0.0.1/32'];
    // Info level for the "stopping" line, which tells when SIGTERM has been handled.
    const server = await spawnServer(args, { PICTOR_LOG_LEVEL: 'info' });
    // Keeps its connection open after the response, as a CDN or a reverse proxy does.
    const cdn = new http.Agent({ keepAlive: true });
    try {
      const key = server.apiKey!;
      const api = (method: string, url: string, body?: unknown) =>
        fetch(`${server.adminUrl}${url}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.api+json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const created = await api('POST', '/api/v1/sources', {
        data: { type: 'sources', attributes: { name: 'web', deployment: { type: 'webfolder', webfolder_base_url: `${origin.url}/images/`, custom_domains: ['web.test'] } } },
      });
      assert.equal(created.status, 201, await created.clone().text());

      const inFlight = get(`${server.renderUrl}/slow.jpg?w=60`, cdn, { host: 'web.test' });
      const accepted = await api('POST', '/api/v1/purge', { data: { type: 'purges', attributes: { url: 'http://web.test/other.jpg' } } });
      assert.equal(accepted.status, 200);
      const purgeId = ((await accepted.json()) as { data: { id: string } }).data.id;
      // Both are now waiting on the origin: the render for its master, the purge for its origin verdict.
      await eventually(() => ['/images/slow.jpg', '/images/other.jpg'].every((url) => origin.requests.some((seen) => seen.url === url)));

      const signalled = Date.now();
      server.child.kill('SIGTERM');
      await eventually(() => server.output().includes('stopping: finishing in-flight requests and purges'));

      // The listener closes at once. Until then (the signal is handled asynchronously) an answer must end its
      // connection, and a connection the kernel accepted just before the close may be reset.
      const renderPort = new URL(server.renderUrl).port;
      let refusal: string | undefined;
      await eventually(async () => {
        const probe = await get(`http://127.0.0.1:${renderPort}/healthz`, cdn).catch((error: NodeJS.ErrnoException) => error.code ?? String(error));
        if (typeof probe === 'string') {
          refusal = probe;
          return probe !== 'ECONNRESET';
        }
        assert.equal(probe.headers.connection, 'close', 'an answer given while stopping ends its connection');
        return false;
      }, 2000);
      assert.equal(refusal, 'ECONNREFUSED', 'a new connection after SIGTERM is refused');
      assert.equal(server.child.exitCode, null, 'still running while a request is in flight');

      held.open();
      const answer = await inFlight;
      assert.equal(answer.status, 200);
      assert.match(answer.headers['content-type'] ?? '', /^image\//);
      assert.equal((await sharp(answer.body).metadata()).width, 60, 'a real rendered image');
      assert.equal(answer.headers.connection, 'close', 'the in-flight response ends its keep-alive connection');

      const code = await within(server.exited, 5000);
      assert.equal(code, 0, 'SIGTERM stops cleanly within 5 s, although the client keeps its connections open');
      const exitedAt = Date.now();
      assert.doesNotMatch(server.output(), /unclean stop/);

      // The purge running at SIGTERM was finished during the stop, not left pending on disk for the next start.
      const stores = await openStores({ dataDir: path.join(root, 'data') });
      try {
        const record = await stores.purgeLog.get(purgeId);
        assert.equal(record?.status, 'completed');
        assert.ok(record.completedAt! >= signalled && record.completedAt! <= exitedAt, 'completed between SIGTERM and the exit');
        assert.equal((await stores.purgeLog.list({ status: 'pending', limit: 10, offset: 0 })).total, 0, 'nothing left to recover');
      } finally {
        await stores.close();
      }
    } finally {
      cdn.destroy();
      held.open();
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
