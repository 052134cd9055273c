/**
 * Property-based fuzzing of both listeners of a real `pictor serve` process: random and hostile methods,
 * paths, query strings, headers and bodies. Whatever is sent: no 5xx, no hang, the process stays up, and
 * an ordinary render and purge still work afterwards. A failure prints fast-check's seed and the shrunk
 * request, to replay it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { eventually, solidImage } from '../helpers/pictor.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';

const RUNS = 500;
const REQUEST_TIMEOUT_MS = 15_000;

const manifest = createRequire(import.meta.url)('imgix-url-params/dist/parameters.json') as { parameters: Record<string, unknown>; aliases: Record<string, string> };
const PARAM_NAMES = [...Object.keys(manifest.parameters), ...Object.keys(manifest.aliases)];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '__proto__[x]', 'constructor[prototype][x]', 'toString', 'hasOwnProperty'];

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface Answer {
  status: number;
  body: string;
  requestId: string | undefined;
}

function send(port: number, request: Request): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = request.body ? { ...request.headers, 'content-length': String(request.body.length) } : request.headers;
    let answered = false;
    const outgoing = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent: false }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const requestId = response.headers['x-request-id'] as string | undefined;
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8', 0, 300), requestId }));
      response.on('error', reject);
    });
    outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(request.body);
  });
}

// --- arbitraries -------------------------------------------------------------------------------------

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom(...HOSTILE_KEYS));
const number = fc.oneof(
  fc.integer({ min: -10, max: 3000 }).map(String),
  fc.constantFrom('0', '-1', '0.5', '1e308', 'NaN', 'Infinity', '8192', '99999999999999999999', '0x10', '1,2,3,4'),
  fc.double().map(String),
);
const colour = fc.constantFrom('fff', 'F00F', 'zzzzzz', '12345678', 'red', 'rgba(1,2,3)', '');
const value = fc.oneof(number, colour, text, fc.base64String({ maxLength: 24 }));
const paramName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PARAM_NAMES) }, { weight: 1, arbitrary: text });
const encode = (raw: string) => encodeURIComponent(raw);
/** Sent as typed: only what cannot appear in a request line at all (controls, spaces, non-ASCII) is escaped. */
const asTyped = (raw: string) => raw.replace(/[^\x21-\x7e]/gu, (char) => encodeURIComponent(char));
const query = fc
  .array(fc.tuple(paramName, value, fc.boolean()), { maxLength: 6 })
  .map((pairs) => pairs.map(([name, v, raw]) => (raw ? `${asTyped(name)}=${asTyped(v)}` : `${encode(name)}=${encode(v)}`)).join('&'));

/** Values imgix accepts, so that most of these requests get past validation and exercise the renderer. */
const plausible: Record<string, fc.Arbitrary<string>> = {
  // Mostly sizes a page asks for; now and then the largest there is (those are slow: keep them rare).
  w: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 1600 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('0.5', '1', '8192') }),
  h: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 1600 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('0.25', '8192') }),
  fit: fc.constantFrom('clip', 'clamp', 'crop', 'fill', 'fillmax', 'max', 'min', 'scale', 'facearea'),
  crop: fc.constantFrom('top,left', 'bottom', 'faces,entropy', 'edges', 'focalpoint', 'right,top,faces'),
  fm: fc.constantFrom('jpg', 'pjpg', 'png', 'png8', 'png32', 'webp', 'avif', 'gif', 'json', 'blurhash'),
  auto: fc.constantFrom('format', 'compress', 'format,compress'),
  q: fc.integer({ min: 0, max: 100 }).map(String),
  dpr: fc.constantFrom('1', '2', '3', '5'),
  ar: fc.constantFrom('16:9', '1:1', '3:2', '1.5:1'),
  rect: fc.constantFrom('0,0,10,10', '10,10,500,500', 'left,top,0.5,0.5', '100000,100000,10,10'),
  pad: fc.integer({ min: 0, max: 500 }).map(String),
  rot: fc.integer({ min: 0, max: 359 }).map(String),
  'rot-type': fc.constantFrom('pivot', 'straighten'),
  flip: fc.constantFrom('h', 'v', 'hv'),
  orient: fc.constantFrom('1', '3', '5', '6', '8', '90'),
  blur: fc.integer({ min: 0, max: 2000 }).map(String),
  sharp: fc.integer({ min: 0, max: 100 }).map(String),
  px: fc.integer({ min: 0, max: 100 }).map(String),
  bri: fc.integer({ min: -100, max: 100 }).map(String),
  sat: fc.integer({ min: -100, max: 100 }).map(String),
  hue: fc.integer({ min: -359, max: 359 }).map(String),
  bg: colour,
  monochrome: colour,
  trim: fc.constantFrom('auto', 'color'),
  mark: fc.constantFrom('/logo.png', '/photo.jpg?w=10', '/missing.png', 'http://127.0.0.1:1/x.png'),
  'mark-scale': fc.integer({ min: 0, max: 100 }).map(String),
  blend: fc.constantFrom('/logo.png', 'ff0000', '/readme.txt'),
  'blend-mode': fc.constantFrom('normal', 'multiply', 'screen', 'overlay', 'difference'),
  expires: fc.constantFrom('1', '4102444800'),
};
const plausibleQuery = fc
  .uniqueArray(fc.constantFrom(...Object.keys(plausible)), { maxLength: 6 })
  .chain((names) => fc.tuple(...names.map((name) => plausible[name]!.map((v) => `${name}=${encode(v)}`))))
  .map((pairs) => pairs.join('&'));

const renderPath = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/photo.jpg', '/logo.png') },
  { weight: 2, arbitrary: fc.constantFrom('/readme.txt', '/missing.jpg', '/', '/dir/', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '/a%00b.jpg', '/%ZZ', '//photo.jpg') },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }).map((segments) => `/${segments.map(encode).join('/')}`) },
);

const renderRequest: fc.Arbitrary<Request> = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS'),
    path: renderPath,
    query: fc.oneof(query, plausibleQuery, plausibleQuery),
    host: fc.constantFrom('localhost', '127.0.0.1', 'unknown.example', '[::1]', 'localhost:99999', ''),
    accept: fc.constantFrom('image/avif,image/webp,*/*', 'image/webp', '*/*', '', 'garbage/;;q=x'),
    ifNoneMatch: fc.constantFrom('', '*', '"abc"', 'W/"x", "y"'),
  })
  .map(({ method, path: p, query: q, host, accept, ifNoneMatch }) => {
    const headers: Record<string, string> = { host };
    if (accept) headers.accept = accept;
    if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
    return { method, path: q ? `${p}?${q}` : p, headers };
  });

const jsonBody = (url: string) =>
  fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ key: fc.constantFrom(...HOSTILE_KEYS, 'data', 'type', 'attributes'), inner: fc.jsonValue() }).map(({ key, inner }) => `{"data":{"type":"purges","attributes":{"url":"${url}"},"${key}":${JSON.stringify(inner)}}}`),
    fc.constantFrom(
      `{"data":{"type":"purges","attributes":{"url":"${url}"}}}`,
      `{"data":{"type":"sources","attributes":{"name":"x","deployment":{"type":"folder","folder_path":"/etc"}}}}`,
      `{"data":{"type":"sources","attributes":{"name":"x","deployment":{"type":"s3_compatible","bucket_name":"b","endpoint":"http://127.0.0.1:1"}}}}`,
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"data":', '', '[]', 'null', '"x"', '{"data":{"type":"purges","attributes":{"url":1e400}}}',
    ),
  );
const formBody = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom('data[type]', 'data[attributes][url]', 'data[__proto__][x]', '__proto__[x]', 'constructor[prototype][x]', 'a[b][c][d][e][f]'), text), value), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&'));

function adminRequest(apiKey: string, renderUrl: string): fc.Arbitrary<Request> {
  const id = fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }), text.map(encode));
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      path: fc.oneof(
        fc.constantFrom('/api/v1/purge', '/api/v1/sources', '/metrics', '/healthz', '/dashboard/', '/dashboard/sign-in', '/dashboard/purges', '/x', '/__proto__'),
        id.map((v) => `/api/v1/purges/${v}`),
        id.map((v) => `/api/v1/sources/${v}`),
        id.map((v) => `/api/v1/sources/${v}/purge`),
        text.map((v) => `/dashboard/${encode(v)}`),
      ),
      query,
      contentType: fc.constantFrom(
        'application/vnd.api+json',
        'application/json',
        'application/json; charset=utf-16',
        'application/x-www-form-urlencoded',
        'text/plain',
        'multipart/form-data; boundary=x',
        '',
      ),
      authorization: fc.constantFrom(`Bearer ${apiKey}`, `Bearer ${apiKey}`, 'Bearer ak_wrong', 'Basic Zm9vOmJhcg==', `bearer  ${apiKey} `, ''),
      cookie: fc.constantFrom('', 'pictor_session=abc', 'pictor_session=; pictor_device=x.y.z', '__proto__=1'),
      body: fc.oneof(jsonBody(`${renderUrl}/photo.jpg`), formBody, fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1'))),
      binary: fc.boolean(),
    })
    .map(({ method, path: p, query: q, contentType, authorization, cookie, body, binary }) => {
      const headers: Record<string, string> = {};
      if (contentType) headers['content-type'] = contentType;
      if (authorization) headers.authorization = authorization;
      if (cookie) headers.cookie = cookie;
      const withBody = method !== 'GET' && method !== 'HEAD';
      return { method, path: q ? `${p}?${q}` : p, headers, ...(withBody ? { body: Buffer.from(body, binary ? 'latin1' : 'utf8') } : {}) };
    });
}

// --- the run -------------------------------------------------------------------------------------------

describe('fuzzing both listeners with random and hostile requests', () => {
  let server: ServerProcess;
  let root: string;
  const statuses = new Map<number, number>();

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-fuzz-'));
    const assets = path.join(root, 'assets');
    await fs.mkdir(path.join(assets, 'dir'), { recursive: true });
    await fs.writeFile(path.join(assets, 'photo.jpg'), await solidImage(64, 48, [200, 30, 30]));
    await fs.writeFile(path.join(assets, 'logo.png'), await solidImage(32, 32, [30, 30, 200], 'png'));
    await fs.writeFile(path.join(assets, 'readme.txt'), 'not an image\n');
    server = await spawnServer(['--data', path.join(root, 'data'), '--assets', assets, '--render-timeout', '10', '--render-memory', '512mb']);
  });
  after(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await server.exited;
    await fs.rm(root, { recursive: true, force: true });
  });

  const property = (port: () => number, arbitrary: fc.Arbitrary<Request>) =>
    fc.asyncProperty(arbitrary, async (request) => {
      const answer = await send(port(), request);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      // Load shedding is allowed (a render past its deadline, a full queue); no other 5xx.
      const shed = answer.status === 503 && /took too long|Too many/.test(await reasonOf(answer));
      assert.ok((answer.status >= 200 && answer.status < 500) || shed, `${answer.status} for ${request.method} ${request.path}: ${answer.body}`);
      assert.equal(server.child.exitCode, null, 'the server process is still running');
    });
  /** What a failure says: its body, or for a HEAD (no body) the server's log line of that request. */
  const reasonOf = async (answer: Answer): Promise<string> => {
    if (answer.body !== '' || answer.requestId === undefined) return answer.body;
    const logged = () => server.output().split('\n').find((line) => line.includes(`"reqId":"${answer.requestId}"`));
    await eventually(() => logged() !== undefined, 10_000).catch(() => {});
    return logged() ?? '';
  };
  const options = { numRuns: RUNS, interruptAfterTimeLimit: 120_000, markInterruptAsFailure: false, includeErrorInReport: true };

  it('the render listener answers every request below 500', async () => {
    const port = () => Number(new URL(server.renderUrl).port);
    await fc.assert(property(port, renderRequest), options);
  });

  it('the admin listener answers every request below 500', async () => {
    const port = () => Number(new URL(server.adminUrl).port);
    await fc.assert(property(port, adminRequest(server.apiKey!, server.renderUrl)), options);
  });

  it('afterwards the process is up, and an ordinary render and purge still work', async () => {
    assert.equal(server.child.exitCode, null);
    assert.doesNotMatch(server.output(), /Unhandled|uncaught|"level":(50|60)/);
    const render = await fetch(`${server.renderUrl}/photo.jpg?w=32&fm=png`);
    assert.equal(render.status, 200);
    assert.equal(render.headers.get('content-type'), 'image/png');
    const headers = { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/vnd.api+json' };
    // The fuzzing may have used up this second's purge allowance: wait it out, as a client does.
    let purge: Response;
    for (;;) {
      purge = await fetch(`${server.adminUrl}/api/v1/purge`, { method: 'POST', headers, body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${server.renderUrl}/photo.jpg` } } }) });
      if (purge.status !== 429) break;
      await new Promise((resolve) => setTimeout(resolve, 1000 * Number(purge.headers.get('retry-after') ?? 1)));
    }
    assert.equal(purge.status, 200);
    const { data } = (await purge.json()) as { data: { id: string } };
    for (let tries = 0; ; tries++) {
      const status = await fetch(`${server.adminUrl}/api/v1/purges/${data.id}`, { headers: { authorization: headers.authorization } });
      const attributes = ((await status.json()) as { data: { attributes: { status: string } } }).data.attributes;
      if (attributes.status === 'completed') break;
      assert.ok(tries < 100, `the purge did not complete: ${attributes.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    process.stdout.write(`# fuzz statuses: ${summary}\n`);
  });
});
