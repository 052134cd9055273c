import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignInLimiter } from '../../src/dashboard/sign-in-limiter.ts';
import { solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { DashboardClient } from './http-client.ts';

describe('dashboard over HTTP: sessions, CSRF, rate limit, headers', () => {
  let t: TestPictor;
  /** Signed in once, here: failed sign-ins from an address are limited (see sign-in-limit.test.ts). */
  let client: DashboardClient;
  before(async () => {
    t = await startPictor({
      assets: { 'a.jpg': await solidImage(20, 10, [10, 20, 30]), 'page.html': '<script>alert(1)</script>', 'doc.pdf': '%PDF-1.4\n%%EOF\n' },
      options: { purgeRateLimit: '1000' },
    });
    client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
  });
  after(() => t.stop());

  it('sends / to the dashboard and every page to the sign-in without a session; the status endpoint answers 401 JSON', async () => {
    const anonymous = new DashboardClient(t.adminUrl);
    assert.equal((await anonymous.get('/')).location, '/dashboard/');
    const keys = await anonymous.get('/dashboard/keys?x=1');
    assert.equal(keys.status, 303);
    assert.equal(keys.location, '/dashboard/sign-in?next=%2Fdashboard%2Fkeys%3Fx%3D1');
    const post = await anonymous.post('/dashboard/keys', { name: 'x', permissions: 'purge' });
    assert.equal(post.status, 303);
    assert.equal(post.location, '/dashboard/sign-in');
    const status = await anonymous.get('/dashboard/purges/abc/status');
    assert.equal(status.status, 401);
    assert.match(status.headers.get('content-type') ?? '', /application\/json/);
    // The API keeps its JSON:API errors.
    assert.match((await anonymous.get('/api/v1/nothing')).headers.get('content-type') ?? '', /vnd\.api\+json/);
  });

  it('serves pages with a strict Content-Security-Policy, no-store, and its one CSS and one JS file', async () => {
    const page = await new DashboardClient(t.adminUrl).get('/dashboard/sign-in');
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, new RegExp(`img-src 'self' ${t.renderUrl.replace(/[.]/g, '\\.')}(;|$)`));
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.doesNotMatch(page.text, /<script>|style=|https?:\/\/(?!127\.0\.0\.1)/, 'no inline script or style, nothing from elsewhere');
    for (const [asset, type] of [
      ['dashboard.css', 'text/css'],
      ['dashboard.js', 'text/javascript'],
    ] as const) {
      const href = new RegExp(`/dashboard/assets/${asset.replace('.', '\\.')}\\?v=[0-9a-f]{12}`).exec(page.text)?.[0];
      assert.ok(href, `${asset} is linked`);
      const response = await fetch(`${t.adminUrl}${href}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', new RegExp(`^${type}`));
      assert.match(response.headers.get('cache-control') ?? '', /immutable/);
    }
  });

  it('signs in only with the CSRF token of its form and the right password; the session cookie is HttpOnly, SameSite=Strict, Path=/', async () => {
    const fresh = new DashboardClient(t.adminUrl);
    const page = await fresh.get('/dashboard/sign-in');
    const token = DashboardClient.csrfOf(page.text);
    assert.equal(fresh.cookies.get('pictor_sign_in'), token, 'double-submit: the same token in a cookie and the form');

    const forged = await fresh.post('/dashboard/sign-in', { _csrf: 'x'.repeat(43), username: 'admin', password: t.adminPassword });
    assert.equal(forged.status, 403);
    assert.equal(fresh.cookies.get('pictor_session'), undefined);

    const wrong = await fresh.post('/dashboard/sign-in', { _csrf: token, username: 'admin', password: `${t.adminPassword}x` });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /The user name or the password is wrong/);

    const ok = await fresh.post('/dashboard/sign-in', { _csrf: DashboardClient.csrfOf(wrong.text), username: 'admin', password: t.adminPassword, next: '//evil.example/' });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/dashboard/tools', 'next may only lead inside the dashboard');
    const cookie = ok.setCookies.find((line) => line.startsWith('pictor_session='))!;
    assert.match(cookie, /; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    assert.doesNotMatch(cookie, /Secure/, 'not Secure over plain http');

    // Only a hash of the session id is stored.
    const id = fresh.cookies.get('pictor_session')!;
    for (const file of ['pictor.db', 'pictor.db-wal']) {
      const bytes = await fs.readFile(path.join(t.dataDir, file)).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes(Buffer.from(id)), `${file} does not hold the session id`);
    }
    assert.equal((await fresh.get('/dashboard/tools')).status, 200);

    // Behind a TLS-terminating reverse proxy, the cookies are Secure.
    const proxied = new DashboardClient(t.adminUrl);
    const form = await proxied.get('/dashboard/sign-in', { 'x-forwarded-proto': 'https' });
    assert.match(form.setCookies[0]!, /; Secure$/);
    const signedIn = await proxied.post(
      '/dashboard/sign-in',
      { _csrf: DashboardClient.csrfOf(form.text), username: 'admin', password: t.adminPassword },
      { 'x-forwarded-proto': 'https' },
    );
    assert.match(signedIn.setCookies.find((line) => line.startsWith('pictor_session='))!, /HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
  });

  it('refuses every session form without its CSRF token, and changes nothing then', async () => {
    const before = (await fetch(`${t.adminUrl}/dashboard/keys`, { headers: { cookie: `pictor_session=${client.cookies.get('pictor_session')}` } })).status;
    assert.equal(before, 200);
    for (const [url, form] of [
      ['/dashboard/keys', { name: 'forged', permissions: 'admin' }],
      ['/dashboard/tools/purge', { url: `${t.renderUrl}/a.jpg` }],
      ['/dashboard/tools/purge-tag', { tag: 'hero' }],
      ['/dashboard/sign-out', {}],
    ] as const) {
      const missing = await client.post(url, form);
      assert.equal(missing.status, 403, `${url} without a token`);
      const wrong = await client.post(url, { ...form, _csrf: 'A'.repeat(43) });
      assert.equal(wrong.status, 403, `${url} with a wrong token`);
      assert.match(wrong.text, /nothing was changed/);
    }
    assert.ok(!(await client.get('/dashboard/keys')).text.includes('forged'));
    assert.equal((await client.get('/dashboard/tools')).status, 200, 'still signed in');
  });

  it('escapes what people typed: a key name with markup is shown as text', async () => {
    const created = await client.post('/dashboard/keys', { _csrf: await client.csrf('/dashboard/keys'), name: '<img src=x onerror=alert(1)>"\'', permissions: ['purge', 'sources'] });
    assert.equal(created.status, 303);
    const page = await client.get('/dashboard/keys');
    assert.ok(page.text.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;'));
    assert.ok(!page.text.includes('<img src=x'));
    assert.match(page.text, /data-new-key>ak_[0-9a-f]{64}</);
    assert.doesNotMatch((await client.get('/dashboard/keys')).text, /data-new-key/, 'the new key is shown once');
  });

  it('shows Purge API errors next to the URL field', async () => {
    const csrf = await client.csrf();
    const unknown = await client.post('/dashboard/tools/purge', { _csrf: csrf, url: 'https://not-a-source.example/a.jpg' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /<p class="error" id="f-url-error">The host &quot;not-a-source.example&quot; is not a domain of any Source/);
    assert.match(unknown.text, /id="f-url"[^>]*aria-invalid="true"/);
    const relative = await client.post('/dashboard/tools/purge', { _csrf: csrf, url: 'a.jpg' });
    assert.match(relative.text, /id="f-url-error">Enter a full http\(s\) URL/);
    const ok = await client.post('/dashboard/tools/purge', { _csrf: csrf, url: `${t.renderUrl}/a.jpg?w=10#x` });
    assert.equal(ok.status, 303);
    const id = new URL(ok.location!, t.adminUrl).searchParams.get('purge')!;
    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any;
    assert.equal(status.data.attributes.url, `${t.renderUrl}/a.jpg`, 'the URL purged is the one shown: no query, no fragment');
  });

  it('purges by tag from the Tools page, with errors next to their field, and lists the tag purge', async () => {
    const auth = { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' };
    const asset = `${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/assets`;
    assert.ok((await fetch(`${asset}/add/a.jpg`, { method: 'POST', headers: { authorization: auth.authorization } })).ok);
    const tags = JSON.stringify({ data: { type: 'assets', attributes: { tags: ['hero "banner"'] } } });
    assert.equal((await fetch(`${asset}/a.jpg`, { method: 'PATCH', headers: auth, body: tags })).status, 200);

    const tools = await client.get('/dashboard/tools');
    assert.match(tools.text, /<form method="post" action="\/dashboard\/tools\/purge-tag"/);
    const csrf = DashboardClient.csrfOf(tools.text);
    const empty = await client.post('/dashboard/tools/purge-tag', { _csrf: csrf, tag: ' ', tag_source: '' });
    assert.equal(empty.status, 400);
    assert.match(empty.text, /id="f-tag-error">Enter the tag whose assets to purge\./);
    const unknown = await client.post('/dashboard/tools/purge-tag', { _csrf: csrf, tag: 'hero', tag_source: 'f'.repeat(24) });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /id="f-tag_source-error">No Source has the id &quot;f{24}&quot;/);

    const done = await client.post('/dashboard/tools/purge-tag', { _csrf: csrf, tag: 'hero "banner"', tag_source: t.defaultSourceId });
    assert.equal(done.status, 303);
    const id = new URL(done.location!, t.adminUrl).searchParams.get('purge')!;
    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: auth.authorization } })).json()) as any;
    assert.deepEqual([status.data.attributes.tag, status.data.attributes.assets], ['hero "banner"', 1]);
    const shown = await client.get(`/dashboard/tools?purge=${id}`);
    assert.match(shown.text, /Every asset tagged &quot;hero &quot;banner&quot;&quot; of the Source &quot;default&quot; \([0-9a-f]{24}\): 1 asset/);
    const listed = await client.get('/dashboard/purges');
    assert.match(listed.text, new RegExp(`data-purge-id="${id}"[\\s\\S]*?Every asset tagged &quot;hero &quot;banner&quot;&quot;`));
  });

  it('purges a whole Source only after a confirmation naming it; no Source is chosen for the user', async () => {
    const tools = await client.get('/dashboard/tools');
    const select = /<select id="f-source_id"[\s\S]*?<\/select>/.exec(tools.text)![0];
    assert.match(select, /<option value="" selected>Choose a Source…<\/option>/);
    assert.doesNotMatch(select, /value="[0-9a-f]{24}" selected/, 'no Source pre-selected');
    const csrf = DashboardClient.csrfOf(tools.text);

    const none = await client.post('/dashboard/tools/purge-source', { _csrf: csrf, source_id: '' });
    assert.equal(none.status, 400);
    assert.match(none.text, /id="f-source_id-error">Choose the Source to purge\./);

    const asked = await client.post('/dashboard/tools/purge-source', { _csrf: csrf, source_id: t.defaultSourceId });
    assert.equal(asked.status, 200);
    assert.match(asked.text, /Purge everything cached for the Source <strong>“default”<\/strong>/);
    assert.match(asked.text, /<input type="hidden" name="confirm" value="yes">/);
    assert.match(asked.text, /<button type="submit" class="danger">Purge the whole Source<\/button>/);
    assert.match(asked.text, /<a href="\/dashboard\/tools">Cancel<\/a>/);
    assert.doesNotMatch((await client.get('/dashboard/purges')).text, /Everything cached for the Source/, 'nothing purged yet');

    // The confirmation's form, as sent from it; and it too needs the CSRF token.
    assert.equal((await client.post('/dashboard/tools/purge-source', { source_id: t.defaultSourceId, confirm: 'yes' })).status, 403);
    const done = await client.post('/dashboard/tools/purge-source', { _csrf: DashboardClient.csrfOf(asked.text), source_id: t.defaultSourceId, confirm: 'yes' });
    assert.equal(done.status, 303);
    const id = new URL(done.location!, t.adminUrl).searchParams.get('purge')!;
    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any;
    assert.equal(status.data.attributes.source_id, t.defaultSourceId);
    assert.equal(status.data.attributes.url, null, 'a whole-Source purge');
  });

  it('disables a Source only after a confirmation naming it and its domains; enabling acts at once', async () => {
    const created = await fetch(`${t.adminUrl}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'sources', attributes: { name: 'Shop', deployment: { type: 'webproxy', custom_domains: ['shop.example.test'] } } } }),
    });
    const id = ((await created.json()) as any).data.id as string;
    const enabled = async () =>
      ((await (await fetch(`${t.adminUrl}/api/v1/sources/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any).data.attributes.enabled;
    const list = await client.get('/dashboard/sources');
    const csrf = DashboardClient.csrfOf(list.text);

    const asked = await client.post(`/dashboard/sources/${id}/enabled`, { _csrf: csrf, enabled: 'false', back: 'list' });
    assert.equal(asked.status, 200);
    assert.match(asked.text, /Disable the Source <strong>“Shop”<\/strong>/);
    assert.match(asked.text, /<code>shop\.example\.test<\/code>\) answer <code>410 Gone<\/code> for every asset not cached yet/);
    assert.match(asked.text, /<button type="submit" class="danger">Disable the Source<\/button>/);
    assert.equal(await enabled(), true, 'nothing changed yet');

    const done = await client.post(`/dashboard/sources/${id}/enabled`, { _csrf: csrf, enabled: 'false', back: 'list', confirm: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.location, '/dashboard/sources');
    assert.equal(await enabled(), false);
    assert.match((await client.get('/dashboard/sources')).text, /Source “Shop” disabled\./);

    const again = await client.post(`/dashboard/sources/${id}/enabled`, { _csrf: csrf, enabled: 'true', back: 'edit' });
    assert.equal(again.status, 303, 'enabling needs no confirmation');
    assert.equal(again.location, `/dashboard/sources/${id}`);
    assert.equal(await enabled(), true);
  });

  it('saves a webfolder Source the outbound guard will refuse, and warns, naming --outbound-allow and the address', async () => {
    const csrf = await client.csrf('/dashboard/sources/new');
    const form = { _csrf: csrf, name: 'Intranet', enabled: 'on', type: 'webfolder', cache_ttl_behavior: 'respect_origin', cache_ttl_value: '60', cache_ttl_error: '60' };
    const created = await client.post('/dashboard/sources', { ...form, 'webfolder.webfolder_base_url': 'http://127.0.0.1:8080/images/' });
    assert.equal(created.status, 303, 'saved all the same');
    const page = await client.get(created.location!);
    assert.match(page.text, /<div class="alert notice" role="status">Source “Intranet” created\.<\/div>/);
    const warning = /<div class="alert warning" role="alert" data-warning>([^<]*)<\/div>/.exec(page.text)?.[1];
    assert.ok(warning, 'a warning is shown');
    assert.match(warning, /is at 127\.0\.0\.1, not a public address \(loopback\), so the outbound guard refuses it/);
    assert.match(warning, /start Pictor with --outbound-allow 127\.0\.0\.1 \(or a range that covers it\)/);
    assert.doesNotMatch((await client.get(created.location!)).text, /data-warning/, 'shown once, after the save');

    const id = /\/dashboard\/sources\/([0-9a-f]{24})$/.exec(created.location!)![1]!;
    const fixed = await client.post(`/dashboard/sources/${id}`, { ...form, 'webfolder.webfolder_base_url': 'https://93.184.215.14/images/' });
    assert.equal(fixed.status, 303);
    const after = await client.get(fixed.location!);
    assert.match(after.text, /Changes saved\./);
    assert.doesNotMatch(after.text, /data-warning/, 'a public address: no warning');
  });

  it('the key form offers only the permissions that grant something, each saying what it grants', async () => {
    const page = await client.get('/dashboard/keys');
    const offered = [...page.text.matchAll(/name="permissions" value="([a-z-]+)"/g)].map((match) => match[1]);
    assert.deepEqual(offered, ['purge', 'sources', 'assets-browse', 'assets-edit', 'admin']);
    assert.doesNotMatch(page.text, /Analytics/);
    assert.match(page.text, /aria-describedby="perm-purge-hint">[\s\S]*?<label for="perm-purge">Purge<\/label>\s*<p class="hint" id="perm-purge-hint">Purge assets, folders and whole Sources/);
    assert.match(page.text, /id="perm-admin-hint">Everything above, and takedowns and edges\./);
    const refused = await client.post('/dashboard/keys', { _csrf: DashboardClient.csrfOf(page.text), name: 'stats', permissions: 'analytics' });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /id="permissions-error">Choose among the permissions listed \(got &quot;analytics&quot;\)\./);
  });

  it('lists purges a page of 25 at a time, newest first, with links to the other pages that keep the filters', async () => {
    for (let i = 0; i < 27; i++) assert.equal((await t.purge(`${t.renderUrl}/paged/${String(i).padStart(2, '0')}.jpg`)).status, 200);
    const first = await client.get('/dashboard/purges?q=%2Fpaged%2F');
    assert.match(first.text, /Purges 1–25 of 27, newest first\./);
    assert.match(first.text, /paged\/26\.jpg/);
    assert.doesNotMatch(first.text, /paged\/01\.jpg/);
    assert.match(first.text, /<a href="\/dashboard\/purges\?q=%2Fpaged%2F&amp;page=2" rel="next">/);
    const second = await client.get('/dashboard/purges?q=%2Fpaged%2F&page=2');
    assert.match(second.text, /Purges 26–27 of 27/);
    assert.match(second.text, /paged\/01\.jpg[\s\S]*paged\/00\.jpg/);
    assert.match(second.text, /rel="prev"/);
    assert.match((await client.get('/dashboard/purges?q=%2Fpaged%2F&page=99')).text, /Purges 26–27 of 27/, 'past the end: the last page');
  });

  it('shows Sources API validation errors next to their field, per type', async () => {
    const csrf = await client.csrf('/dashboard/sources/new');
    const base = { _csrf: csrf, name: 'Bucket', enabled: 'on', cache_ttl_behavior: 'respect_origin', cache_ttl_value: '60', cache_ttl_error: '60' };
    const noBucket = await client.post('/dashboard/sources', { ...base, type: 's3', 's3.s3_secret_key': 'not echoed back' });
    assert.equal(noBucket.status, 400);
    assert.match(noBucket.text, /id="f-s3-s3_bucket-error">&quot;deployment.s3_bucket&quot; is required for a s3 Source/);
    assert.doesNotMatch(noBucket.text, /not echoed back/, 'secrets are never shown again');
    const clash = await client.post('/dashboard/sources', { ...base, type: 'webproxy', custom_domains: 'localhost' });
    assert.match(clash.text, /id="f-custom_domains-error">&quot;deployment.custom_domains&quot;: &quot;localhost&quot; is already a domain of the Source &quot;default&quot;/);
    const ttl = await client.post('/dashboard/sources', { ...base, type: 'webproxy', cache_ttl_value: 'soon' });
    assert.match(ttl.text, /id="f-cache_ttl_value-error">&quot;deployment.cache_ttl_value&quot; must be a whole number of seconds/);
    const params = await client.post('/dashboard/sources', { ...base, type: 'webproxy', default_params: 'auto' });
    assert.match(params.text, /id="f-default_params-error">Write one parameter a line as name=value/);
    const created = await client.post('/dashboard/sources', { ...base, type: 'webproxy' });
    assert.equal(created.status, 303);
    const id = /\/dashboard\/sources\/([0-9a-f]{24})$/.exec(created.location!)![1]!;
    const edit = await client.get(`/dashboard/sources/${id}`);
    assert.match(edit.text, /id="secure-token">[0-9a-f]{32}</, 'a Web Proxy Source is always signed');
  });

  it('pages the Sources list, oldest first', async () => {
    const own = await startPictor();
    try {
      for (let i = 0; i < 55; i++) {
        const response = await fetch(`${own.adminUrl}/api/v1/sources`, {
          method: 'POST',
          headers: { authorization: `Bearer ${own.apiKey}`, 'content-type': 'application/vnd.api+json' },
          body: JSON.stringify({ data: { type: 'sources', attributes: { name: `listed ${String(i).padStart(2, '0')}`, deployment: { type: 'webproxy' } } } }),
        });
        assert.equal(response.status, 201);
      }
      const viewer = new DashboardClient(own.adminUrl);
      await viewer.signIn('admin', own.adminPassword);
      const rows = (text: string) => [...text.matchAll(/<tr role="row" data-source-id=/g)].length;
      const first = await viewer.get('/dashboard/sources');
      assert.match(first.text, /Sources 1–50 of 56, oldest first\./);
      assert.equal(rows(first.text), 50);
      assert.match(first.text, />default<\/a>[\s\S]*listed 00[\s\S]*listed 48</);
      assert.match(first.text, /<a href="\/dashboard\/sources\?page=2" rel="next">/);
      const second = await viewer.get('/dashboard/sources?page=2');
      assert.match(second.text, /Sources 51–56 of 56/);
      assert.equal(rows(second.text), 6);
      assert.match(second.text, /listed 49[\s\S]*listed 54/);
      assert.match(second.text, /<a href="\/dashboard\/sources" rel="prev">/);
      assert.match((await viewer.get('/dashboard/sources?page=99')).text, /Sources 51–56 of 56/, 'past the end: the last page');
    } finally {
      await own.stop();
    }
  });

  it('the preview proxy relays only images and plain-text errors, sandboxed', async () => {
    const image = await client.get(`/dashboard/preview/image?source=${t.defaultSourceId}&target=${encodeURIComponent('/a.jpg?w=5')}`);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/jpeg');
    assert.match(image.headers.get('content-security-policy') ?? '', /sandbox/);
    const html = await client.get(`/dashboard/preview/image?source=${t.defaultSourceId}&target=${encodeURIComponent('/page.html')}`);
    assert.equal(html.status, 415, 'the render listener refuses a page; its plain-text refusal is relayed');
    assert.match(html.headers.get('content-type') ?? '', /^text\/plain/);
    assert.doesNotMatch(html.text, /<script>/);
    const pdf = await client.get(`/dashboard/preview/image?source=${t.defaultSourceId}&target=${encodeURIComponent('/doc.pdf')}`);
    assert.equal(pdf.status, 502, 'media other than images stay on the render listener');
    assert.match(pdf.text, /answered with application\/pdf, not an image/);
    const missing = await client.get(`/dashboard/preview/image?source=${t.defaultSourceId}&target=${encodeURIComponent('/nope.jpg')}`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^text\/plain/);
    for (const target of ['//evil.example/a.jpg', 'a.jpg', '/a b.jpg', '/a.jpg\r\nx: y']) {
      assert.equal((await client.get(`/dashboard/preview/image?source=${t.defaultSourceId}&target=${encodeURIComponent(target)}`)).status, 400, target);
    }
  });

  it('signs out: the session is destroyed, the old cookie opens nothing', async () => {
    const leaving = new DashboardClient(t.adminUrl);
    await leaving.signIn('admin', t.adminPassword);
    const id = leaving.cookies.get('pictor_session')!;
    const out = await leaving.post('/dashboard/sign-out', { _csrf: await leaving.csrf() });
    assert.equal(out.status, 303);
    assert.equal(out.location, '/dashboard/sign-in?signed_out');
    assert.match(out.setCookies[0]!, /^pictor_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    const replay = await fetch(`${t.adminUrl}/dashboard/tools`, { headers: { cookie: `pictor_session=${id}` }, redirect: 'manual' });
    assert.equal(replay.status, 303);
    assert.equal((await client.get('/dashboard/tools')).status, 200, 'other sessions go on');
  });

  it('after 5 failed sign-ins from an address, answers 429 with Retry-After and a clear message', async () => {
    // A Pictor of its own, so the attempts above do not count; its limiter's clock stands still.
    const own = await startPictor({ hooks: { signInLimiter: (failures) => new SignInLimiter(failures, () => 0) } });
    try {
      const client = new DashboardClient(own.adminUrl);
      const statuses: number[] = [];
      let last;
      for (let attempt = 0; attempt < 6; attempt++) {
        last = await client.post('/dashboard/sign-in', { _csrf: await client.csrf('/dashboard/sign-in'), username: 'admin', password: 'wrong password!' });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
      assert.equal(last!.headers.get('retry-after'), '1');
      assert.match(last!.text, /Too many failed sign-ins from your address\. Wait 1 second, then try again\./);
      // Even the right password waits, from a browser that never signed in.
      const right = await client.post('/dashboard/sign-in', { _csrf: await client.csrf('/dashboard/sign-in'), username: 'admin', password: own.adminPassword });
      assert.equal(right.status, 429);
    } finally {
      await own.stop();
    }
  });
});
