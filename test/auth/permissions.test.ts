import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeys, PERMISSIONS, type Permission } from '../../src/auth/api-keys.ts';
import { sign } from '../../src/auth/url-signing.ts';
import { DEFAULT_DEPLOYMENT } from '../../src/store/source-record.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { DashboardClient } from '../dashboard/http-client.ts';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

/** What a key with each single permission may call; `admin` implies every other permission. */
const MAY: Record<Permission, { purge: boolean; sources: boolean }> = {
  purge: { purge: true, sources: false },
  sources: { purge: false, sources: true },
  analytics: { purge: false, sources: false },
  'assets-browse': { purge: false, sources: false },
  'assets-edit': { purge: false, sources: false },
  admin: { purge: true, sources: true },
};

/**
 * Keys with a single permission each, against a real server: what each may call, and what a key with only
 * `sources` can reach through the Sources it creates — folders inside the folder roots, nothing outside
 * them, and no loopback or private address (0 requests reach the target).
 */
describe('API permissions, one key per permission', () => {
  let t: TestPictor;
  let base: string;
  let root: string;
  let outside: string;
  let origin: TestOrigin;
  const keys = {} as Record<Permission, string>;

  const call = async (method: string, url: string, key: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await fetch(`${t.adminUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const createSource = (key: string, name: string, deployment: Record<string, unknown>) =>
    call('POST', '/api/v1/sources', key, { data: { type: 'sources', attributes: { name, deployment } } });

  before(async () => {
    base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-permissions-')));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'photos'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(root, 'photos', 'red.jpg'), await solidImage(20, 10, [255, 0, 0]));
    await fs.writeFile(path.join(outside, 'private.jpg'), await solidImage(20, 10, [0, 0, 0]));
    await fs.symlink(outside, path.join(root, 'leads-out'));
    origin = await startOrigin((_request, response) => response.writeHead(200, { 'content-type': 'image/png' }).end('never served'));
    // No --outbound-allow: loopback and private addresses are refused for every Source type.
    t = await startPictor({ options: { folderRoots: root, purgeRateLimit: '1000' }, assets: { 'a.jpg': await solidImage(8, 8, [0, 255, 0]) } });
    const stores = await openStores({ dataDir: t.dataDir });
    try {
      const apiKeys = new ApiKeys(stores.apiKeys);
      for (const permission of PERMISSIONS) keys[permission] = (await apiKeys.create(`only ${permission}`, [permission])).key;
    } finally {
      await stores.close();
    }
  });
  after(async () => {
    await t?.stop();
    await origin?.close();
    await fs.rm(base, { recursive: true, force: true });
  });

  it('each key calls what its permission allows, and gets 403 naming the permission otherwise; no key or a wrong one is 401', async () => {
    const purgeId = (await call('POST', '/api/v1/purge', t.apiKey, { data: { type: 'purges', attributes: { url: 'http://localhost/a.jpg' } } })).body.data.id;
    const sourceId = t.defaultSourceId;
    const purge = { data: { type: 'purges', attributes: { url: 'http://localhost/a.jpg' } } };
    const calls: [needs: 'purge' | 'sources', success: number, method: string, url: string, body?: unknown][] = [
      ['purge', 200, 'POST', '/api/v1/purge', purge],
      ['purge', 200, 'GET', `/api/v1/purges/${purgeId}`],
      ['purge', 200, 'POST', `/api/v1/sources/${sourceId}/purge`],
      ['sources', 200, 'GET', '/api/v1/sources'],
      ['sources', 200, 'GET', `/api/v1/sources/${sourceId}`],
      ['sources', 201, 'POST', '/api/v1/sources', { data: { type: 'sources', attributes: { name: 'new', deployment: { type: 'webproxy' } } } }],
      ['sources', 200, 'PATCH', `/api/v1/sources/${sourceId}`, { data: { type: 'sources', attributes: { deployment: { annotation: 'edited' } } } }],
    ];
    for (const permission of PERMISSIONS) {
      for (const [needs, success, method, url, body] of calls) {
        const response = await call(method, url, keys[permission], body);
        const what = `${permission}: ${method} ${url}`;
        if (MAY[permission][needs]) {
          assert.equal(response.status, success, `${what} ${JSON.stringify(response.body)}`);
        } else {
          assert.equal(response.status, 403, what);
          assert.equal(response.body.errors[0].detail, `This API key does not have the ${needs} permission.`, what);
        }
      }
    }
    for (const key of [undefined, `ak_${'0'.repeat(64)}`, 'not-a-key']) {
      for (const [method, url] of [['POST', '/api/v1/purge'], ['GET', `/api/v1/purges/${purgeId}`], ['GET', '/api/v1/sources'], ['POST', '/api/v1/sources'], ['PATCH', `/api/v1/sources/${sourceId}`]] as const) {
        const response = await call(method, url, key, method === 'GET' ? undefined : { data: {} });
        assert.equal(response.status, 401, `${method} ${url} with ${key}`);
        assert.equal(response.body.errors[0].detail, 'A valid API key is required and could not be determined.');
      }
    }
  });

  it('purge_derivatives on a Source edit is a purge: a sources key without the purge permission gets 403 and nothing is saved', async () => {
    const created = await createSource(keys.sources, 'edit-and-purge', { type: 'webproxy' });
    const url = `/api/v1/sources/${created.body.data.id}`;
    const edit = { data: { type: 'sources', attributes: { name: 'renamed', purge_derivatives: true } } };
    const refused = await call('PATCH', url, keys.sources, edit);
    assert.equal(refused.status, 403);
    assert.match(refused.body.errors[0].detail, /does not have the purge permission/);
    assert.equal((await call('GET', url, keys.sources)).body.data.attributes.name, 'edit-and-purge', 'nothing was saved');
    assert.equal((await call('PATCH', url, keys.admin, edit)).status, 200, 'a key with both permissions may');
  });

  it('a sources key: a folder inside a folder root is created and served', async () => {
    const created = await createSource(keys.sources, 'photos', { type: 'folder', folder_path: path.join(root, 'photos'), custom_domains: ['photos.test'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await rawGet(t.renderPort, '/red.jpg?w=10', { host: 'photos.test' })).status, 200);
  });

  it('a sources key: a folder outside the roots is refused at write, existing or not, symlinked or not (400 naming the setting)', async () => {
    const setting = '"deployment.folder_path" must be inside a folder root allowed at start (--folder-root / PICTOR_FOLDER_ROOTS)';
    const cases: [string, string][] = [
      ['/etc', `${setting}: /etc is not.`],
      ['/proc/self', `${setting}: /proc/self is not.`],
      [outside, `${setting}: ${outside} is not.`],
      ['/no/such/folder', `${setting}: /no/such/folder is not.`],
      [t.dataDir, `${setting}: ${t.dataDir} is not.`],
      [path.join(root, 'leads-out'), `${setting}: ${path.join(root, 'leads-out')} is not (its real path is ${outside}).`],
      [path.join(root, 'photos', '..', '..', 'outside'), `${setting}: ${outside} is not.`],
    ];
    for (const [folder, detail] of cases) {
      const response = await createSource(keys.sources, 'escape', { type: 'folder', folder_path: folder, custom_domains: ['escape.test'] });
      assert.equal(response.status, 400, folder);
      assert.equal(response.body.errors[0].detail, detail);
      assert.equal(response.body.errors[0].source.pointer, '/data/attributes/deployment/folder_path');
    }
    const inside = await createSource(keys.sources, 'moves', { type: 'folder', folder_path: path.join(root, 'photos') });
    const moved = await call('PATCH', `/api/v1/sources/${inside.body.data.id}`, keys.sources, { data: { type: 'sources', attributes: { deployment: { folder_path: '/etc' } } } });
    assert.equal(moved.status, 400);
    assert.equal(moved.body.errors[0].detail, `${setting}: /etc is not.`);
    const retyped = await createSource(keys.sources, 'retyped', { type: 'webproxy' });
    const toFolder = await call('PATCH', `/api/v1/sources/${retyped.body.data.id}`, keys.sources, { data: { type: 'sources', attributes: { deployment: { type: 'folder', folder_path: outside } } } });
    assert.equal(toFolder.status, 400);
    // Inside a root, a missing folder is told as such.
    const missing = await createSource(keys.sources, 'missing', { type: 'folder', folder_path: path.join(root, 'nope') });
    assert.match(missing.body.errors[0].detail, /must be an existing directory/);
  });

  it('the dashboard\'s Source form refuses it too, next to the field', async () => {
    const dashboard = new DashboardClient(t.adminUrl);
    assert.equal((await dashboard.signIn('admin', t.adminPassword)).status, 303);
    const page = await dashboard.post('/dashboard/sources', {
      _csrf: await dashboard.csrf('/dashboard/sources/new'),
      name: 'etc',
      type: 'folder',
      'folder.folder_path': '/etc',
      cache_ttl_behavior: 'respect_origin',
      cache_ttl_value: '3600',
      cache_ttl_error: '300',
    });
    assert.equal(page.status, 400);
    assert.match(page.text, /id="f-folder-folder_path-error">&quot;deployment.folder_path&quot; must be inside a folder root allowed at start \(--folder-root \/ PICTOR_FOLDER_ROOTS\): \/etc is not\./);
  });

  it('a folder Source stored outside the roots (an older version, another process) is never served: 403 naming the setting; its purges complete', async () => {
    // Written beside the server, as an older version or a command run with other roots would have.
    const stores = await openStores({ dataDir: t.dataDir });
    try {
      for (const [id, folder, domain] of [['e7'.repeat(12), '/etc', 'etc.test'], ['0e'.repeat(12), outside, 'outside.test'], ['1e'.repeat(12), path.join(root, 'leads-out'), 'link.test']]) {
        await stores.sources.upsert({ id: id!, name: domain!, enabled: true, secureUrlToken: undefined, dateDeployed: 0, deployment: { ...DEFAULT_DEPLOYMENT, type: 'folder', folder_path: folder, custom_domains: [domain!] } });
      }
    } finally {
      await stores.close();
    }
    await eventually(async () => (await rawGet(t.renderPort, '/passwd', { host: 'etc.test' })).status === 403, 3000);
    for (const [host, asset] of [['etc.test', '/passwd'], ['etc.test', '/shadow'], ['outside.test', '/private.jpg?w=5'], ['link.test', '/private.jpg']]) {
      const response = await rawGet(t.renderPort, asset!, { host: host! });
      assert.equal(response.status, 403, `${host}${asset}`);
      assert.equal(response.body.toString().trim(), 'This Source\'s folder is outside the folder roots allowed at start (--folder-root / PICTOR_FOLDER_ROOTS), so it is not served.');
    }
    const purged = await t.purgeAndWait('http://outside.test/private.jpg');
    assert.equal(purged.status, 'completed');
  });

  it('a folder accepted inside a root and then swapped for a symlink that leads out is not read', async () => {
    const later = path.join(root, 'later');
    await fs.mkdir(later);
    await fs.writeFile(path.join(later, 'first.jpg'), await solidImage(20, 10, [0, 0, 255]));
    const created = await createSource(keys.sources, 'later', { type: 'folder', folder_path: later, custom_domains: ['later.test'] });
    assert.equal(created.status, 201);
    assert.equal((await rawGet(t.renderPort, '/first.jpg?w=5', { host: 'later.test' })).status, 200);
    await fs.rm(later, { recursive: true });
    await fs.symlink(outside, later);
    const response = await rawGet(t.renderPort, '/private.jpg?w=6', { host: 'later.test' });
    assert.equal(response.status, 403, response.body.toString());
    assert.match(response.body.toString(), /leads outside the Source's folder/);
  });

  it('a sources key: loopback and private endpoints and base URLs are refused at fetch (403 naming --outbound-allow), 0 requests reach them', async () => {
    const port = origin.port;
    const deployments: [string, Record<string, unknown>][] = [
      ['s3-compatible-ip.test', { type: 's3_compatible', bucket_name: 'b', access_key: 'k', secret_key: 's', endpoint: `http://127.0.0.1:${port}` }],
      ['s3-compatible-name.test', { type: 's3_compatible', bucket_name: 'b', endpoint: `http://localhost:${port}` }],
      ['s3-ip.test', { type: 's3', s3_bucket: 'b', endpoint: `http://127.0.0.1:${port}` }],
      ['gcs-name.test', { type: 'gcs', gcs_bucket: 'b', endpoint: `http://localhost:${port}` }],
      ['s3-metadata.test', { type: 's3', s3_bucket: 'b', endpoint: 'http://169.254.169.254' }],
      ['webfolder-ip.test', { type: 'webfolder', webfolder_base_url: `http://127.0.0.1:${port}/images/` }],
      ['webfolder-name.test', { type: 'webfolder', webfolder_base_url: `http://localhost:${port}/images/` }],
      ['webfolder-private.test', { type: 'webfolder', webfolder_base_url: 'http://10.0.0.1/images/' }],
    ];
    for (const [domain, deployment] of deployments) {
      const created = await createSource(keys.sources, domain, { ...deployment, custom_domains: [domain] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const response = await rawGet(t.renderPort, '/a.png?w=5', { host: domain });
      assert.equal(response.status, 403, `${domain}: ${response.body.toString()}`);
      assert.match(response.body.toString(), /^Outbound request refused: .*not a public address.*--outbound-allow/, domain);
    }
    // A webproxy Source (always signed) fetching a loopback URL.
    const proxy = await createSource(keys.sources, 'proxy', { type: 'webproxy', custom_domains: ['proxy.test'] });
    const target = `/${encodeURIComponent(`http://127.0.0.1:${port}/a.png`)}`;
    const signed = `${target}?w=5&s=${sign(proxy.body.data.attributes.secure_url_token, target, 'w=5')}`;
    const proxied = await rawGet(t.renderPort, signed, { host: 'proxy.test' });
    assert.equal(proxied.status, 403, proxied.body.toString());
    assert.equal(origin.requests.length, 0, 'no request reached the loopback origin');
    assert.equal(origin.connections, 0, 'not even a connection');
  });
});
