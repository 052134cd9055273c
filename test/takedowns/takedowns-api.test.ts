import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/cli.ts';
import { meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const RED: [number, number, number] = [220, 0, 0];
const BLUE: [number, number, number] = [0, 0, 220];

function near(actual: [number, number, number], expected: [number, number, number]): boolean {
  return actual.every((value, i) => Math.abs(value - expected[i]!) < 25);
}

interface Doc {
  data?: any;
  errors?: { detail: string; status: string; source?: { pointer: string } }[];
  meta?: any;
  links?: any;
}

describe('Takedowns: API, 451 gate, lift, audit trail', () => {
  let t: TestPictor;
  /** Origin reads by path, to tell a new fetch from a cached answer. */
  const reads = new Map<string, number>();
  before(async () => {
    t = await startPictor({
      assets: {
        'taken.jpg': await solidImage(80, 60, RED),
        'image file.jpg': await solidImage(40, 30, RED),
        'base.jpg': await solidImage(200, 150, BLUE),
        'logo.png': await solidImage(20, 20, RED, 'png'),
        'clip.mp4': Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2 an MP4 header before bytes no player reads', 'latin1'),
        'kept.jpg': await solidImage(40, 30, BLUE),
      },
      options: { publicUrl: 'https://images.example.com' },
      hooks: {
        originInterceptor: (origin) => ({
          fetch: (path, validators) => {
            reads.set(path, (reads.get(path) ?? 0) + 1);
            return origin.fetch(path, validators);
          },
        }),
      },
    });
  });
  after(() => t.stop());

  const api = async (method: string, path: string, body?: unknown, key = t.apiKey): Promise<{ status: number; headers: Headers; body: Doc }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await fetch(`${t.adminUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Doc) };
  };
  const takedown = (url: string, reason = 'DMCA notice #1234') => api('POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url, reason } } });

  const assert451 = async (target: string, host?: string) => {
    const response = await rawGet(t.renderPort, target, host ? { host } : {});
    assert.equal(response.status, 451, `${target} (host ${host ?? '127.0.0.1'}): ${response.body.toString()}`);
    assert.equal(response.headers['cache-control'], 'no-store', target);
    assert.equal(response.headers.link, '<https://images.example.com/>; rel="blocked-by"', target);
    assert.match(response.body.toString(), /unavailable for legal reasons/, target);
  };

  it('takes an asset down: 201 with the document and its purge, then 451 for every variant, cache hits included', async () => {
    const variants = ['/taken.jpg', '/taken.jpg?w=40', '/taken.jpg?w=30&h=30&fit=crop&fm=png', '/taken.jpg?fm=webp&q=50', '/taken.jpg?auto=format'];
    for (const variant of variants) {
      assert.equal((await rawGet(t.renderPort, variant)).status, 200, variant);
      const hit = await rawGet(t.renderPort, variant);
      assert.match(String(hit.headers['cache-status']), /^Pictor; hit/, `${variant} is cached before the takedown`);
    }
    const composite = '/base.jpg?mark=/taken.jpg&mark-w=40';
    assert.equal((await rawGet(t.renderPort, composite)).status, 200);
    assert.match(String((await rawGet(t.renderPort, composite)).headers['cache-status']), /^Pictor; hit/);

    const created = await takedown(`${t.renderUrl}/taken.jpg?w=999`);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { data } = created.body;
    assert.equal(data.type, 'takedowns');
    assert.equal(created.headers.get('location'), `/api/v1/takedowns/${data.id}`);
    assert.equal(data.attributes.source_id, t.defaultSourceId);
    assert.equal(data.attributes.path, '/taken.jpg');
    assert.equal(data.attributes.status, 'active');
    assert.equal(data.attributes.reason, 'DMCA notice #1234');
    assert.match(data.attributes.created_by, /^key:[0-9a-f]{24} \(/);
    assert.equal(data.attributes.lifted_at, null);
    const purge = await t.purgeStatus(data.attributes.purge_id);
    assert.equal(purge.url, `${t.renderUrl}/taken.jpg?w=999`);

    // Answered at once, before the purge completes, and whatever the caches or the origin still hold.
    for (const variant of variants) await assert451(variant);
    await assert451('/taken.jpg?w=40', 'localhost');
    await assert451('//taken.jpg?w=40');
    await assert451('/t%61ken.jpg?w=40');
    await assert451('/taken.jpg?w=not-a-number');
    await assert451(composite);
    await assert451('/base.jpg?blend=/taken.jpg');
    await assert451(`/base.jpg?mark64=${Buffer.from(`${t.renderUrl}/taken.jpg`).toString('base64url')}`);
    assert.equal((await fetch(`${t.renderUrl}/taken.jpg`, { method: 'HEAD' })).status, 451);
    // Other assets are untouched.
    assert.equal((await rawGet(t.renderPort, '/base.jpg?w=50')).status, 200);
    assert.equal((await rawGet(t.renderPort, '/kept.jpg')).status, 200);
  });

  it('a path percent-encoded differently is the same asset; a pass-through file is blocked with any query', async () => {
    const spaced = await takedown(`${t.renderUrl}/image file.jpg`);
    assert.equal(spaced.status, 201);
    assert.equal(spaced.body.data.attributes.path, '/image%20file.jpg');
    await assert451('/image%20file.jpg');
    await assert451('/image%20file.jpg?w=10&fm=png');
    assert.equal((await rawGet(t.renderPort, '/image+file.jpg')).status, 404, 'a plus sign is another asset');

    assert.equal((await rawGet(t.renderPort, '/clip.mp4')).status, 200);
    const clip = await takedown(`${t.renderUrl}/clip.mp4`, 'court order');
    assert.equal(clip.status, 201);
    await assert451('/clip.mp4');
    await assert451('/clip.mp4?w=100');
    await assert451('/clip.mp4?fm=mp4&res=low');
  });

  it('a second takedown of an active one is a 409 naming it', async () => {
    const again = await takedown(`${t.renderUrl}/taken.jpg`);
    assert.equal(again.status, 409);
    assert.match(again.body.errors![0]!.detail, /already taken down \(takedown [0-9a-f-]{36}/);
  });

  it('lists takedowns newest first, paged, and only the active ones on request', async () => {
    const all = await api('GET', '/api/v1/takedowns');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.data.map((entry: any) => entry.attributes.path),
      ['/clip.mp4', '/image%20file.jpg', '/taken.jpg'],
    );
    assert.equal(all.body.meta.pagination.totalRecords, 3);
    const page = await api('GET', '/api/v1/takedowns?page[number]=1&page[size]=2');
    assert.deepEqual(page.body.data.map((entry: any) => entry.attributes.path), ['/taken.jpg']);
    assert.equal(page.body.meta.pagination.hasPreviousPage, true);
    assert.equal(page.body.meta.pagination.hasNextPage, false);
    assert.match(page.body.links.prev, /page%5Bnumber%5D=0/);
  });

  it('lifting restores 200 with a new fetch from the origin (its current bytes), and the audit trail keeps both actions', async () => {
    const listed = await api('GET', '/api/v1/takedowns?filter[status]=active');
    const taken = listed.body.data.find((entry: any) => entry.attributes.path === '/taken.jpg');
    await t.put('taken.jpg', await solidImage(80, 60, BLUE));
    const before = reads.get('/taken.jpg') ?? 0;

    const lifted = await api('DELETE', `/api/v1/takedowns/${taken.id}`, { data: { type: 'takedowns', attributes: { reason: 'counter-notice accepted' } } });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.data.attributes.status, 'lifted');
    assert.equal(lifted.body.meta.pictor.lifted_now, true);

    const served = await rawGet(t.renderPort, '/taken.jpg?w=40');
    assert.equal(served.status, 200);
    assert.ok(near(await meanColour(served.body), BLUE), 'the origin is read again: the new bytes');
    assert.ok((reads.get('/taken.jpg') ?? 0) > before, 'a new fetch');
    assert.equal((await rawGet(t.renderPort, '/base.jpg?mark=/taken.jpg&mark-w=40')).status, 200);

    const got = await api('GET', `/api/v1/takedowns/${taken.id}`);
    assert.equal(got.status, 200);
    const { audit } = got.body.data.attributes;
    assert.deepEqual(
      audit.map((entry: any) => [entry.action, entry.reason]),
      [
        ['created', 'DMCA notice #1234'],
        ['lifted', 'counter-notice accepted'],
      ],
    );
    for (const entry of audit) {
      assert.match(entry.actor, /^key:[0-9a-f]{24} \(/);
      assert.ok(!Number.isNaN(Date.parse(entry.at)));
    }
    assert.equal(got.body.data.attributes.lifted_by, audit[1].actor);

    // Lifting again changes nothing and adds nothing to the trail.
    const twice = await api('DELETE', `/api/v1/takedowns/${taken.id}`);
    assert.equal(twice.status, 200);
    assert.equal(twice.body.meta.pictor.lifted_now, false);
    assert.equal(twice.body.data.attributes.audit.length, 2);

    // And it may be taken down again, as a new takedown.
    const again = await takedown(`${t.renderUrl}/taken.jpg`, 'second notice');
    assert.equal(again.status, 201);
    assert.notEqual(again.body.data.id, taken.id);
    await assert451('/taken.jpg?w=40');
  });

  it('403 for a key without the admin permission, 401 without a key', async () => {
    const { stdout } = await cli(['keys', 'create', '--name', 'purger', '--permissions', 'purge,sources', '--data', t.dataDir]);
    const key = stdout.trim().split('\n').at(-1)!;
    for (const [method, path, body] of [
      ['POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/kept.jpg`, reason: 'x' } } }],
      ['GET', '/api/v1/takedowns', undefined],
      ['GET', '/api/v1/takedowns/00000000-0000-4000-8000-000000000000', undefined],
      ['DELETE', '/api/v1/takedowns/00000000-0000-4000-8000-000000000000', undefined],
    ] as const) {
      const refused = await api(method, path, body, key);
      assert.equal(refused.status, 403, `${method} ${path}`);
      assert.match(refused.body.errors![0]!.detail, /admin permission/);
      assert.equal((await api(method, path, body, 'nope')).status, 401);
    }
    assert.equal((await rawGet(t.renderPort, '/kept.jpg')).status, 200, 'nothing was taken down');
  });

  it('bad input is a 400 that says what is wrong; an unknown id a 404', async () => {
    const cases: [unknown, RegExp, string][] = [
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/kept.jpg` } } }, /"reason" is required/, '/data/attributes/reason'],
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/kept.jpg`, reason: '   ' } } }, /"reason" is required/, '/data/attributes/reason'],
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/kept.jpg`, reason: 'x'.repeat(2001) } } }, /at most 2000 characters/, '/data/attributes/reason'],
      [{ data: { type: 'takedowns', attributes: { reason: 'x' } } }, /"url" is required/, '/data/attributes/url'],
      [{ data: { type: 'takedowns', attributes: { url: 42, reason: 'x' } } }, /"url" must be a string/, '/data/attributes/url'],
      [{ data: { type: 'takedowns', attributes: { url: 'not a url', reason: 'x' } } }, /absolute http\(s\) URL/, '/data/attributes/url'],
      [{ data: { type: 'takedowns', attributes: { url: 'https://elsewhere.example.org/kept.jpg', reason: 'x' } } }, /not a domain of any Source/, '/data/attributes/url'],
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/a%00b.jpg`, reason: 'x' } } }, /Invalid path/, '/data/attributes/url'],
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/${'a'.repeat(8200)}`, reason: 'x' } } }, /at most 8192 characters/, '/data/attributes/url'],
      [{ data: { type: 'purges', attributes: { url: `${t.renderUrl}/kept.jpg`, reason: 'x' } } }, /"data.type" must be "takedowns"/, '/data/type'],
      [{ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/kept.jpg`, reason: 'x', sub_image: true } } }, /Unknown attribute "sub_image"/, '/data/attributes/sub_image'],
      [{ nope: 1 }, /JSON:API document/, '/data'],
    ];
    for (const [body, message, pointer] of cases) {
      const response = await api('POST', '/api/v1/takedowns', body);
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 200));
      assert.match(response.body.errors![0]!.detail, message);
      assert.equal(response.body.errors![0]!.source?.pointer, pointer);
    }
    assert.equal((await api('POST', '/api/v1/takedowns', '{"data":')).status, 400);
    assert.equal((await api('GET', '/api/v1/takedowns?page[size]=1000')).status, 400);
    assert.equal((await api('GET', '/api/v1/takedowns?filter[status]=lifted')).status, 400);
    assert.equal((await api('GET', '/api/v1/takedowns/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await api('DELETE', '/api/v1/takedowns/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await api('PATCH', '/api/v1/takedowns/x', {})).status, 405);
    assert.equal((await rawGet(t.renderPort, '/kept.jpg')).status, 200, 'nothing was taken down');
  });
});
