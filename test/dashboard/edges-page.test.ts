import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { DashboardClient } from './http-client.ts';

/** The dashboard's Edges page: a form per kind with that kind's fields, secrets write-only, the API's rules. */
describe('the Edges page', () => {
  let t: TestPictor;
  let client: DashboardClient;
  before(async () => {
    t = await startPictor();
    client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
  });
  after(() => t?.stop());

  /** The form of one kind, as the page shows it. */
  const formOf = (page: string, kind: string): string => {
    const start = page.indexOf(`<h2 id="add-${kind}-title">`);
    return page.slice(start, page.indexOf('</form>', start));
  };

  it('shows a form per kind with only the fields that kind takes; secrets are password fields', async () => {
    const page = (await client.get('/dashboard/edges')).text;
    assert.match(page, /No edge is registered/);
    const cloudflare = formOf(page, 'cloudflare');
    assert.match(cloudflare, /name="zone_id"/);
    assert.match(cloudflare, /name="api_token" type="password" autocomplete="off"/);
    assert.doesNotMatch(cloudflare, /name="url"|name="service_id"/);
    assert.match(formOf(page, 'nginx'), /name="url"/);
    assert.doesNotMatch(formOf(page, 'nginx'), /api_token/);
    assert.match(formOf(page, 'fastly'), /name="soft_purge" value="true"/);
    assert.match(formOf(page, 'cloudfront'), /name="secret_access_key" type="password"/);
  });

  it('refuses a bad field next to it without echoing the secret, adds a good edge, lists it without its secret, removes it', async () => {
    const csrf = await client.csrf();
    const typed = { _csrf: csrf, kind: 'cloudflare', name: 'cf', zone_id: 'nope', api_token: 'typed-secret-token' };
    const refused = await client.post('/dashboard/edges', typed);
    assert.equal(refused.status, 400);
    assert.match(formOf(refused.text, 'cloudflare'), /32 hexadecimal digits/);
    assert.doesNotMatch(refused.text, /typed-secret-token/);
    assert.match(formOf(refused.text, 'cloudflare'), /value="nope"/);

    const fastly = { _csrf: csrf, kind: 'fastly', name: 'fst', service_id: 'SU1Z0isxPaozGVKXdv0eY', soft_purge: 'true', api_token: 'fastly-secret' };
    const added = await client.post('/dashboard/edges', fastly);
    assert.equal(added.status, 303, added.text);
    const listed = (await client.get('/dashboard/edges')).text;
    assert.match(listed, /<code>fst<\/code>/);
    assert.match(listed, /service_id=SU1Z0isxPaozGVKXdv0eY soft_purge=true/);
    assert.match(listed, /api_token set/);
    assert.doesNotMatch(listed, /fastly-secret/);
    const api = await fetch(`${t.adminUrl}/api/v1/edges`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    const listedByApi = (await api.json()) as { data: { attributes: { soft_purge: boolean } }[] };
    assert.deepEqual(listedByApi.data.map((edge) => edge.attributes.soft_purge), [true]);

    assert.equal((await client.post('/dashboard/edges/fst/remove', { _csrf: csrf })).status, 303);
    assert.match((await client.get('/dashboard/edges')).text, /No edge is registered/);
  });
});
