import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifySignature } from '../../src/auth/url-signing.ts';
import { AdminAccounts, hashPassword, verifyPassword } from '../../src/dashboard/accounts.ts';
import { csrfMatches } from '../../src/dashboard/csrf.ts';
import { DEVICE_TTL_MS, TrustedDevices } from '../../src/dashboard/devices.ts';
import { html, raw } from '../../src/dashboard/html.ts';
import { previewTarget, publicBase } from '../../src/dashboard/preview-url.ts';
import { safeNext } from '../../src/dashboard/routes/sign-in.ts';
import { exactPurgeUrl } from '../../src/dashboard/routes/tools.ts';
import { SESSION_TTL_MS, Sessions, parseCookies, serializeCookie } from '../../src/dashboard/session.ts';
import { fieldForPointer, formToAttributes, parseParams, recordToFormValues } from '../../src/dashboard/source-form.ts';
import { DEFAULT_DEPLOYMENT, type SourceRecord } from '../../src/store/source-record.ts';
import { SourceService } from '../../src/sources/source-service.ts';
import { openDatabase, type Db } from '../../src/store/sqlite/db.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { Stores } from '../../src/store/stores.ts';

describe('html template', () => {
  it('escapes every interpolated value, except html fragments; arrays are joined; null, undefined and false render nothing', () => {
    const name = `<script>"x" & 'y'</script>`;
    assert.equal(html`<p title="${name}">${name}</p>`.value, '<p title="&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;">&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;</p>');
    assert.equal(html`<ul>${['a<', html`<b>b</b>`].map((item) => html`<li>${item}</li>`)}</ul>`.value, '<ul><li>a&lt;</li><li><b>b</b></li></ul>');
    assert.equal(html`${null}${undefined}${false}${0}${raw('<br>')}`.value, '0<br>');
  });
});

describe('sessions and accounts', () => {
  let dir: string;
  let stores: Stores;
  let db: Db;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-dash-'));
    stores = await openStores({ dataDir: dir });
    db = openDatabase(dir);
  });
  after(async () => {
    db.close();
    await stores.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('hashes passwords with salted scrypt and verifies them in constant time', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.notEqual(a, b, 'salted');
    assert.equal(await verifyPassword('correct horse battery staple', a), true);
    assert.equal(await verifyPassword('correct horse battery stapl', a), false);
    assert.equal(await verifyPassword('x', 'plain'), false);
  });

  it('creates admin once with a random password of 20+ characters; set-password replaces it and ends the sessions', async () => {
    const accounts = new AdminAccounts(stores.accounts);
    const password = await accounts.ensureAdmin();
    assert.match(password ?? '', /^[A-Za-z0-9_-]{24}$/);
    assert.equal(await accounts.ensureAdmin(), undefined, 'only on the first start');
    assert.equal(await accounts.verify('admin', password!), true);
    assert.equal(await accounts.verify('root', password!), false);
    const stored = db.prepare('SELECT password_hash FROM dashboard_users').get() as { password_hash: string };
    assert.ok(!stored.password_hash.includes(password!));

    const sessions = new Sessions(stores.sessions);
    const { id } = await sessions.create('admin');
    assert.ok(await sessions.find(id));
    const devices = new TrustedDevices(stores.devices);
    const device = await devices.issue('admin', undefined);
    assert.ok(await devices.find(device, 'admin'));
    await assert.rejects(accounts.setPassword('admin', 'short'), /at least 12 characters/);
    assert.deepEqual(await accounts.setPassword('admin', 'a new password, long enough'), { created: false, sessionsEnded: 1, devicesForgotten: 1 });
    assert.equal(await sessions.find(id), undefined);
    assert.equal(await devices.find(device, 'admin'), undefined, 'its trusted browsers are forgotten too');
    assert.equal(await accounts.verify('admin', password!), false);
    assert.equal(await accounts.verify('admin', 'a new password, long enough'), true);
  });

  it('sessions: 256-bit ids stored hashed, expire after their lifetime, end at sign-out', async () => {
    let now = 1_000_000;
    const sessions = new Sessions(stores.sessions, () => now);
    const { id, session } = await sessions.create('admin');
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(session.idHash, id);
    assert.equal((await sessions.find(id))?.csrfToken, session.csrfToken);
    // Another id one character away (the last character is 'A' in 1 of 16 ids, so pick one that differs).
    assert.equal(await sessions.find(`${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`), undefined);
    assert.equal(await sessions.find('../etc'), undefined);
    now += SESSION_TTL_MS - 1;
    assert.ok(await sessions.find(id));
    now += 1;
    assert.equal(await sessions.find(id), undefined, 'expired');
    const second = await sessions.create('admin');
    await sessions.destroy(second.session);
    assert.equal(await sessions.find(second.id), undefined);
  });

  it('trusted devices: 256-bit ids stored hashed, a year long, their own account’s only, replaced at each sign-in, the newest 50 kept', async () => {
    let now = 1_000_000;
    const devices = new TrustedDevices(stores.devices, () => now);
    const id = await devices.issue('admin', undefined);
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    const idHash = await devices.find(id, 'admin');
    assert.ok(idHash && idHash !== id);
    assert.equal(await devices.find(id, 'root'), undefined, 'another account');
    assert.equal(await devices.find(`${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`, 'admin'), undefined);
    assert.equal(await devices.find(undefined, 'admin'), undefined);

    const next = await devices.issue('admin', idHash);
    assert.equal(await devices.find(id, 'admin'), undefined, 'the id it presented is retired');
    assert.ok(await devices.find(next, 'admin'));
    now += DEVICE_TTL_MS;
    assert.equal(await devices.find(next, 'admin'), undefined, 'expired');

    const issued: string[] = [];
    for (let i = 0; i < 51; i++) issued.push((now++, await devices.issue('admin', undefined)));
    assert.equal(await devices.find(issued[0], 'admin'), undefined, 'the oldest beyond 50 is dropped');
    for (const device of issued.slice(1)) assert.ok(await devices.find(device, 'admin'));
    assert.equal((db.prepare('SELECT count(*) AS n FROM dashboard_devices').get() as { n: number }).n, 50, 'expired rows are deleted too');
  });

  it('cookies and CSRF tokens', () => {
    assert.equal(serializeCookie('s', 'v', { secure: true, maxAge: 5 }), 's=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=5; Secure');
    assert.deepEqual([...parseCookies('a=1; b=2=3;c=; a=9')], [['a', '1'], ['b', '2=3'], ['c', '']]);
    assert.equal(csrfMatches('abc', 'abc'), true);
    assert.equal(csrfMatches('abc', 'abd'), false);
    assert.equal(csrfMatches('abc', 'abcd'), false);
    assert.equal(csrfMatches(undefined, 'abc'), false);
    assert.equal(csrfMatches('abc', null), false);
    assert.equal(safeNext('/dashboard/keys?x=1'), '/dashboard/keys?x=1');
    for (const next of ['//evil.example', '/dashboard//evil', 'https://evil.example/', '/api/v1/sources', '/dashboard/sign-out', undefined]) {
      assert.equal(safeNext(next), '/dashboard/tools', String(next));
    }
  });
});

describe('Source form ↔ Sources API attributes', () => {
  const form = (entries: Record<string, string | string[]>) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(entries)) for (const item of [value].flat()) params.append(name, item);
    return params;
  };

  it('creates: lists one a line, numbers as numbers, parameters as an object, only the chosen type’s fields, empty optionals left out', () => {
    const { attributes, errors } = formToAttributes(
      form({
        name: ' Bucket ', enabled: 'on', type: 's3', custom_domains: 'a.example.com\nb.example.com, c.example.com', imgix_subdomains: '',
        cache_ttl_behavior: 'override_origin', cache_ttl_value: '600', cache_ttl_error: 'soon', default_params: 'auto=format\nq = 60',
        image_missing: '', annotation: '', 's3.s3_bucket': 'photos', 's3.s3_prefix': '', 's3.s3_secret_key': 'shh', 's3.force_path_style': 'on',
        'folder.folder_path': '/ignored', secure_url_enabled: 'on',
      }),
      'create',
    );
    assert.deepEqual(errors, {});
    assert.deepEqual(attributes, {
      name: 'Bucket',
      enabled: true,
      deployment: {
        type: 's3', custom_domains: ['a.example.com', 'b.example.com', 'c.example.com'], imgix_subdomains: [], cache_ttl_behavior: 'override_origin',
        cache_ttl_value: 600, cache_ttl_error: 'soon', default_params: { auto: 'format', q: '60' }, image_missing: null, image_error: null,
        image_missing_append_qs: false, image_error_append_qs: false, secure_url_enabled: true, s3_bucket: 'photos', s3_secret_key: 'shh', force_path_style: true,
      },
    });
  });

  it('updates: an empty secret keeps the stored one unless "remove" is ticked; empty optional fields are removed (null)', () => {
    const { attributes } = formToAttributes(form({ name: 'B', type: 'gcs', cache_ttl_value: '', 'gcs.gcs_bucket': 'b', 'gcs.gcs_prefix': '', 'gcs.gcs_secret_key': '', annotation: '' }), 'update');
    const deployment = attributes.deployment as Record<string, unknown>;
    assert.equal('gcs_secret_key' in deployment, false);
    assert.equal(deployment.gcs_prefix, null);
    assert.equal(deployment.annotation, null);
    assert.equal('cache_ttl_value' in deployment, false, 'an empty TTL keeps the current one');
    const removed = formToAttributes(form({ name: 'B', type: 'gcs', 'gcs.gcs_bucket': 'b', 'remove.gcs.gcs_secret_key': 'on' }), 'update');
    assert.equal((removed.attributes.deployment as Record<string, unknown>).gcs_secret_key, null);
  });

  it('reports a parameter line without "=" itself; maps service pointers to fields', () => {
    assert.match(formToAttributes(form({ type: 'folder', default_params: 'auto=format\nnonsense' }), 'create').errors.default_params!, /"nonsense" is not/);
    assert.deepEqual(parseParams('w=400&h=300'), { w: '400', h: '300' });
    assert.equal(fieldForPointer('/data/attributes/deployment/s3_bucket'), 's3_bucket');
    assert.equal(fieldForPointer('/data/attributes/name'), 'name');
    assert.equal(fieldForPointer('/data/attributes/deployment'), undefined);
    assert.equal(fieldForPointer('/data/attributes'), undefined);
  });

  it('round-trips through the service: a Source read into the form and saved unchanged stays the same', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-form-'));
    const formStores = await openStores({ dataDir: dir });
    try {
      const service = new SourceService(formStores.sources, { folderRoots: [] });
      const created = await service.create({
        name: 'S', deployment: { type: 's3_compatible', bucket_name: 'b', secret_key: 'k', access_key: 'a', region: 'eu', custom_domains: ['x.example.com'], default_params: { auto: 'format' }, annotation: 'note', image_missing: 'https://x.example.com/missing.png', cache_ttl_value: 60 },
      });
      const values = recordToFormValues(created);
      const params = new URLSearchParams({ name: values.name, type: values.type, ...values.fields });
      if (values.enabled) params.set('enabled', 'on');
      for (const [name, on] of Object.entries(values.flags)) if (on) params.set(name, 'on');
      const updated = await service.update(created.id, formToAttributes(params, 'update').attributes);
      assert.deepEqual({ ...updated, dateDeployed: 0 }, { ...created, dateDeployed: 0 });
      assert.equal(updated.deployment.secret_key, 'k', 'the secret is kept');
    } finally {
      await formStores.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('preview URLs and the exact purge URL', () => {
  const record = (secure: boolean): SourceRecord => ({
    id: 'a'.repeat(24), name: 'S', enabled: true, dateDeployed: 0, secureUrlToken: secure ? 'token123' : undefined,
    deployment: { ...DEFAULT_DEPLOYMENT, type: 'folder', secure_url_enabled: secure, custom_domains: ['img.example.com'] },
  });

  it('encodes the path canonically and the values, with the fields before the free query, and signs last when required', () => {
    const plain = previewTarget(record(false), { path: 'dir/image file.jpg', params: { w: '40', fm: 'webp' }, query: '?w=99&txt=a b&s=bogus&rect=0,0,10,10' });
    assert.deepEqual(plain, { target: '/dir/image%20file.jpg?w=40&fm=webp&txt=a%20b&rect=0,0,10,10', signed: false });
    const signed = previewTarget(record(true), { path: '/image+file.jpg', params: { w: '40' }, query: '' });
    assert.ok('target' in signed && signed.signed);
    const [pathPart, query] = signed.target.split('?') as [string, string];
    assert.equal(pathPart, '/image%2Bfile.jpg');
    assert.equal(verifySignature('token123', pathPart, query), 'valid');
    const bare = previewTarget(record(true), { path: '/a.jpg', params: {}, query: '' });
    assert.ok('target' in bare && /^\/a\.jpg\?s=[0-9a-f]{32}$/.test(bare.target));
    assert.equal(verifySignature('token123', '/a.jpg', bare.target.split('?')[1]!), 'valid');
    assert.deepEqual(previewTarget(record(false), { path: '/../x.jpg', params: {}, query: '' }), { error: 'Invalid path: the path contains a "." or ".." segment.', field: 'path' });
    assert.equal(publicBase(record(false), { baseDomain: undefined, publicUrl: new URL('https://cdn.example.com'), renderUrl: 'http://127.0.0.1:3000' }), 'https://img.example.com');
  });

  it('the exact purge URL: unsafe characters percent-encoded, query and fragment dropped, + kept', () => {
    assert.equal(exactPurgeUrl(' http://localhost:3000/image file.png?w=1#x '), 'http://localhost:3000/image%20file.png');
    assert.equal(exactPurgeUrl('http://localhost:3000/image+file.png'), 'http://localhost:3000/image+file.png');
    assert.equal(exactPurgeUrl('ftp://x/a'), undefined);
    assert.equal(exactPurgeUrl('image.png'), undefined);
  });
});
