import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { createGuardedFetcher, type GuardedFetcher } from '../../src/sources/http-fetch.ts';
import { WebFolderOrigin } from '../../src/sources/webfolder-origin.ts';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';
import { eventually } from '../helpers/pictor.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('webfolder origin against a real HTTP origin', () => {
  let origin: TestOrigin;
  const fetchers: GuardedFetcher[] = [];
  const webfolder = (options: { maxBytes?: number; timeoutSeconds?: number; base?: string } = {}): WebFolderOrigin => {
    const fetcher = createGuardedFetcher({
      outboundAllow: ['127.0.0.1/32'],
      timeoutSeconds: options.timeoutSeconds ?? 5,
      maxBytes: options.maxBytes ?? 1_000_000,
      backoffMs: 10,
    });
    fetchers.push(fetcher);
    return new WebFolderOrigin(options.base ?? `${origin.url}/images/`, fetcher);
  };
  let flaky = 0;
  /** How much of big-chunked.png each request was sent before the client went away (Infinity: all of it). */
  const chunkedSent: number[] = [];

  before(async () => {
    origin = await startOrigin((req, res, seen) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      switch (path) {
        case '/images/a.png':
          if (req.headers['if-none-match'] === '"v1"') {
            res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' }).end();
          } else {
            res.writeHead(200, { 'content-type': 'image/png', etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT', 'cache-control': 'max-age=60' }).end(PNG);
          }
          return;
        case '/images/untyped.png':
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(PNG);
          return;
        case '/images/gone.png':
          res.writeHead(410).end('gone');
          return;
        case '/images/private.png':
          res.writeHead(403).end('no');
          return;
        case '/images/big.png':
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': '5000' }).end(Buffer.alloc(5000));
          return;
        case '/images/big-chunked.png': {
          // No Content-Length: the cap must hold while streaming.
          res.writeHead(200, { 'content-type': 'image/png' });
          let sent = 0;
          const timer = setInterval(() => {
            if (res.destroyed || sent >= 50_000) {
              clearInterval(timer);
              res.end();
              chunkedSent.push(res.destroyed ? sent : Infinity);
              return;
            }
            res.write(Buffer.alloc(1000));
            sent += 1000;
          }, 1);
          return;
        }
        case '/images/hang.png':
          return; // never answers
        case '/images/flaky.png':
          flaky++;
          if (flaky === 1) res.writeHead(503).end('busy');
          else res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
          return;
        case '/images/down.png':
          res.writeHead(500).end('down');
          return;
        case '/images/reset.png':
          if (seen.filter((r) => r.url === req.url).length === 1) req.socket.destroy();
          else res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
          return;
        default: {
          const hop = /^\/images\/hop(\d+)-of-(\d+)\.png$/.exec(path);
          if (hop) {
            const [n, total] = [Number(hop[1]), Number(hop[2])];
            const next = n < total ? `/images/hop${n + 1}-of-${total}.png` : '/images/a.png';
            res.writeHead(n % 2 === 0 ? 301 : 307, { location: n === 1 ? `${origin.url}${next}` : next }).end();
            return;
          }
          res.writeHead(404).end('not found');
        }
      }
    });
  });
  after(async () => {
    await Promise.all(fetchers.map((fetcher) => fetcher.close()));
    await origin.close();
  });

  it('builds URLs with exactly one slash between the base URL and the percent-encoded path', () => {
    assert.equal(webfolder({ base: 'http://127.0.0.1:1/images' }).urlFor('/a%20b.png').href, 'http://127.0.0.1:1/images/a%20b.png');
    assert.equal(webfolder({ base: 'http://127.0.0.1:1/images//' }).urlFor('/dir/a%2Bb.png').href, 'http://127.0.0.1:1/images/dir/a%2Bb.png');
    assert.equal(webfolder({ base: 'http://127.0.0.1:1' }).urlFor('/x%3F.png').href, 'http://127.0.0.1:1/x%3F.png', 'an encoded ? never becomes a query');
    assert.throws(() => webfolder({ base: 'http://127.0.0.1:1/images/' }).urlFor('/%2e%2e/secret'), /Invalid path/);
  });

  it('found: bytes, content type, validators and Cache-Control', async () => {
    const result = await webfolder().fetch('/a.png');
    assert.equal(result.kind, 'found');
    if (result.kind !== 'found') return;
    assert.deepEqual(result.body, PNG);
    assert.equal(result.contentType, 'image/png');
    assert.deepEqual(result.validators, { etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' });
    assert.equal(result.cacheControl, 'max-age=60');
  });

  it('falls back to the extension when the origin sends application/octet-stream', async () => {
    const result = await webfolder().fetch('/untyped.png');
    assert.equal(result.kind === 'found' && result.contentType, 'image/png');
  });

  it('missing: 404, 410 and other 4xx', async () => {
    assert.deepEqual(await webfolder().fetch('/nope.png'), { kind: 'missing' });
    assert.deepEqual(await webfolder().fetch('/gone.png'), { kind: 'missing' });
    assert.deepEqual(await webfolder().fetch('/private.png'), { kind: 'missing' });
  });

  it('revalidates: the origin sees If-None-Match and answers 304 → not-modified', async () => {
    const result = await webfolder().fetch('/a.png', { etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' });
    const seen = origin.requests.at(-1)!;
    assert.equal(seen.headers['if-none-match'], '"v1"');
    assert.equal(seen.headers['if-modified-since'], 'Tue, 01 Dec 2026 10:00:00 GMT');
    assert.equal(result.kind, 'not-modified');
    assert.equal(result.kind === 'not-modified' && result.validators.etag, '"v1"');
    assert.equal(result.kind === 'not-modified' && result.cacheControl, 'max-age=60');
    const changed = await webfolder().fetch('/a.png', { etag: '"v0"' });
    assert.equal(changed.kind, 'found', 'a different ETag gets the new bytes');
  });

  it('byte limit: a Content-Length over the limit is 413', async () => {
    await assert.rejects(webfolder({ maxBytes: 1000 }).fetch('/big.png'), (error) => isPictorError(error) && error.code === 'INPUT_TOO_LARGE' && error.status === 413);
  });

  it('byte limit: a streamed body is abandoned past the limit (413)', async () => {
    await assert.rejects(webfolder({ maxBytes: 3000 }).fetch('/big-chunked.png'), (error) => isPictorError(error) && error.code === 'INPUT_TOO_LARGE');
    // The origin saw the connection closed before it had sent the whole body.
    await eventually(() => chunkedSent.length > 0, 30_000);
    assert.ok(chunkedSent[0]! < 50_000, `the whole body was read: ${chunkedSent[0]}`);
  });

  it('timeout: an origin that never answers is a 502 within the timeout', async () => {
    const started = Date.now();
    await assert.rejects(webfolder({ timeoutSeconds: 0.5 }).fetch('/hang.png'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && error.status === 502 && /within 0\.5 s/.test(error.message));
    // Not before the timeout (a slower machine only makes it later; the message says which timeout ended it).
    assert.ok(Date.now() - started >= 450, `took ${Date.now() - started} ms`);
  });

  it('retries a 503, then succeeds (two requests)', async () => {
    const before = origin.requests.filter((r) => r.url === '/images/flaky.png').length;
    const result = await webfolder().fetch('/flaky.png');
    assert.equal(result.kind, 'found');
    assert.equal(origin.requests.filter((r) => r.url === '/images/flaky.png').length - before, 2);
  });

  it('retries a connection reset, then succeeds', async () => {
    assert.equal((await webfolder().fetch('/reset.png')).kind, 'found');
    assert.equal(origin.requests.filter((r) => r.url === '/images/reset.png').length, 2);
  });

  it('gives up after 2 retries of a 5xx: 502, three requests', async () => {
    await assert.rejects(webfolder().fetch('/down.png'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /answered 500 after 3 attempts/.test(error.message));
    assert.equal(origin.requests.filter((r) => r.url === '/images/down.png').length, 3);
  });

  it('follows up to 3 redirects (absolute and relative), each re-validated', async () => {
    const result = await webfolder().fetch('/hop1-of-3.png');
    assert.equal(result.kind, 'found');
    assert.deepEqual(result.kind === 'found' && result.body, PNG);
  });

  it('names the object it served by the URL that finally answered, after redirects', async () => {
    const redirected = await webfolder().fetch('/hop1-of-2.png');
    assert.equal(redirected.kind === 'found' && redirected.object, `url:${origin.url}/images/a.png`);
    const direct = await webfolder().fetch('/a.png');
    assert.equal(direct.kind === 'found' && direct.object, `url:${origin.url}/images/a.png`, 'the same object by another path');
    assert.equal(await webfolder().objectFor('/later%20on.png'), `url:${origin.url}/images/later%20on.png`, 'named without reading it');
  });

  it('refuses a 4th redirect (502) without following it', async () => {
    const before = origin.requests.length;
    await assert.rejects(webfolder().fetch('/hop1-of-4.png'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /more than 3 times/.test(error.message));
    assert.equal(origin.requests.length - before, 4, 'the original request and 3 redirects, never the 4th target');
  });
});
