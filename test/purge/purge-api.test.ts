import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cli } from '../helpers/cli.ts';
import { heldOrigin } from '../helpers/held-origin.ts';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const run = promisify(execFile);

describe('Purge API contract (POST /api/v1/purge)', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(40, 30, [200, 0, 0]) }, options: { purgeRateLimit: '1000' } });
  });
  after(() => t.stop());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json', ...headers },
      body,
    });

  it('answers 200 with the imgix purges document', async () => {
    const response = await post(JSON.stringify({ data: { attributes: { url: `${t.renderUrl}/a.jpg` }, type: 'purges' } }));
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.api\+json/);
    const body = (await response.json()) as Record<string, any>;
    assert.match(body.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(body.data.type, 'purges');
    assert.deepEqual(body.data.attributes, { purge_id: body.data.id });
    assert.deepEqual(body.included, []);
    assert.deepEqual(body.jsonapi, { version: '1.0' });
    assert.equal(body.meta.authentication.authorized, true);
    assert.equal(typeof body.meta.server.version, 'string');
  });

  it("works with the product page's curl example, only the host changed", async () => {
    const { stdout } = await run('curl', [
      '-s', '-X', 'POST', `${t.adminUrl}/api/v1/purge`,
      '--header', `Authorization: Bearer ${t.apiKey}`,
      '--header', 'Content-Type: application/vnd.api+json',
      '--data-raw', `{ "data": { "attributes": { "url": "${t.renderUrl}/a.jpg" }, "type": "purges" } }`,
      '-w', '\n%{http_code}',
    ]);
    const [json, code] = stdout.split('\n');
    assert.equal(code, '200');
    assert.equal(JSON.parse(json!).data.type, 'purges');
  });

  it("works with the Python example's payload (source_id and sub_image: false), as application/json too", async () => {
    const payload = { data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg`, source_id: t.defaultSourceId, sub_image: false } } };
    const response = await post(JSON.stringify(payload), { 'content-type': 'application/json' });
    assert.equal(response.status, 200);
  });

  it('401 with imgix wording for a missing or wrong key, before looking at the body', async () => {
    for (const authorization of [undefined, 'Bearer ak_' + '0'.repeat(64), 'Bearer nonsense', 'Basic abc']) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (authorization) headers.authorization = authorization;
      const response = await fetch(`${t.adminUrl}/api/v1/purge`, { method: 'POST', headers, body: 'x' });
      assert.equal(response.status, 401);
      const body = (await response.json()) as Record<string, any>;
      assert.equal(body.errors[0].detail, 'A valid API key is required and could not be determined.');
      assert.equal(body.errors[0].status, '401');
      assert.equal(body.errors[0].title, 'Unauthorized');
      assert.match(body.errors[0].id, /^[0-9a-f]{32}$/);
      assert.equal(body.meta.authentication.authorized, false);
    }
  });

  it('403 for a key without the purge permission; an admin key has it', async () => {
    const { stdout } = await cli(['keys', 'create', '--name', 'sources only', '--permissions', 'sources', '--data', t.dataDir]);
    const key = stdout.trim().split('\n').at(-1)!;
    const response = await fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg` } } }),
    });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as any).errors[0].detail, /purge permission/);
  });

  it('400 documents that point at the problem', async () => {
    const cases: [string, string, RegExp][] = [
      ['{not json', '', /not valid JSON/],
      ['', '', /empty/],
      ['[]', '/data', /JSON:API document/],
      [JSON.stringify({ data: { type: 'purges', attributes: {} } }), '/data/attributes/url', /"url" is required/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: '/a.jpg' } } }), '/data/attributes/url', /absolute http\(s\) URL/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: 'ftp://localhost/a.jpg' } } }), '/data/attributes/url', /http or https/],
      [JSON.stringify({ data: { type: 'sources', attributes: { url: `${t.renderUrl}/a.jpg` } } }), '/data/type', /must be "purges"/],
      [JSON.stringify({ data: { attributes: { url: `${t.renderUrl}/a.jpg` } } }), '/data/type', /must be "purges".*missing/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/${'a'.repeat(8200)}.jpg` } } }), '/data/attributes/url', /at most 8192 characters/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg`, sub_image: 'yes' } } }), '/data/attributes/sub_image', /true or false/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg`, source_id: 'xyz' } } }), '/data/attributes/source_id', /24 hexadecimal/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg`, sub_image: true } } }), '/data/attributes/source_id', /needs "source_id"/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: 'https://elsewhere.example/a.jpg' } } }), '/data/attributes/url', /not a domain of any Source/],
      [JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/%zz.jpg` } } }), '/data/attributes/url', /percent-escape/],
    ];
    for (const [body, pointer, detail] of cases) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      const document = (await response.json()) as any;
      assert.match(document.errors[0].detail, detail, body);
      if (pointer) assert.equal(document.errors[0].source.pointer, pointer, body);
    }
  });

  it('404 naming an unknown source_id', async () => {
    const response = await post(JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/a.jpg`, source_id: 'f'.repeat(24) } } }));
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as any).errors[0].detail, /No Source has the id "f{24}"/);
  });

  it('415 for other content types, 405 for other methods, JSON:API 404 for unknown routes', async () => {
    const response = await post('url=x', { 'content-type': 'text/plain' });
    assert.equal(response.status, 415);
    assert.equal(((await response.json()) as any).errors[0].status, '415');
    const get = await fetch(`${t.adminUrl}/api/v1/purge`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const unknown = await fetch(`${t.adminUrl}/api/v1/nothing`);
    assert.equal(unknown.status, 404);
    assert.ok(((await unknown.json()) as any).errors);
  });

  it('accepts the form encoding some CMS plugins send', async () => {
    const form = new URLSearchParams({ 'data[attributes][url]': `${t.renderUrl}/a.jpg`, 'data[type]': 'purges' });
    const response = await post(form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(response.status, 200);
  });

  it('GET /api/v1/purges/:id reports status, verdict and ISO 8601 times with milliseconds', async () => {
    const attributes = await t.purgeAndWait(`${t.renderUrl}/status.jpg?w=100#x`);
    assert.equal(attributes.status, 'completed');
    assert.equal(attributes.url, `${t.renderUrl}/status.jpg?w=100#x`);
    assert.equal(attributes.source_id, t.defaultSourceId);
    assert.equal(attributes.sub_image, false);
    assert.match(String(attributes.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(String(attributes.completed_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['removed', 'replaced', 'unchanged'].includes(String(attributes.origin)));
    const missing = await fetch(`${t.adminUrl}/api/v1/purges/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(missing.status, 404);
    const anonymous = await fetch(`${t.adminUrl}/api/v1/purges/00000000-0000-4000-8000-000000000000`);
    assert.equal(anonymous.status, 401);
  });
});

describe('Purge rate limit', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ options: { purgeRateLimit: '3' } });
  });
  after(() => t.stop());

  it('429 with Retry-After past the per-key limit', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => t.purge(`${t.renderUrl}/r${i}.jpg`)));
    const limited = results.filter((result) => result.status === 429);
    assert.ok(limited.length >= 2, `expected some 429s, got ${results.map((r) => r.status)}`);
    assert.equal(limited[0]!.body.errors![0]!.status, '429');
    const response = await fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/x.jpg` } } }),
    });
    assert.equal(response.status, 429);
    assert.ok(Number(response.headers.get('retry-after')) >= 1);
  });
});

describe('Repeated purges', () => {
  let t: TestPictor;
  const origin = heldOrigin();
  before(async () => {
    t = await startPictor({
      assets: { 'a.jpg': await solidImage(20, 20, [1, 2, 3]), 'wait.jpg': await solidImage(20, 20, [3, 2, 1]) },
      options: { purgeRateLimit: '1000' },
      hooks: { originInterceptor: origin.interceptor },
    });
  });
  after(() => t.stop());

  it('GET /api/v1/purges/:id?wait=N answers once the purge completes, or pending when N seconds pass first', async () => {
    const held = origin.holdNext();
    const status = (id: string, wait: string) => fetch(`${t.adminUrl}/api/v1/purges/${id}?wait=${wait}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    try {
      const id = (await t.purge(`${t.renderUrl}/wait.jpg`)).body.data!.id;
      await eventually(() => held.waiting() > 0);
      const early = await status(id, '0.2');
      assert.equal(early.status, 200);
      assert.equal(((await early.json()) as any).data.attributes.status, 'pending', 'the origin holds it: still pending when the wait ends');
      const waiting = status(id, '20');
      held.open();
      const settled = await waiting;
      assert.equal(((await settled.json()) as any).data.attributes.status, 'completed');
      for (const bad of ['-1', '31', 'soon', '']) {
        const refused = await status(id, bad);
        assert.equal(refused.status, 400, `wait=${bad}`);
        assert.match(((await refused.json()) as any).errors[0].detail, /"wait" must be a number of seconds from 0 to 30/);
      }
      assert.equal((await status('00000000-0000-4000-8000-000000000000', '1')).status, 404);
    } finally {
      origin.disarm();
      held.open();
    }
  });

  it('a repeat while the first purge is still asking its origin is a purge of its own: the first took effect when acknowledged', async () => {
    const held = origin.holdNext();
    try {
      const first = await t.purge(`${t.renderUrl}/a.jpg`);
      await eventually(() => held.waiting() > 0); // the first purge's verdict is being fetched
      const repeat = await t.purge(`${t.renderUrl}/a%2Ejpg?w=10`);
      assert.equal(repeat.status, 200);
      assert.notEqual(repeat.body.data!.id, first.body.data!.id);
      assert.equal((repeat.body.meta as any).pictor.coalesced, false);
      assert.equal((await t.purgeStatus(first.body.data!.id)).status, 'pending', 'completed only once the origin answers');
      held.open();
      await eventually(async () => (await t.purgeStatus(first.body.data!.id)).status === 'completed');
    } finally {
      origin.disarm();
      held.open(); // never leave the verdict waiting: a failed assertion must end the test, not hang it
    }
  });

  it('a repeat after the purge took effect is a purge of its own (an origin change is never missed)', async () => {
    const first = await t.purgeAndWait(`${t.renderUrl}/a.jpg`);
    const again = await t.purge(`${t.renderUrl}/a.jpg`);
    assert.equal(again.status, 200);
    assert.notEqual(again.body.data!.id, first.purge_id);
  });

  it('concurrent identical purges are all acknowledged', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => t.purge(`${t.renderUrl}/a.jpg`)));
    for (const result of results) assert.equal(result.status, 200);
  });
});

describe('A status request waiting for its purge when the server stops', () => {
  it('is answered at once with the purge as it stands, and the stop does not wait for it', { timeout: 20_000 }, async () => {
    const origin = heldOrigin();
    const t = await startPictor({ assets: { 'a.jpg': await solidImage(20, 20, [1, 2, 3]) }, hooks: { originInterceptor: origin.interceptor } });
    const held = origin.holdNext();
    let stopping: Promise<void> | undefined;
    try {
      const id = (await t.purge(`${t.renderUrl}/a.jpg`)).body.data!.id;
      await eventually(() => held.waiting() > 0);
      const waiting = fetch(`${t.adminUrl}/api/v1/purges/${id}?wait=30`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      await new Promise((resolve) => setTimeout(resolve, 100)); // the request is in and waiting
      stopping = t.stop();
      const answer = await waiting;
      assert.equal(answer.status, 200);
      assert.equal(((await answer.json()) as any).data.attributes.status, 'pending');
    } finally {
      origin.disarm();
      held.open();
      await (stopping ?? t.stop());
    }
  });
});
