import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeys, type Permission } from '../../src/auth/api-keys.ts';
import { SourceService } from '../../src/sources/source-service.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

function client(t: TestPictor) {
  return async (method: string, url: string, body?: unknown, key = t.apiKey): Promise<ApiResponse> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await fetch(`${t.adminUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
  };
}

const sourceDoc = (attributes: Record<string, unknown>) => ({ data: { type: 'sources', attributes } });

/** A key with only these permissions, made on the server's data directory (a second connection, as the CLI does). */
async function createKey(dataDir: string, permissions: Permission[]): Promise<string> {
  const stores = await openStores({ dataDir });
  try {
    return (await new ApiKeys(stores.apiKeys).create(`only ${permissions.join(',')}`, permissions)).key;
  } finally {
    await stores.close();
  }
}

function assertBadRequest(response: ApiResponse, pointer: string, detail: RegExp): void {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.errors[0].status, '400');
  assert.equal(response.body.errors[0].source?.pointer, pointer, response.text);
  assert.match(response.body.errors[0].detail, detail);
}

const SECRETS = ['S3-SECRET-VALUE', 'COMPAT-SECRET-VALUE', 'GCS-SECRET-VALUE'];

describe('Sources API: create, get, update', () => {
  let t: TestPictor;
  let api: ReturnType<typeof client>;
  let folder: string;
  const responses: string[] = [];
  before(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-src-'));
    t = await startPictor({ options: { baseDomain: 'images.example.com', folderRoots: folder } });
    api = client(t);
  });
  after(async () => {
    await t.stop();
    await fs.rm(folder, { recursive: true, force: true });
  });
  const call = async (...args: Parameters<ReturnType<typeof client>>) => {
    const response = await api(...args);
    responses.push(response.text);
    return response;
  };

  it("creates the management-js example (201) and reads it back with imgix's field names", async () => {
    const before = Math.floor(Date.now() / 1000);
    const created = await call('POST', '/api/v1/sources', {
      data: {
        attributes: {
          name: 'New Web Folder Source',
          deployment: { type: 'webfolder', webfolder_base_url: 'https://my-domain.com/images/', imgix_subdomains: ['my-unique-imgix-subdomain'] },
        },
        type: 'sources',
      },
      jsonapi: { version: '1.0' },
    });
    assert.equal(created.status, 201, created.text);
    assert.match(created.headers.get('content-type') ?? '', /^application\/vnd\.api\+json/);
    const { data } = created.body;
    assert.match(data.id, /^[0-9a-f]{24}$/);
    assert.equal(created.headers.get('location'), `/api/v1/sources/${data.id}`);
    assert.equal(data.type, 'sources');
    assert.equal(data.attributes.name, 'New Web Folder Source');
    assert.equal(data.attributes.enabled, true);
    assert.equal(data.attributes.deployment_status, 'deployed');
    assert.ok(data.attributes.date_deployed >= before && data.attributes.date_deployed <= before + 5);
    assert.equal('secure_url_token' in data.attributes, false, 'no token while secure URLs are off');
    assert.deepEqual(data.attributes.deployment, {
      type: 'webfolder',
      imgix_subdomains: ['my-unique-imgix-subdomain'],
      custom_domains: [],
      cache_ttl_behavior: 'respect_origin',
      cache_ttl_value: 31536000,
      cache_ttl_error: 300,
      default_params: {},
      image_missing: null,
      image_missing_append_qs: false,
      image_error: null,
      image_error_append_qs: false,
      secure_url_enabled: false,
      webfolder_base_url: 'https://my-domain.com/images/',
      allows_upload: false,
    });
    assert.deepEqual(created.body.included, []);
    assert.deepEqual(created.body.jsonapi, { version: '1.0' });
    assert.equal(created.body.meta.authentication.authorized, true);

    const read = await call('GET', `/api/v1/sources/${data.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data, data);
  });

  it('creates every type; webproxy always signs; secrets are stored but never returned', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ type: 'folder', folder_path: folder }, { folder_path: folder }],
      [{ type: 'webproxy' }, { secure_url_enabled: true }],
      [
        { type: 's3', s3_bucket: 'my-bucket', s3_prefix: 'img/', s3_access_key: 'AKIAEXAMPLE', s3_secret_key: SECRETS[0], region: 'eu-west-1' },
        { s3_bucket: 'my-bucket', s3_prefix: 'img/', s3_access_key: 'AKIAEXAMPLE', region: 'eu-west-1', s3_secret_key_set: true },
      ],
      [
        { type: 's3_compatible', bucket_name: 'r2-bucket', storage_provider: 'cloudflare', endpoint: 'https://acct.r2.cloudflarestorage.com', access_key: 'ak', secret_key: SECRETS[1], force_path_style: true },
        { bucket_name: 'r2-bucket', storage_provider: 'cloudflare', endpoint: 'https://acct.r2.cloudflarestorage.com', access_key: 'ak', secret_key_set: true, force_path_style: true },
      ],
      [
        { type: 'gcs', gcs_bucket: 'gcs-bucket', gcs_prefix: 'p/', gcs_access_key: 'GOOG1', gcs_secret_key: SECRETS[2], cache_ttl_behavior: 'enforce_minimum' },
        { gcs_bucket: 'gcs-bucket', gcs_prefix: 'p/', gcs_access_key: 'GOOG1', gcs_secret_key_set: true, cache_ttl_behavior: 'enforce_minimum' },
      ],
    ];
    for (const [deployment, expected] of cases) {
      const created = await call('POST', '/api/v1/sources', sourceDoc({ name: `a ${deployment.type}`, deployment }));
      assert.equal(created.status, 201, created.text);
      const read = await call('GET', `/api/v1/sources/${created.body.data.id}`);
      const attributes = read.body.data.attributes;
      assert.equal(attributes.deployment.type, deployment.type);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(attributes.deployment[key], value, `${deployment.type}.${key}`);
      for (const secret of ['s3_secret_key', 'secret_key', 'gcs_secret_key']) assert.equal(secret in attributes.deployment, false);
      if (deployment.type === 'webproxy') assert.match(attributes.secure_url_token, /^[0-9a-f]{32}$/);
    }
    const s3 = (await call('GET', '/api/v1/sources?filter[deployment.type]=s3')).body.data[0];
    const patched = await call('PATCH', `/api/v1/sources/${s3.id}`, sourceDoc({ deployment: { s3_secret_key: 'S3-SECRET-VALUE' } }));
    assert.equal(patched.status, 200);
    await call('GET', '/api/v1/sources?page[size]=100');
    for (const text of responses) for (const secret of SECRETS) assert.ok(!text.includes(secret), `a response echoed ${secret}`);
  });

  it('400 naming the field for missing and invalid fields, and unknown attributes', async () => {
    const post = (attributes: Record<string, unknown>) => call('POST', '/api/v1/sources', sourceDoc(attributes));
    assertBadRequest(await post({ deployment: { type: 'webproxy' } }), '/data/attributes/name', /"name" is required/);
    assertBadRequest(await post({ name: '  ', deployment: { type: 'webproxy' } }), '/data/attributes/name', /"name"/);
    assertBadRequest(await post({ name: 'x' }), '/data/attributes/deployment', /"deployment" is required/);
    assertBadRequest(await post({ name: 'x', deployment: {} }), '/data/attributes/deployment/type', /"deployment.type" is required/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'azure' } }), '/data/attributes/deployment/type', /one of folder, webfolder/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'folder' } }), '/data/attributes/deployment/folder_path', /required for a folder Source/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'folder', folder_path: 'relative/dir' } }), '/data/attributes/deployment/folder_path', /absolute/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'folder', folder_path: path.join(folder, 'nope') } }), '/data/attributes/deployment/folder_path', /existing directory/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'webfolder' } }), '/data/attributes/deployment/webfolder_base_url', /required/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'webfolder', webfolder_base_url: 'ftp://x/' } }), '/data/attributes/deployment/webfolder_base_url', /http\(s\) URL/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'webfolder', webfolder_base_url: '/images/' } }), '/data/attributes/deployment/webfolder_base_url', /absolute/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 's3' } }), '/data/attributes/deployment/s3_bucket', /required for a s3 Source/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 's3_compatible' } }), '/data/attributes/deployment/bucket_name', /required/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'gcs' } }), '/data/attributes/deployment/gcs_bucket', /required/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 's3', s3_bucket: 'b', endpoint: 'minio:9000' } }), '/data/attributes/deployment/endpoint', /http\(s\) URL/);
    assertBadRequest(await post({ name: 'x', deployment: { type: 'webproxy', s3_bucket: 'b' } }), '/data/attributes/deployment/s3_bucket', /does not apply to a webproxy Source/);
    assertBadRequest(await post({ name: 'x', enabled: 'yes', deployment: { type: 'webproxy' } }), '/data/attributes/enabled', /true or false/);
    const webproxy = (deployment: Record<string, unknown>) => post({ name: 'x', deployment: { type: 'webproxy', ...deployment } });
    assertBadRequest(await webproxy({ cache_ttl_value: -1 }), '/data/attributes/deployment/cache_ttl_value', /whole number/);
    assertBadRequest(await webproxy({ cache_ttl_error: '300' }), '/data/attributes/deployment/cache_ttl_error', /whole number/);
    assertBadRequest(await webproxy({ cache_ttl_value: 1.5 }), '/data/attributes/deployment/cache_ttl_value', /whole number/);
    assertBadRequest(await webproxy({ cache_ttl_behavior: 'forever' }), '/data/attributes/deployment/cache_ttl_behavior', /respect_origin, override_origin, enforce_minimum/);
    assertBadRequest(await webproxy({ default_params: { w: 400 } }), '/data/attributes/deployment/default_params', /strings/);
    assertBadRequest(await webproxy({ default_params: ['auto=format'] }), '/data/attributes/deployment/default_params', /object/);
    assertBadRequest(await webproxy({ imgix_subdomains: 'shop' }), '/data/attributes/deployment/imgix_subdomains', /array of strings/);
    assertBadRequest(await webproxy({ imgix_subdomains: ['shop.example'] }), '/data/attributes/deployment/imgix_subdomains', /DNS labels/);
    assertBadRequest(await webproxy({ custom_domains: ['https://cdn.example.com/'] }), '/data/attributes/deployment/custom_domains', /host names/);
    assertBadRequest(await webproxy({ custom_domains: ['*.example.com'] }), '/data/attributes/deployment/custom_domains', /host names/);
    assertBadRequest(await webproxy({ secure_url_enabled: 'true' }), '/data/attributes/deployment/secure_url_enabled', /true or false/);
    assertBadRequest(await webproxy({ image_error: 5 }), '/data/attributes/deployment/image_error', /string or null/);
    assertBadRequest(await webproxy({ crossdomain_xml_enabled: true }), '/data/attributes/deployment/crossdomain_xml_enabled', /crossdomain/);
    const unknown = await post({ name: 'x', colour: 'red', deployment: { type: 'webproxy', s3_bukket: 'b' } });
    assertBadRequest(unknown, '/data/attributes/colour', /Unknown attributes "colour", "deployment.s3_bukket"/);
    assertBadRequest(await post({ name: 'x', purge_derivatives: true, deployment: { type: 'webproxy' } }), '/data/attributes/purge_derivatives', /PATCH only/);

    const wrongType = await call('POST', '/api/v1/sources', { data: { type: 'purges', attributes: { name: 'x', deployment: { type: 'webproxy' } } } });
    assertBadRequest(wrongType, '/data/type', /"sources"/);
    const withId = await call('POST', '/api/v1/sources', { data: { type: 'sources', id: 'a'.repeat(24), attributes: { name: 'x', deployment: { type: 'webproxy' } } } });
    assertBadRequest(withId, '/data/id', /assigned by Pictor/);
    const noData = await call('POST', '/api/v1/sources', { name: 'x' });
    assertBadRequest(noData, '/data', /JSON:API document/);
  });

  it('accepts normalised host names and ignores read-only fields on create', async () => {
    const created = await call('POST', '/api/v1/sources', sourceDoc({
      name: 'hosts',
      date_deployed: 1,
      deployment_status: 'deleted',
      secure_url_token: 'mine',
      deployment: { type: 'webproxy', custom_domains: ['CDN.Hosts.Example:8443', 'cdn.hosts.example.', '10.1.2.3'], imgix_subdomains: ['Hosts-Label'], allows_upload: true, crossdomain_xml_enabled: false },
    }));
    assert.equal(created.status, 201, created.text);
    const { attributes } = created.body.data;
    assert.deepEqual(attributes.deployment.custom_domains, ['cdn.hosts.example', '10.1.2.3']);
    assert.deepEqual(attributes.deployment.imgix_subdomains, ['hosts-label']);
    assert.equal(attributes.deployment.allows_upload, false);
    assert.equal(attributes.deployment_status, 'deployed');
    assert.notEqual(attributes.date_deployed, 1);
    assert.notEqual(attributes.secure_url_token, 'mine');
  });

  it('custom domains are unique across Sources, also against other Sources\' subdomain hosts', async () => {
    const first = await call('POST', '/api/v1/sources', sourceDoc({ name: 'Shop', deployment: { type: 'webproxy', custom_domains: ['shop.example.org'], imgix_subdomains: ['shop'] } }));
    assert.equal(first.status, 201, first.text);
    const id = first.body.data.id;
    const post = (deployment: Record<string, unknown>) => call('POST', '/api/v1/sources', sourceDoc({ name: 'Other', deployment: { type: 'webproxy', ...deployment } }));

    const sameDomain = await post({ custom_domains: ['other.example.org', 'SHOP.example.org'] });
    assertBadRequest(sameDomain, '/data/attributes/deployment/custom_domains', new RegExp(`"shop.example.org" is already a domain of the Source "Shop" \\(${id}\\)`));
    assertBadRequest(await post({ custom_domains: ['shop.images.example.com'] }), '/data/attributes/deployment/custom_domains', /Source "Shop"/);
    assertBadRequest(await post({ imgix_subdomains: ['shop'] }), '/data/attributes/deployment/imgix_subdomains', /"shop" \(shop.images.example.com\) is already a domain of the Source "Shop"/);
    assertBadRequest(await post({ custom_domains: ['localhost'] }), '/data/attributes/deployment/custom_domains', /Source "default"/);
    const label = await call('POST', '/api/v1/sources', sourceDoc({ name: 'Blog', deployment: { type: 'webproxy', custom_domains: ['blog.images.example.com'] } }));
    assert.equal(label.status, 201);
    assertBadRequest(await post({ imgix_subdomains: ['blog'] }), '/data/attributes/deployment/imgix_subdomains', /Source "Blog"/);

    const other = await post({ custom_domains: ['other.example.org'] });
    assert.equal(other.status, 201);
    const clash = await call('PATCH', `/api/v1/sources/${other.body.data.id}`, sourceDoc({ deployment: { custom_domains: ['other.example.org', 'shop.example.org'] } }));
    assertBadRequest(clash, '/data/attributes/deployment/custom_domains', /Source "Shop"/);
    const keep = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { custom_domains: ['shop.example.org', 'shop2.example.org'] } }));
    assert.equal(keep.status, 200, 'a Source keeps its own domains');
  });

  it('PATCH replaces attributes present, merges deployment field by field, ignores read-only fields', async () => {
    const created = await call('POST', '/api/v1/sources', sourceDoc({
      name: 'merge me',
      deployment: { type: 'folder', folder_path: folder, cache_ttl_value: 100, default_params: { auto: 'format' }, annotation: 'note' },
    }));
    const { id } = created.body.data;
    const dateBefore = created.body.data.attributes.date_deployed;
    const patched = await call('PATCH', `/api/v1/sources/${id}`, {
      data: {
        id,
        type: 'sources',
        attributes: {
          date_deployed: 1,
          deployment_status: 'deleted',
          secure_url_token: 'forged',
          deployment: { cache_ttl_error: 60, allows_upload: true, s3_secret_key_set: true, annotation: null },
        },
      },
    });
    assert.equal(patched.status, 200, patched.text);
    const attributes = patched.body.data.attributes;
    assert.equal(attributes.name, 'merge me');
    assert.equal(attributes.deployment.cache_ttl_value, 100);
    assert.equal(attributes.deployment.cache_ttl_error, 60);
    assert.deepEqual(attributes.deployment.default_params, { auto: 'format' });
    assert.equal(attributes.deployment.folder_path, folder);
    assert.equal('annotation' in attributes.deployment, false, 'null removes an optional field');
    assert.equal(attributes.deployment_status, 'deployed');
    assert.ok(attributes.date_deployed >= dateBefore, 'date_deployed is refreshed, not taken from the body');
    assert.equal('secure_url_token' in attributes, false);

    const renamed = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ name: 'merged', deployment: { default_params: { w: '10' } } }));
    assert.equal(renamed.body.data.attributes.name, 'merged');
    assert.deepEqual(renamed.body.data.attributes.deployment.default_params, { w: '10' }, 'a field present replaces the old value');

    const secured = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { secure_url_enabled: true } }));
    const token = secured.body.data.attributes.secure_url_token;
    assert.match(token, /^[0-9a-f]{32}$/);
    const off = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { secure_url_enabled: false } }));
    assert.equal('secure_url_token' in off.body.data.attributes, false);
    const on = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { secure_url_enabled: true } }));
    assert.equal(on.body.data.attributes.secure_url_token, token, 'the token survives turning secure URLs off and on');

    const disabled = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ enabled: false }));
    assert.equal(disabled.body.data.attributes.enabled, false);
    assert.equal(disabled.body.data.attributes.deployment_status, 'disabled');
  });

  it('a Source read back can be written back unchanged (read-modify-write clients), the default Source included', async () => {
    for (const id of [t.defaultSourceId, (await call('GET', '/api/v1/sources?filter[deployment.type]=s3')).body.data[0].id]) {
      const read = (await call('GET', `/api/v1/sources/${id}`)).body.data;
      const written = await call('PATCH', `/api/v1/sources/${id}`, { data: read });
      assert.equal(written.status, 200, written.text);
      const { date_deployed: _before, ...unchanged } = read.attributes;
      const { date_deployed: _after, ...now } = written.body.data.attributes;
      assert.deepEqual(now, unchanged);
    }
    const defaults = (await call('GET', `/api/v1/sources/${t.defaultSourceId}`)).body.data.attributes.deployment;
    assert.deepEqual(defaults.custom_domains, ['localhost', '127.0.0.1', '[::1]']);
  });

  it('PATCH changes the type only with the new type\'s required fields, and drops the old type\'s', async () => {
    const created = await call('POST', '/api/v1/sources', sourceDoc({ name: 'mover', deployment: { type: 'folder', folder_path: folder } }));
    const { id } = created.body.data;
    const missing = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { type: 's3' } }));
    assertBadRequest(missing, '/data/attributes/deployment/s3_bucket', /required for a s3 Source \(changing the type/);
    const moved = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { type: 's3', s3_bucket: 'b', s3_secret_key: SECRETS[0] } }));
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.body.data.attributes.deployment.type, 's3');
    assert.equal('folder_path' in moved.body.data.attributes.deployment, false);
    assert.equal(moved.body.data.attributes.deployment.s3_secret_key_set, true);
    const toProxy = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { type: 'webproxy', secure_url_enabled: false } }));
    assert.equal(toProxy.body.data.attributes.deployment.secure_url_enabled, true, 'webproxy signing cannot be turned off');
    assert.match(toProxy.body.data.attributes.secure_url_token, /^[0-9a-f]{32}$/);
    assert.equal('s3_bucket' in toProxy.body.data.attributes.deployment, false);
    assert.equal('s3_secret_key_set' in toProxy.body.data.attributes.deployment, false);
  });

  it('PATCH checks data.type and data.id; purge_derivatives purges the whole Source', async () => {
    const { id } = (await call('POST', '/api/v1/sources', sourceDoc({ name: 'checks', deployment: { type: 'webproxy' } }))).body.data;
    assertBadRequest(await call('PATCH', `/api/v1/sources/${id}`, { data: { type: 'source', attributes: {} } }), '/data/type', /"sources"/);
    assertBadRequest(await call('PATCH', `/api/v1/sources/${id}`, { data: { type: 'sources', id: 'b'.repeat(24), attributes: {} } }), '/data/id', /must match/);
    const purge = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ name: 'renamed', purge_derivatives: true }));
    assert.equal(purge.status, 200);
    assert.equal((await call('GET', `/api/v1/sources/${id}`)).body.data.attributes.name, 'renamed');
    let metrics = '';
    for (let i = 0; i < 100 && !/pictor_purge_completion_seconds_count\{status="completed"\} [1-9]/.test(metrics); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    }
    assert.match(metrics, /pictor_purge_completion_seconds_count\{status="completed"\} [1-9]/, 'the whole-Source purge ran');
    assert.equal((await call('PATCH', `/api/v1/sources/${id}`, { data: { id, type: 'sources' } })).status, 200, 'a PATCH without attributes redeploys');
  });

  it('saves a remote origin the outbound guard will refuse, with a warning in meta.pictor.warning naming --outbound-allow and the address', async () => {
    const created = await call('POST', '/api/v1/sources', sourceDoc({ name: 'intranet', deployment: { type: 'webfolder', webfolder_base_url: 'http://10.1.2.3/images/' } }));
    assert.equal(created.status, 201, 'saved all the same');
    assert.match(created.body.meta.pictor.warning, /"deployment\.webfolder_base_url" is at 10\.1\.2\.3, not a public address \(private \(RFC 1918\)\)/);
    assert.match(created.body.meta.pictor.warning, /--outbound-allow 10\.1\.2\.3 /);
    const { id } = created.body.data;
    // A name is resolved (with a short wait), as the guard resolves it when it connects.
    const byName = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { webfolder_base_url: 'http://localhost:8080/' } }));
    assert.equal(byName.status, 200);
    assert.match(byName.body.meta.pictor.warning, /is at localhost \((127\.0\.0\.1|::1)\), not a public address \(loopback\).*--outbound-allow (127\.0\.0\.1|::1) /);
    const storage = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { type: 's3_compatible', bucket_name: 'b', endpoint: 'http://[fd00::5]:9000' } }));
    assert.match(storage.body.meta.pictor.warning, /"deployment\.endpoint" is at fd00::5, not a public address \(unique local \(ULA\)\)/);
    // A public address: no warning.
    const fine = await call('PATCH', `/api/v1/sources/${id}`, sourceDoc({ deployment: { type: 'webfolder', webfolder_base_url: 'https://93.184.215.14/images/' } }));
    assert.equal(fine.status, 200);
    assert.equal(fine.body.meta.pictor, undefined);
    assert.equal((await call('GET', `/api/v1/sources/${id}`)).body.meta.pictor, undefined, 'warned at save only');

    // Admitted by --outbound-allow: no warning.
    const allowing = await startPictor({ options: { outboundAllow: '10.0.0.0/8' } });
    try {
      const allowed = await client(allowing)('POST', '/api/v1/sources', sourceDoc({ name: 'intranet', deployment: { type: 'webfolder', webfolder_base_url: 'http://10.1.2.3/images/' } }));
      assert.equal(allowed.status, 201);
      assert.equal(allowed.body.meta.pictor, undefined);
    } finally {
      await allowing.stop();
    }
  });

  it('404 for unknown ids; 405 for DELETE', async () => {
    for (const [method, body] of [['GET', undefined], ['PATCH', sourceDoc({ name: 'x' })]] as const) {
      const response = await call(method, '/api/v1/sources/0123456789abcdef01234567', body);
      assert.equal(response.status, 404);
      assert.equal(response.body.errors[0].status, '404');
      assert.match(response.body.errors[0].detail, /No Source has the id "0123456789abcdef01234567"/);
    }
    const deleted = await call('DELETE', `/api/v1/sources/${t.defaultSourceId}`);
    assert.equal(deleted.status, 405);
    assert.equal(deleted.headers.get('allow'), 'GET, PATCH');
    assert.match(deleted.body.errors[0].detail, /enabled": false/);
  });

  it('401 without a valid key, 403 for a key with only purge; a sources key is enough', async () => {
    const anonymous = await fetch(`${t.adminUrl}/api/v1/sources`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as any).errors[0].detail, 'A valid API key is required and could not be determined.');
    const purgeKey = await createKey(t.dataDir, ['purge']);
    const requests: [string, string, unknown][] = [
      ['GET', '/api/v1/sources', undefined],
      ['GET', `/api/v1/sources/${t.defaultSourceId}`, undefined],
      ['POST', '/api/v1/sources', sourceDoc({ name: 'x', deployment: { type: 'webproxy' } })],
      ['PATCH', `/api/v1/sources/${t.defaultSourceId}`, sourceDoc({ name: 'x' })],
    ];
    for (const [method, url, body] of requests) {
      const response = await api(method, url, body, purgeKey);
      assert.equal(response.status, 403, `${method} ${url}`);
      assert.match(response.body.errors[0].detail, /sources permission/);
    }
    const sourcesKey = await createKey(t.dataDir, ['sources']);
    assert.equal((await api('GET', `/api/v1/sources/${t.defaultSourceId}`, undefined, sourcesKey)).status, 200);
  });
});

describe('Sources API: listing', () => {
  let t: TestPictor;
  let api: ReturnType<typeof client>;
  const ids: Record<string, string> = {};
  before(async () => {
    t = await startPictor();
    api = client(t);
    const specs: [string, boolean, Record<string, unknown>][] = [
      ['delta', true, { type: 's3', s3_bucket: 'pics', region: 'eu-west-1', custom_domains: ['delta.example.com', 'd.example.com'] }],
      ['Alpha', false, { type: 'webfolder', webfolder_base_url: 'https://alpha.example.com/', imgix_subdomains: ['alpha'] }],
      ['charlie', true, { type: 'gcs', gcs_bucket: 'gpics', default_params: { auto: 'format' } }],
      ['bravo', true, { type: 's3_compatible', bucket_name: 'r2', storage_provider: 'cloudflare' }],
      ['echo', false, { type: 'webproxy' }],
    ];
    for (const [name, enabled, deployment] of specs) {
      const response = await api('POST', '/api/v1/sources', sourceDoc({ name, enabled, deployment }));
      assert.equal(response.status, 201, response.text);
      ids[name] = response.body.data.id;
    }
  });
  after(() => t.stop());

  const names = (response: ApiResponse): string[] => response.body.data.map((item: any) => item.attributes.name);

  it('pages from 0 with meta.pagination and JSON:API links', async () => {
    const all = await api('GET', '/api/v1/sources');
    assert.equal(all.status, 200);
    assert.deepEqual(names(all), ['default', 'delta', 'Alpha', 'charlie', 'bravo', 'echo'], 'creation order by default');
    assert.deepEqual(all.body.meta.pagination, {
      currentPage: 0, hasNextPage: false, hasPreviousPage: false, nextPage: null, previousPage: null, pageSize: 20, totalPages: 1, totalRecords: 6,
    });
    assert.equal(all.body.meta.authentication.authorized, true);

    const page = await api('GET', '/api/v1/sources?page[number]=1&page[size]=4&sort=name');
    assert.deepEqual(names(page), ['delta', 'echo']);
    assert.deepEqual(page.body.meta.pagination, {
      currentPage: 1, hasNextPage: false, hasPreviousPage: true, nextPage: null, previousPage: 0, pageSize: 4, totalPages: 2, totalRecords: 6,
    });
    const { links } = page.body;
    assert.equal(links.next, null);
    const self = new URL(links.self);
    assert.equal(self.pathname, '/api/v1/sources');
    assert.equal(self.searchParams.get('page[number]'), '1');
    assert.equal(self.searchParams.get('sort'), 'name', 'links keep the query');
    const previous = await api('GET', new URL(links.prev).pathname + new URL(links.prev).search);
    assert.deepEqual(names(previous), ['Alpha', 'bravo', 'charlie', 'default']);
    assert.equal(new URL(previous.body.links.next).searchParams.get('page[number]'), '1');
    assert.equal(new URL(previous.body.links.first).searchParams.get('page[number]'), '0');
    assert.equal(new URL(previous.body.links.last).searchParams.get('page[number]'), '1');

    const beyond = await api('GET', '/api/v1/sources?page[number]=9');
    assert.equal(beyond.status, 200);
    assert.deepEqual(beyond.body.data, []);
  });

  it('400 for bad page values', async () => {
    for (const query of ['page[size]=0', 'page[size]=101', 'page[size]=ten', 'page[number]=-1', 'page[number]=1.5', 'page[cursor]=abc', 'page[size]=2&page[size]=3']) {
      const response = await api('GET', `/api/v1/sources?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(response.body.errors[0].detail, /page\[/, query);
    }
    assert.equal((await api('GET', '/api/v1/sources?page[size]=100')).status, 200);
  });

  it('filters by name, enabled, type, domains, buckets (exact; arrays contain the value)', async () => {
    const filter = async (query: string) => names(await api('GET', `/api/v1/sources?${query}`));
    assert.deepEqual(await filter('filter[name]=charlie'), ['charlie']);
    assert.deepEqual(await filter('filter[name]=charl'), [], 'exact match');
    assert.deepEqual(await filter('filter[enabled]=false'), ['Alpha', 'echo']);
    assert.deepEqual(await filter('filter[enabled]=true&filter[deployment.type]=s3'), ['delta']);
    assert.deepEqual(await filter('filter[deployment.custom_domains]=d.example.com'), ['delta']);
    assert.deepEqual(await filter('filter[deployment.custom_domains]=localhost'), ['default']);
    assert.deepEqual(await filter('filter[deployment.imgix_subdomains]=alpha'), ['Alpha']);
    assert.deepEqual(await filter('filter[deployment.s3_bucket]=pics'), ['delta']);
    assert.deepEqual(await filter('filter[deployment.gcs_bucket]=gpics'), ['charlie']);
    assert.deepEqual(await filter('filter[deployment.bucket_name]=r2'), ['bravo']);
    assert.deepEqual(await filter('filter[deployment.storage_provider]=cloudflare'), ['bravo']);
    assert.deepEqual(await filter('filter[deployment.region]=eu-west-1'), ['delta']);
    assert.deepEqual(await filter('filter[deployment.webfolder_base_url]=https://alpha.example.com/'), ['Alpha']);
    assert.deepEqual(await filter('filter[deployment.azure_bucket]=x'), []);
    const counted = await api('GET', '/api/v1/sources?filter[enabled]=true&page[size]=1');
    assert.equal(counted.body.meta.pagination.totalRecords, 4, 'totals count the filtered Sources');
    assert.equal(counted.body.meta.pagination.totalPages, 4);

    for (const query of ['filter[colour]=red', 'filter[deployment.s3_secret_key]=x', 'filter[enabled]=maybe']) {
      const response = await api('GET', `/api/v1/sources?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(response.body.errors[0].detail, /filter/, query);
    }
  });

  it('sorts by name, date_deployed and enabled, "-" for descending; other sorts are 400', async () => {
    const sorted = async (sort: string) => names(await api('GET', `/api/v1/sources?sort=${sort}`));
    assert.deepEqual(await sorted('name'), ['Alpha', 'bravo', 'charlie', 'default', 'delta', 'echo']);
    assert.deepEqual(await sorted('-name'), ['echo', 'delta', 'default', 'charlie', 'bravo', 'Alpha']);
    assert.deepEqual(await sorted('-enabled,name'), ['bravo', 'charlie', 'default', 'delta', 'Alpha', 'echo']);
    const byDate = await api('GET', '/api/v1/sources?sort=-date_deployed');
    const dates = byDate.body.data.map((item: any) => item.attributes.date_deployed);
    assert.deepEqual(dates, [...dates].sort((a: number, b: number) => b - a));
    for (const sort of ['type', '-deployment.type', 'name,colour']) {
      const response = await api('GET', `/api/v1/sources?sort=${sort}`);
      assert.equal(response.status, 400, sort);
      assert.match(response.body.errors[0].detail, /sorted by name, date_deployed, enabled/);
    }
  });

  it('returns sparse fieldsets with dot notation, on lists and single Sources', async () => {
    const listed = await api('GET', '/api/v1/sources?filter[name]=charlie&fields[sources]=name,deployment_status,deployment.default_params');
    assert.deepEqual(listed.body.data, [
      { id: ids.charlie, type: 'sources', attributes: { name: 'charlie', deployment_status: 'deployed', deployment: { default_params: { auto: 'format' } } } },
    ]);
    const one = await api('GET', `/api/v1/sources/${ids.echo}?fields[sources]=enabled,secure_url_token,deployment.type`);
    assert.deepEqual(Object.keys(one.body.data.attributes).sort(), ['deployment', 'enabled', 'secure_url_token']);
    assert.deepEqual(one.body.data.attributes.deployment, { type: 'webproxy' });
    for (const fields of ['colour', 'deployment.s3_secret_key', 'deployment.nope']) {
      const response = await api('GET', `/api/v1/sources?fields[sources]=${fields}`);
      assert.equal(response.status, 400, fields);
      assert.match(response.body.errors[0].detail, /fields\[sources\]/);
    }
  });
});

describe('Sources API: routing', () => {
  let t: TestPictor;
  let api: ReturnType<typeof client>;
  let folder: string;
  before(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-src-'));
    t = await startPictor({ options: { baseDomain: 'images.example.com', folderRoots: folder }, assets: { 'only-default.jpg': await solidImage(8, 8, [0, 0, 255]) } });
    api = client(t);
    await fs.writeFile(path.join(folder, 'red.jpg'), await solidImage(20, 10, [255, 0, 0]));
    await fs.writeFile(path.join(folder, 'green.jpg'), await solidImage(20, 10, [0, 255, 0]));
  });
  after(async () => {
    await t.stop();
    await fs.rm(folder, { recursive: true, force: true });
  });

  it('a folder Source serves its folder at once on its custom domains; disabled, it answers 410 for what is not cached', async () => {
    const before = await rawGet(t.renderPort, '/red.jpg?w=10', { host: 'photos.example.net' });
    assert.equal(before.status, 404, 'an unknown host is served by the default Source');

    const created = await api('POST', '/api/v1/sources', sourceDoc({ name: 'photos', deployment: { type: 'folder', folder_path: folder, custom_domains: ['photos.example.net'] } }));
    assert.equal(created.status, 201, created.text);
    const served = await rawGet(t.renderPort, '/red.jpg?w=10', { host: 'Photos.Example.Net:8080' });
    assert.equal(served.status, 200, 'no wait: the registry reloads after the write');
    assert.match(String(served.headers['content-type']), /^image\/jpeg/);
    assert.equal((await rawGet(t.renderPort, '/only-default.jpg', { host: 'photos.example.net' })).status, 404);

    const disabled = await api('PATCH', `/api/v1/sources/${created.body.data.id}`, sourceDoc({ enabled: false }));
    assert.equal(disabled.status, 200);
    assert.equal((await rawGet(t.renderPort, '/green.jpg?w=10', { host: 'photos.example.net' })).status, 410);
    assert.equal((await rawGet(t.renderPort, '/red.jpg?w=10', { host: 'photos.example.net' })).status, 200, 'a cached render may still be served');

    await api('PATCH', `/api/v1/sources/${created.body.data.id}`, sourceDoc({ enabled: true, deployment: { custom_domains: ['pics.example.net'] } }));
    assert.equal((await rawGet(t.renderPort, '/green.jpg?w=10', { host: 'pics.example.net' })).status, 200);
    assert.equal((await rawGet(t.renderPort, '/green.jpg?w=10', { host: 'photos.example.net' })).status, 404, 'the old domain is no longer routed to it');
  });

  it('routes <label>.<base domain> for imgix_subdomains, and purges accept that host', async () => {
    const created = await api('POST', '/api/v1/sources', sourceDoc({ name: 'shop', deployment: { type: 'folder', folder_path: folder, imgix_subdomains: ['shop'] } }));
    assert.equal(created.status, 201, created.text);
    assert.equal((await rawGet(t.renderPort, '/red.jpg', { host: 'shop.images.example.com' })).status, 200);
    assert.equal((await rawGet(t.renderPort, '/red.jpg', { host: 'shop' })).status, 404, 'a bare label is not a host');
    const purge = await t.purge('https://shop.images.example.com/red.jpg');
    assert.equal(purge.status, 200, JSON.stringify(purge.body));
  });
});

describe('SourceService: the purge_derivatives hook', () => {
  it('calls onRenderingChanged after the change is saved, only when asked', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-service-'));
    const stores = await openStores({ dataDir });
    try {
      const calls: [string, string][] = [];
      const changed: string[] = [];
      const service = new SourceService(stores.sources, {
        folderRoots: [],
        onChanged: (record) => changed.push(record.id),
        onRenderingChanged: async (id) => {
          calls.push([id, (await stores.sources.get(id))!.deployment.default_params.q ?? '']);
        },
      });
      const record = await service.create({ name: 'hooked', deployment: { type: 'webproxy' } });
      await service.update(record.id, { deployment: { default_params: { q: '50' } } });
      assert.deepEqual(calls, []);
      await service.update(record.id, { deployment: { default_params: { q: '60' } }, purge_derivatives: true });
      assert.deepEqual(calls, [[record.id, '60']], 'the hook sees the saved change');
      assert.deepEqual(changed, [record.id, record.id, record.id]);
      assert.equal((await service.list()).totalRecords, 1);
    } finally {
      await stores.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
