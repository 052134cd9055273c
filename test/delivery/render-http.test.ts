import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

/** Sends a request exactly as written (header case, repeats) and returns the whole raw response. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

async function metric(t: TestPictor, name: string): Promise<number> {
  const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('Rendering API over HTTP', () => {
  let t: TestPictor;
  let originReads = 0;
  before(async () => {
    t = await startPictor({
      assets: {
        'photo.jpg': await solidImage(400, 300, [10, 120, 200]),
        'notes.txt': 'plain text, never passed through\n',
        'dir/nested.png': await solidImage(20, 20, [0, 0, 0], 'png'),
      },
      hooks: {
        originInterceptor: (origin) => ({
          fetch: async (path, validators) => {
            originReads++;
            await new Promise((resolve) => setTimeout(resolve, 30)); // widen the window for coalescing
            return origin.fetch(path, validators);
          },
        }),
      },
    });
  });
  after(() => t.stop());

  it('answers /healthz on both listeners', async () => {
    assert.equal((await fetch(`${t.renderUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${t.adminUrl}/healthz`)).status, 200);
  });

  it('renders with imgix parameters and sends cache headers', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=100&fm=png');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'image/png');
    const { width, height, format } = await sharp(response.body).metadata();
    assert.deepEqual([width, height, format], [100, 75, 'png']);
    assert.equal(response.headers['cache-control'], 'public, max-age=31536000');
    assert.match(String(response.headers.etag), /^"[\w-]+"$/);
    assert.match(String(response.headers['cache-status']), /Pictor; fwd=miss; stored/);

    const hit = await rawGet(t.renderPort, '/photo.jpg?fm=png&width=100&ixlib=js-3.8.0');
    assert.match(String(hit.headers['cache-status']), /^Pictor; hit; detail=memory/, 'aliases, order and ixlib share one cache entry');
    assert.equal(hit.headers.etag, response.headers.etag);

    const notModified = await rawGet(t.renderPort, '/photo.jpg?w=100&fm=png', { 'if-none-match': String(response.headers.etag) });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
  });

  it('negotiates auto=format from Accept and says Vary: Accept', async () => {
    const avif = await rawGet(t.renderPort, '/photo.jpg?w=50&auto=format', { accept: 'image/avif,image/webp,*/*' });
    assert.equal(avif.headers['content-type'], 'image/avif');
    assert.equal(avif.headers.vary, 'Accept');
    const webp = await rawGet(t.renderPort, '/photo.jpg?w=50&auto=format', { accept: 'image/webp,*/*' });
    assert.equal(webp.headers['content-type'], 'image/webp');
    const plain = await rawGet(t.renderPort, '/photo.jpg?w=50&auto=format', { accept: '*/*' });
    assert.equal(plain.headers['content-type'], 'image/jpeg');
  });

  it('reads Host, Accept and If-None-Match from the raw header lines, in any case, joining repeats', async () => {
    const head = 'GET /photo.jpg?w=60&auto=format HTTP/1.1\r\nHOST: 127.0.0.1\r\nACCEPT: text/html\r\naccept: image/webp\r\nConnection: close\r\n\r\n';
    const first = await rawExchange(t.renderPort, head);
    assert.match(first, /^HTTP\/1\.1 200 /);
    assert.match(first, /\r\ncontent-type: image\/webp\r\n/i, 'the two Accept lines count as one list');
    const etag = /\r\netag: ("[^"]+")\r\n/i.exec(first)![1]!;
    const revalidate = head.replace('Connection: close', `If-None-Match: W/"other"\r\nIF-NONE-MATCH: ${etag}\r\nConnection: close`);
    const second = await rawExchange(t.renderPort, revalidate);
    assert.match(second, /^HTTP\/1\.1 304 /, 'a match in the second If-None-Match line');
    assert.match(second, /\r\ncache-status: Pictor; hit; detail=memory\r\n/i);
  });

  it('answers HEAD on a memory hit with the GET length and no body, and counts hits', async () => {
    const get = await rawGet(t.renderPort, '/photo.jpg?w=70&fm=webp');
    const hitsBefore = await metric(t, 'pictor_http_requests_total{listener="render",status="200",cache="hit"}');
    const head = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.request({ host: '127.0.0.1', port: t.renderPort, path: '/photo.jpg?w=70&fm=webp', method: 'HEAD' }, resolve).on('error', reject).end(),
    );
    const bodyBytes = await new Promise<number>((resolve) => {
      let n = 0;
      head.on('data', (chunk: Buffer) => (n += chunk.length)).on('end', () => resolve(n));
    });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['cache-status'], 'Pictor; hit; detail=memory');
    assert.equal(Number(head.headers['content-length']), get.body.length);
    assert.equal(bodyBytes, 0);
    await rawGet(t.renderPort, '/photo.jpg?w=70&fm=webp');
    assert.equal(await metric(t, 'pictor_http_requests_total{listener="render",status="200",cache="hit"}'), hitsBefore + 2);
  });

  it('400 naming the parameter for an invalid value', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=abc');
    assert.equal(response.status, 400);
    assert.match(response.body.toString(), /\bw\b/);
    const fit = await rawGet(t.renderPort, '/photo.jpg?fit=sideways');
    assert.equal(fit.status, 400);
    assert.match(fit.body.toString(), /fit/);
  });

  it('refuses a file that is no media (415) instead of passing it through', async () => {
    const response = await rawGet(t.renderPort, '/notes.txt?w=100');
    assert.equal(response.status, 415);
    assert.equal(response.body.toString(), 'This file is not served: its bytes are text, and only images, videos, audio and PDF documents are.\n');
    assert.match(String(response.headers['content-type']), /^text\/plain/);
  });

  it('404 for a missing asset, cached for the error TTL', async () => {
    const missing = await rawGet(t.renderPort, '/nope.jpg?w=10');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['cache-control'], 'public, max-age=300');
    const again = await rawGet(t.renderPort, '/nope.jpg?w=10');
    assert.match(String(again.headers['cache-status']), /^Pictor; hit/);
  });

  it('coalesces concurrent identical misses: one origin read and one render', async () => {
    const readsBefore = originReads;
    const rendersBefore = await metric(t, 'pictor_render_duration_seconds_count');
    const responses = await Promise.all(Array.from({ length: 12 }, () => rawGet(t.renderPort, '/dir/nested.png?w=7&blur=10')));
    for (const response of responses) assert.equal(response.status, 200);
    assert.equal(new Set(responses.map((response) => response.headers.etag)).size, 1);
    assert.equal(originReads - readsBefore, 1, 'one origin read');
    assert.equal((await metric(t, 'pictor_render_duration_seconds_count')) - rendersBefore, 1, 'one render');
    assert.ok(responses.some((response) => /collapsed/.test(String(response.headers['cache-status']))));
  });

  it('renders a second size from the cached master without reading the origin again', async () => {
    const readsBefore = originReads;
    await rawGet(t.renderPort, '/photo.jpg?w=33');
    await rawGet(t.renderPort, '/photo.jpg?w=34');
    assert.equal(originReads, readsBefore);
  });

  it('expires: 404 after the time; Cache-Control never outlives it before', async () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    assert.equal((await rawGet(t.renderPort, `/photo.jpg?w=20&expires=${past}`)).status, 404);
    const soon = Math.floor(Date.now() / 1000) + 120;
    const response = await rawGet(t.renderPort, `/photo.jpg?w=20&expires=${soon}`);
    assert.equal(response.status, 200);
    const maxAge = Number(/max-age=(\d+)/.exec(String(response.headers['cache-control']))![1]);
    assert.ok(maxAge <= 120 && maxAge > 100, `max-age=${maxAge}`);
  });

  it('serves the default Source for any Host, and counts requests in /metrics', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=21', { host: 'unknown.example:8080' });
    assert.equal(response.status, 200);
    assert.ok((await metric(t, 'pictor_http_requests_total{listener="render",status="200",cache="hit"}')) > 0);
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    for (const name of ['pictor_origin_fetch_duration_seconds', 'pictor_purge_queue_depth', 'pictor_purge_completion_seconds', 'pictor_render_duration_seconds']) {
      assert.ok(text.includes(name), name);
    }
  });

  it('answers 405 to other methods', async () => {
    const response = await fetch(`${t.renderUrl}/photo.jpg`, { method: 'POST' });
    assert.equal(response.status, 405);
  });
});

describe('Input limits', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: { 'big.png': await solidImage(1200, 1000, [1, 2, 3], 'png'), 'corrupt.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]) },
      options: { maxInputPixels: '1000000', maxInputBytes: '50kb' },
    });
  });
  after(() => t.stop());

  it('refuses inputs over the pixel limit with a 4xx before decoding', async () => {
    const response = await rawGet(t.renderPort, '/big.png?w=10');
    assert.ok(response.status >= 400 && response.status < 500, String(response.status));
  });

  it('refuses a corrupt image with a 4xx', async () => {
    const response = await rawGet(t.renderPort, '/corrupt.jpg?w=10');
    assert.ok(response.status >= 400 && response.status < 500, String(response.status));
  });

  it('refuses files over the byte limit with 413', async () => {
    await t.put('huge.bin', Buffer.alloc(60 * 1024, 1));
    assert.equal((await rawGet(t.renderPort, '/huge.bin')).status, 413);
  });
});
