import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

interface Sent {
  status: number;
  body: string;
}

/**
 * One request exactly as given (method, raw path, headers, raw body bytes). A server may answer before it
 * has read the body and close the connection; the answer counts, the client's write error after it does not.
 */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    let answered = false;
    const request = http.request({ host: '127.0.0.1', port, method, path, headers: { ...length, ...headers }, agent: false }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    request.end(body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_API = { 'content-type': 'application/vnd.api+json' };

describe('Hostile requests on the admin listener', () => {
  let t: TestPictor;
  let auth: Record<string, string>;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(40, 30, [200, 30, 30]) } });
    auth = { authorization: `Bearer ${t.apiKey}` };
  });
  after(() => t.stop());

  const assertUnpolluted = (): void => {
    for (const name of ['x', 'polluted', 'status', 'listener']) {
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, name), false, `Object.prototype.${name} was set`);
    }
  };

  it('a form body naming __proto__ on an unknown route is answered 404 without being read, and breaks nothing', async () => {
    const response = await send(t.adminPort, 'POST', '/x', FORM, '__proto__%5Bx%5D=1&__proto__%5Bstatus%5D=500');
    assert.equal(response.status, 404);
    assertUnpolluted();
    // Uncached renders and the metrics still work (the reported failure broke both).
    assert.equal((await rawGet(t.renderPort, '/a.jpg?w=21')).status, 200);
    assert.equal((await rawGet(t.renderPort, '/a.jpg?w=22&fm=png')).status, 200);
    assert.equal((await send(t.adminPort, 'GET', '/metrics', {})).status, 200);
  });

  it('refused methods on /api/v1/purge answer 405 without reading the body, with or without a key', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      for (const headers of [FORM, { ...FORM, ...auth }]) {
        const response = await send(t.adminPort, method, '/api/v1/purge', headers, 'constructor%5Bprototype%5D%5Bpolluted%5D=1&__proto__%5Bx%5D=1');
        assert.equal(response.status, 405, `${method} ${JSON.stringify(headers)}`);
      }
    }
    assertUnpolluted();
  });

  it('an unknown route is 404 even with a body far over the body limit (it is never read)', async () => {
    const response = await send(t.adminPort, 'POST', '/api/v1/nothing', JSON_API, Buffer.alloc(256 * 1024, 0x20));
    assert.equal(response.status, 404);
  });

  it('without a valid key, the body is not looked at: 401 whatever it holds', async () => {
    for (const body of ['{not json', '{"__proto__": {"x": 1}}', 'x'.repeat(100_000)]) {
      const response = await send(t.adminPort, 'POST', '/api/v1/purge', { ...JSON_API, authorization: 'Bearer ak_wrong' }, body);
      assert.equal(response.status, 401, body.slice(0, 30));
    }
  });

  it('with a key: __proto__ and constructor.prototype in JSON or forms are 400, never applied', async () => {
    const url = `${t.renderUrl}/a.jpg`;
    const bodies: [Record<string, string>, string][] = [
      [JSON_API, `{"data": {"type": "purges", "attributes": {"url": "${url}"}, "__proto__": {"polluted": 1}}}`],
      [JSON_API, `{"data": {"type": "purges", "attributes": {"url": "${url}", "constructor": {"prototype": {"polluted": 1}}}}}`],
      [FORM, `data%5Btype%5D=purges&data%5Battributes%5D%5Burl%5D=${encodeURIComponent(url)}&data%5B__proto__%5D%5Bpolluted%5D=1`],
      [FORM, `data%5Bconstructor%5D%5Bprototype%5D%5Bpolluted%5D=1`],
      [FORM, 'a%5Bb%5D%5Bc%5D%5Bd%5D%5Be%5D=1'],
    ];
    for (const [headers, body] of bodies) {
      const response = await send(t.adminPort, 'POST', '/api/v1/purge', { ...headers, ...auth }, body);
      assert.equal(response.status, 400, body);
      assert.match(JSON.parse(response.body).errors[0].detail, /__proto__|constructor|nested/);
    }
    assertUnpolluted();
  });

  it('only UTF-8 JSON: another charset is 415, invalid UTF-8 is 400', async () => {
    const doc = JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg` } } });
    const utf16 = await send(t.adminPort, 'POST', '/api/v1/purge', { 'content-type': 'application/json; charset=utf-16', ...auth }, Buffer.from(doc, 'utf16le'));
    assert.equal(utf16.status, 415);
    assert.match(JSON.parse(utf16.body).errors[0].detail, /UTF-8/);
    const invalid = Buffer.concat([Buffer.from('{"data": {"type": "purges", "attributes": {"url": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}}')]);
    const bad = await send(t.adminPort, 'POST', '/api/v1/purge', { ...JSON_API, ...auth }, invalid);
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).errors[0].detail, /not valid UTF-8/);
    const explicit = await send(t.adminPort, 'POST', '/api/v1/purge', { 'content-type': 'application/vnd.api+json; charset=UTF-8', ...auth }, doc);
    assert.equal(explicit.status, 200);
  });
});
