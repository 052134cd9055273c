import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';

/** Edges of every kind through the API and the CLI: what each kind takes, what is refused, and that secrets never come back. */
describe('edge kinds through the API and the CLI', () => {
  let t: TestPictor;
  const api = async (method: string, path: string, attributes?: unknown): Promise<{ status: number; body: any; text: string }> => {
    const response = await fetch(`${t.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, ...(attributes === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
      body: attributes === undefined ? undefined : JSON.stringify({ data: { type: 'edges', attributes } }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
  };
  before(async () => {
    t = await startPictor();
  });
  after(() => t?.stop());

  it('adds a CDN edge of each kind; secrets are stored, never returned, and named as set', async () => {
    const zone = '023e105f4ecef8ad9ca31a8372d0c353';
    const cases = [
      { name: 'cf', kind: 'cloudflare', zone_id: zone, api_token: 'cf-secret-token' },
      {
        name: 'fastly', kind: 'fastly', service_id: 'SU1Z0isxPaozGVKXdv0eY', soft_purge: true, api_token: 'fastly-secret-token',
        endpoint: 'http://127.0.0.1:9',
      },
      {
        name: 'cfront', kind: 'cloudfront', distribution_id: 'E2QWRUHAPOMQZL', access_key_id: 'AKIAIOSFODNN7EXAMPLE',
        secret_access_key: 'wJalrXUtnFEMI/K7MDENG',
      },
      { name: 'ngx', kind: 'nginx', url: 'http://127.0.0.1:8081' },
    ];
    for (const attributes of cases) {
      const created = await api('POST', '/api/v1/edges', attributes);
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.data.attributes.kind, attributes.kind);
    }
    const listed = await api('GET', '/api/v1/edges');
    assert.doesNotMatch(listed.text, /secret-token|wJalrXUtnFEMI/);
    const byName = Object.fromEntries(listed.body.data.map((edge: any) => [edge.id, edge.attributes]));
    assert.deepEqual([byName.cf.zone_id, byName.cf.url, byName.cf.secrets_set], [zone, null, ['api_token']]);
    assert.deepEqual([byName.fastly.soft_purge, byName.fastly.endpoint], [true, 'http://127.0.0.1:9']);
    assert.deepEqual(byName.cfront.secrets_set, ['secret_access_key']);
    assert.deepEqual([byName.ngx.url, byName.ngx.secrets_set], ['http://127.0.0.1:8081', []]);
    const readmit = await api('POST', '/api/v1/edges/cf/readmit');
    assert.equal(readmit.status, 400);
    assert.match(readmit.body.errors[0].detail, /never out of rotation/);
    for (const { name } of cases) assert.equal((await api('DELETE', `/api/v1/edges/${name}`)).status, 204);
  });

  it('refuses what a kind does not take, or takes in another shape, with a 400 that points at the field', async () => {
    const cloudflare = { name: 'x', kind: 'cloudflare', zone_id: 'a'.repeat(32), api_token: 't' };
    const httpsOnly = /must be an https: URL/;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: 'x', kind: 'akamai' }, '/data/attributes/kind', /one of "varnish", "nginx", "cloudflare", "fastly", "cloudfront"/],
      [{ name: 'x', kind: 'nginx' }, '/data/attributes/url', /http:\/\/HOST:PORT/],
      [{ name: 'x', kind: 'cloudflare', api_token: 't' }, '/data/attributes/zone_id', /zone_id is required/],
      [{ name: 'x', kind: 'cloudflare', zone_id: 'nope', api_token: 't' }, '/data/attributes/zone_id', /32 hexadecimal digits/],
      [{ name: 'x', kind: 'cloudflare', zone_id: 'a'.repeat(32) }, '/data/attributes/api_token', /api_token is required/],
      [{ name: 'x', kind: 'cloudflare', zone_id: 'a'.repeat(32), api_token: 'has space' }, '/data/attributes/api_token', /without spaces/],
      [{ ...cloudflare, url: 'http://127.0.0.1:1' }, '/data/attributes/url', /does not take "url"/],
      [{ name: 'x', kind: 'fastly', service_id: 's', api_token: 't', zone_id: 'z' }, '/data/attributes/zone_id', /does not take "zone_id"/],
      [{ name: 'x', kind: 'fastly', service_id: 's', api_token: 't', soft_purge: 'yes' }, '/data/attributes/soft_purge', /true or false/],
      [{ name: 'x', kind: 'fastly', service_id: 's', api_token: 't', endpoint: 'http://api.example.com' }, '/data/attributes/endpoint', httpsOnly],
      [{ name: 'x', kind: 'fastly', service_id: 's', api_token: 't', endpoint: 'ftp://10.0.0.1' }, '/data/attributes/endpoint', httpsOnly],
      [{ name: 'x', kind: 'cloudfront', distribution_id: 'E1', secret_access_key: 's' }, '/data/attributes/access_key_id', /is required/],
      [{ name: 'x', url: 'http://127.0.0.1:1', api_token: 't' }, '/data/attributes/api_token', /A varnish edge does not take "api_token"/],
    ];
    for (const [attributes, pointer, detail] of cases) {
      const response = await api('POST', '/api/v1/edges', attributes);
      assert.equal(response.status, 400, JSON.stringify(attributes));
      assert.equal(response.body.errors[0].source.pointer, pointer, JSON.stringify(attributes));
      assert.match(response.body.errors[0].detail, detail);
    }
    assert.deepEqual((await api('GET', '/api/v1/edges')).body.data, []);
  });

  it('pictor edges add takes the same as flags, and names the flag to fix', async () => {
    const data = ['--data', t.dataDir];
    const added = await runCli(['edges', 'add', '--name', 'cf', '--kind', 'cloudflare', '--zone-id', 'b'.repeat(32), '--api-token', 'tok', ...data]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'Added edge cf (cloudflare), in rotation.\n');
    const listed = await runCli(['edges', 'list', '--json', ...data]);
    assert.deepEqual(JSON.parse(listed.stdout), [{ name: 'cf', kind: 'cloudflare', url: null, zone_id: 'b'.repeat(32), in_rotation: true }]);
    const refused = await runCli(['edges', 'add', '--name', 'f', '--kind', 'fastly', '--api-token', 'tok', ...data]);
    assert.notEqual(refused.code, 0);
    const serviceId = /service_id is required: the service's ID \(letters and digits, shown under the service's name\) \(--service-id\)\./;
    assert.match(refused.stderr, serviceId);
    assert.equal((await api('DELETE', '/api/v1/edges/cf')).status, 204);
  });
});
