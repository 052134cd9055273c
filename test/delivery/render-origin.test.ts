import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet, solidImage, startPictor, type RawResponse, type TestPictor } from '../helpers/pictor.ts';
import { makeClip, makeMedia, untilProcessed } from '../helpers/video.ts';
import { twoPagePdf } from '../render/pdf-fixtures.ts';

const CSP = "default-src 'none'; sandbox";
const SCRIPT = '<script>document.title = "ran"</script>';

/** Files in the folder Source whose bytes are no media, whatever their names say. */
const NOT_MEDIA: Record<string, string | Buffer> = {
  'page.html': `<!doctype html><html><body>${SCRIPT}</body></html>`,
  'looks-like.png': `<html>${SCRIPT}</html>`,
  'app.js': 'document.title = "ran";\n',
  'style.css': 'body { background: url(https://elsewhere.example/x) }\n',
  'data.json': '{"a": 1}',
  'feed.xml': '<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>',
  'notes.txt': 'plain text\n',
  'blob.bin': Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  'empty.jpg': '',
};

function assertSandboxed(response: RawResponse, what: string): void {
  assert.equal(response.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(response.headers['content-security-policy'], CSP, what);
}

/** A request of any method, for the answers rawGet cannot ask for (OPTIONS, POST). */
function request(port: number, method: string, path: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sent = http.request({ host: '127.0.0.1', port, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('the render listener is no web origin for content', () => {
  let t: TestPictor;
  let clip: Buffer;
  let tone: Buffer;

  before(async () => {
    clip = await makeClip({ width: 320, height: 240, seconds: 1, audio: false });
    tone = await makeMedia('tone.webm', 'audio', ['-c:a', 'libopus']);
    t = await startPictor({
      assets: {
        ...NOT_MEDIA,
        'photo.jpg': await solidImage(40, 30, [200, 30, 30]),
        'logo.svg': `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">${SCRIPT}<rect width="20" height="10" fill="#00f"/></svg>`,
        'clip.txt': clip,
        'video.mp4': clip,
        'tone.weba': tone,
        'doc.dat': twoPagePdf(),
      },
    });
  });
  after(() => t?.stop());

  it('refuses every file that is not media with 415, whatever its name, and never sends its bytes', async () => {
    for (const name of Object.keys(NOT_MEDIA)) {
      for (const target of [`/${name}`, `/${name}?w=100`]) {
        const response = await rawGet(t.renderPort, target);
        assert.equal(response.status, 415, `${target}: ${response.body.toString()}`);
        assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8', target);
        assert.match(response.body.toString(), /^This file is not served: its bytes are .+, and only images, videos, audio and PDF documents/);
        assert.doesNotMatch(response.body.toString(), /<script|document\.title/, target);
        assertSandboxed(response, target);
      }
    }
    const html = await rawGet(t.renderPort, '/looks-like.png');
    assert.match(html.body.toString(), /its bytes are an HTML document/);
    assert.match(String(html.headers['cache-status']), /^Pictor; hit/, 'the refusal is cached like other errors');
  });

  it('passes media through with the type their bytes are, never the one their name suggests', async () => {
    const expected: [string, string, Buffer][] = [
      ['/clip.txt', 'video/mp4', clip],
      ['/tone.weba', 'audio/webm', tone],
      ['/doc.dat', 'application/pdf', twoPagePdf()],
    ];
    for (const [target, contentType, body] of expected) {
      const response = await rawGet(t.renderPort, target);
      assert.equal(response.status, 200, target);
      assert.equal(response.headers['content-type'], contentType, target);
      assert.ok(response.body.equals(body), target);
      assertSandboxed(response, target);
    }
  });

  it('serves an SVG, script and all, only as the raster it renders', async () => {
    for (const target of ['/logo.svg', '/logo.svg?w=40']) {
      const response = await rawGet(t.renderPort, target);
      assert.equal(response.status, 200, target);
      assert.equal(response.headers['content-type'], 'image/png', target);
      assert.equal((await sharp(response.body).metadata()).format, 'png', target);
      assertSandboxed(response, target);
    }
    const asSvg = await rawGet(t.renderPort, '/logo.svg?fm=svg');
    assert.equal(asSvg.status, 400);
    assertSandboxed(asSvg, 'fm=svg');
  });

  it('sends nosniff and a sandboxing policy on every answer: renders, hits, 304s, ranges, data outputs, errors', async () => {
    const miss = await rawGet(t.renderPort, '/photo.jpg?w=20');
    assert.match(String(miss.headers['cache-status']), /fwd=miss/);
    const hit = await rawGet(t.renderPort, '/photo.jpg?w=20');
    assert.match(String(hit.headers['cache-status']), /^Pictor; hit; detail=memory/);
    const answers: [string, RawResponse][] = [
      ['render', miss],
      ['memory hit', hit],
      ['second memory hit', await rawGet(t.renderPort, '/photo.jpg?w=20')],
      ['304', await rawGet(t.renderPort, '/photo.jpg?w=20', { 'if-none-match': String(miss.headers.etag) })],
      ['dl', await rawGet(t.renderPort, '/photo.jpg?w=10&dl=a.jpg')],
      ['fm=json', await rawGet(t.renderPort, '/photo.jpg?fm=json')],
      ['fm=blurhash', await rawGet(t.renderPort, '/photo.jpg?fm=blurhash')],
      ['palette=json', await rawGet(t.renderPort, '/photo.jpg?palette=json')],
      ['pass-through', await rawGet(t.renderPort, '/video.mp4')],
      ['range', await rawGet(t.renderPort, '/video.mp4', { range: 'bytes=0-99' })],
      ['416', await rawGet(t.renderPort, '/video.mp4', { range: `bytes=${clip.length}-` })],
      ['404', await rawGet(t.renderPort, '/missing.jpg')],
      ['400', await rawGet(t.renderPort, '/photo.jpg?w=abc')],
      ['405', await request(t.renderPort, 'POST', '/photo.jpg')],
      ['preflight', await request(t.renderPort, 'OPTIONS', '/video.mp4')],
      ['HEAD', await request(t.renderPort, 'HEAD', '/photo.jpg?w=20')],
      ['healthz', await rawGet(t.renderPort, '/healthz')],
      ['video API error', await rawGet(t.renderPort, '/video.mp4?fm=hls&rendition=bad')],
    ];
    assert.deepEqual(answers.map(([what, response]) => [what, response.status]), [
      ['render', 200], ['memory hit', 200], ['second memory hit', 200], ['304', 304], ['dl', 200], ['fm=json', 200], ['fm=blurhash', 200],
      ['palette=json', 200], ['pass-through', 200], ['range', 206], ['416', 416], ['404', 404], ['400', 400], ['405', 405], ['preflight', 204],
      ['HEAD', 200], ['healthz', 200], ['video API error', 400],
    ]);
    assert.equal(answers.at(-1)![1].headers['access-control-allow-origin'], '*', 'answered by the Video API');
    for (const [what, response] of answers) assertSandboxed(response, what);
  });

  it('palette=css stays a stylesheet a page can link: text/css with the same headers', async () => {
    const css = await rawGet(t.renderPort, '/photo.jpg?palette=css&prefix=pal');
    assert.equal(css.status, 200);
    assert.equal(css.headers['content-type'], 'text/css');
    assert.match(css.body.toString(), /^\.pal-fg-1 \{ color:#[0-9a-f]{6} !important; \}$/m);
    assertSandboxed(css, 'palette=css');
  });

  it('video outputs carry them too', { timeout: 120_000 }, async () => {
    const master = await untilProcessed(`${t.renderUrl}/video.mp4?fm=hls`);
    assert.equal(master.status, 200);
    assert.equal(master.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(master.headers.get('content-security-policy'), CSP);
    const variant = (await master.text()).split('\n').find((line) => line !== '' && !line.startsWith('#'))!;
    const playlist = await fetch(new URL(variant, `${t.renderUrl}/video.mp4`));
    assert.equal(playlist.status, 200, variant);
    assert.equal(playlist.headers.get('content-security-policy'), CSP);
    await playlist.arrayBuffer();
  });
});
