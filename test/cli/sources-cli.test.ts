import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as pictor from '../helpers/cli.ts';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => pictor.cli(args, { env });

/** `sources add` prints the Source as JSON, then its id alone on the last line. */
function parseAdded(stdout: string): { id: string; json: any } {
  const lines = stdout.trim().split('\n');
  const id = lines.at(-1)!;
  return { id, json: JSON.parse(lines.slice(0, -1).join('\n')) };
}

describe('pictor sources', () => {
  let t: TestPictor;
  let folder: string;
  before(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-cli-src-'));
    t = await startPictor({ options: { baseDomain: 'images.example.com', folderRoots: folder } });
    await fs.writeFile(path.join(folder, 'a.jpg'), await solidImage(20, 10, [255, 0, 0]));
    await fs.writeFile(path.join(folder, 'b.jpg'), await solidImage(20, 10, [0, 255, 0]));
  });
  after(async () => {
    await t.stop();
    await fs.rm(folder, { recursive: true, force: true });
  });

  it('adds a folder Source on the data directory; the running server serves it within about a second', async () => {
    const { stdout } = await cli([
      'sources', 'add', '--name', 'cli photos', '--type', 'folder', '--folder-path', folder, '--domain', 'cli.example.test', 'CLI2.example.test',
      '--subdomain', 'cli', '--folder-root', folder, '--data', t.dataDir,
    ]);
    const { id, json } = parseAdded(stdout);
    assert.match(id, /^[0-9a-f]{24}$/);
    assert.equal(json.id, id);
    assert.equal(json.type, 'sources');
    assert.equal(json.attributes.name, 'cli photos');
    assert.deepEqual(json.attributes.deployment.custom_domains, ['cli.example.test', 'cli2.example.test']);
    assert.deepEqual(json.attributes.deployment.imgix_subdomains, ['cli']);
    assert.equal(json.attributes.deployment.folder_path, folder);

    // The running server sees the new Source without a restart (the bound only ends a wait that never would).
    await eventually(async () => (await rawGet(t.renderPort, '/a.jpg?w=8', { host: 'cli.example.test' })).status === 200, 15_000);
    assert.equal((await rawGet(t.renderPort, '/a.jpg?w=8', { host: 'cli.images.example.com' })).status, 200);

    const fromApi = await fetch(`${t.adminUrl}/api/v1/sources/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(fromApi.status, 200, 'the API sees the same Source');
  });

  it('lists Sources as a table and as JSON', async () => {
    const table = (await cli(['sources', 'list', '--data', t.dataDir])).stdout.trim().split('\n');
    assert.match(table[0]!, /^ID\tNAME\tTYPE\tSTATUS\tDOMAINS$/);
    assert.ok(table.some((row) => /\tdefault\tfolder\tdeployed\tlocalhost,/.test(row)));
    assert.ok(table.some((row) => /\tcli photos\tfolder\tdeployed\tcli\.example\.test,cli2\.example\.test,cli\.<base domain>$/.test(row)), table.join('\n'));
    const listed = JSON.parse((await cli(['sources', 'list', '--json', '--data', t.dataDir])).stdout) as any[];
    assert.deepEqual(listed.map((source) => source.attributes.name), ['default', 'cli photos']);
    const withBase = (await cli(['sources', 'list', '--data', t.dataDir], { PICTOR_BASE_DOMAIN: 'images.example.com' })).stdout;
    assert.match(withBase, /cli\.images\.example\.com/);
  });

  it('updates a Source (--disable, --domain replaces the list); the server follows', async () => {
    const id = (JSON.parse((await cli(['sources', 'list', '--json', '--data', t.dataDir])).stdout) as any[]).find((source) => source.attributes.name === 'cli photos').id;
    const disabled = JSON.parse((await cli(['sources', 'update', id, '--disable', '--data', t.dataDir])).stdout);
    assert.equal(disabled.attributes.enabled, false);
    assert.equal(disabled.attributes.deployment_status, 'disabled');
    // A new URL each time: one rendered before the server saw the change stays cached (a disabled Source still serves those).
    let width = 8;
    await eventually(async () => (await rawGet(t.renderPort, `/b.jpg?w=${width++}`, { host: 'cli.example.test' })).status === 410, 3000);

    const updated = JSON.parse((await cli(['sources', 'update', id, '--enable', '--name', 'cli renamed', '--domain', 'cli3.example.test', '--data', t.dataDir])).stdout);
    assert.equal(updated.attributes.name, 'cli renamed');
    assert.deepEqual(updated.attributes.deployment.custom_domains, ['cli3.example.test']);
    assert.equal(updated.attributes.deployment.folder_path, folder, 'flags not given are kept');
    await eventually(async () => (await rawGet(t.renderPort, '/b.jpg?w=8', { host: 'cli3.example.test' })).status === 200, 3000);

    // The folder roots come from PICTOR_FOLDER_ROOTS as well (separated like PATH).
    const again = JSON.parse((await cli(['sources', 'update', id, '--folder-path', folder, '--data', t.dataDir], { PICTOR_FOLDER_ROOTS: [t.assetsDir, folder].join(path.delimiter) })).stdout);
    assert.equal(again.attributes.deployment.folder_path, folder);
  });

  it('maps the generic flags to each type\'s fields, signs on --secure, never prints a secret', async () => {
    const { stdout } = await cli([
      'sources', 'add', '--name', 'bucket', '--type', 's3', '--bucket', 'my-bucket', '--prefix', 'img/', '--region', 'us-east-1',
      '--endpoint', 'http://127.0.0.1:9000', '--access-key', 'AKIA', '--secret-key', 'CLI-SECRET-VALUE', '--secure', '--data', t.dataDir,
    ]);
    assert.ok(!stdout.includes('CLI-SECRET-VALUE'));
    const { id, json } = parseAdded(stdout);
    const deployment = json.attributes.deployment;
    assert.deepEqual(
      [deployment.s3_bucket, deployment.s3_prefix, deployment.region, deployment.endpoint, deployment.s3_access_key, deployment.s3_secret_key_set],
      ['my-bucket', 'img/', 'us-east-1', 'http://127.0.0.1:9000', 'AKIA', true],
    );
    assert.match(json.attributes.secure_url_token, /^[0-9a-f]{32}$/);
    const listed = (await cli(['sources', 'list', '--json', '--data', t.dataDir])).stdout;
    assert.ok(!listed.includes('CLI-SECRET-VALUE'));

    const compatible = parseAdded((await cli(['sources', 'add', '--name', 'r2', '--type', 's3_compatible', '--bucket', 'r2-bucket', '--secret-key', 'x', '--data', t.dataDir])).stdout);
    assert.equal(compatible.json.attributes.deployment.bucket_name, 'r2-bucket');
    assert.equal(compatible.json.attributes.deployment.secret_key_set, true);
    const moved = JSON.parse((await cli(['sources', 'update', id, '--type', 'gcs', '--bucket', 'g-bucket', '--no-secure', '--data', t.dataDir])).stdout);
    assert.equal(moved.attributes.deployment.gcs_bucket, 'g-bucket');
    assert.equal(moved.attributes.deployment.s3_bucket, undefined);
    assert.equal(moved.attributes.secure_url_token, undefined);
  });

  it('keeps domains unique between the server and the CLI, either writing first or both at once', async () => {
    const api = (method: string, url: string, body?: unknown) =>
      fetch(`${t.adminUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));
    const post = (name: string, deployment: Record<string, unknown>) => api('POST', '/api/v1/sources', { data: { type: 'sources', attributes: { name, deployment: { type: 'webproxy', ...deployment } } } });
    const refusal = async (args: string[]) => {
      const error = await cli([...args, '--data', t.dataDir], { PICTOR_BASE_DOMAIN: 'images.example.com' }).then(
        () => assert.fail(`accepted: ${args.join(' ')}`),
        (failure: { stderr: string }) => failure,
      );
      return error.stderr;
    };

    const server = await post('server first', { custom_domains: ['first.example.test'], imgix_subdomains: ['first'] });
    assert.equal(server.status, 201);
    const owner = `the Source "server first" \\(${server.body.data.id}\\)`;
    assert.match(await refusal(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--domain', 'FIRST.example.test']), new RegExp(`"first.example.test" is already a domain of ${owner} \\(--domain\\)`));
    assert.match(await refusal(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--subdomain', 'first']), new RegExp(`"first" \\(first.images.example.com\\) is already a domain of ${owner}`));
    assert.match(await refusal(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--domain', 'first.images.example.com']), new RegExp(owner));

    const added = parseAdded((await cli(['sources', 'add', '--name', 'cli first', '--type', 'webproxy', '--domain', 'second.example.test', '--data', t.dataDir])).stdout);
    const clash = await post('x', { custom_domains: ['second.example.test'] });
    assert.equal(clash.status, 400);
    assert.match(clash.body.errors[0].detail, new RegExp(`"second.example.test" is already a domain of the Source "cli first" \\(${added.id}\\)`));

    // Several processes and the server claim one new domain at the same moment: exactly one gets it.
    const racers = Array.from({ length: 3 }, (_, i) =>
      cli(['sources', 'add', '--name', `cli racer ${i}`, '--type', 'webproxy', '--domain', 'race.example.test', '--data', t.dataDir]).then(
        () => 'won',
        (failure: { stderr: string }) => failure.stderr,
      ),
    );
    let serverTries = 0;
    let settled = false;
    const done = Promise.all(racers).finally(() => (settled = true));
    const serverResults: { status: number; body: any }[] = [];
    while (!settled && serverTries < 500) {
      serverResults.push(await post(`api racer ${serverTries++}`, { custom_domains: ['race.example.test'] }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const cliResults = await done;
    const holders = (await api('GET', '/api/v1/sources?filter[deployment.custom_domains]=race.example.test')).body.data;
    assert.equal(holders.length, 1, 'one Source holds the domain');
    const winner = holders[0].attributes.name as string;
    const winners = cliResults.filter((result) => result === 'won').length + serverResults.filter((result) => result.status === 201).length;
    assert.equal(winners, 1);
    const named = new RegExp(`"race.example.test" is already a domain of the Source "${winner}" \\(${holders[0].id}\\)`);
    for (const result of cliResults) if (result !== 'won') assert.match(result, named);
    for (const result of serverResults) if (result.status !== 201) assert.match(result.body.errors[0].detail, named);
  });

  it('refuses bad input with the API\'s message and the flag to fix', async () => {
    const refused = async (args: string[], message: RegExp) =>
      assert.rejects(cli([...args, '--data', t.dataDir]), (error: { stderr: string; code: number }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, message);
        return true;
      });
    await refused(['sources', 'add', '--name', 'x', '--type', 'folder'], /"deployment.folder_path" is required for a folder Source \(--folder-path\)/);
    // Without --folder-root (or PICTOR_FOLDER_ROOTS) only the assets folder is allowed.
    await refused(
      ['sources', 'add', '--name', 'x', '--type', 'folder', '--folder-path', folder],
      /"deployment.folder_path" must be inside a folder root allowed at start \(--folder-root \/ PICTOR_FOLDER_ROOTS\): .+ is not \(--folder-path\)/,
    );
    await refused(['sources', 'add', '--name', 'x', '--type', 'folder', '--folder-path', '/etc', '--folder-root', folder], /PICTOR_FOLDER_ROOTS\): \/etc is not/);
    await refused(['sources', 'add', '--name', 'x', '--type', 'folder', '--folder-path', folder, '--folder-root', path.join(folder, 'nope')], /--folder-root \(PICTOR_FOLDER_ROOTS\) must name existing directories/);
    await refused(['sources', 'add', '--name', 'x', '--type', 'folder', '--folder-path', folder, '--bucket', 'b'], /--bucket does not apply to a folder Source/);
    await refused(['sources', 'add', '--name', 'x', '--type', 'azure'], /one of folder, webfolder, webproxy, s3, s3_compatible, gcs, got "azure" \(--type\)/);
    await refused(['sources', 'add', '--name', 'x', '--type', 'webfolder', '--base-url', 'not a url'], /absolute http\(s\) URL, got "not a url" \(--base-url\)/);
    await refused(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--domain', 'cli3.example.test'], /already a domain of the Source "cli renamed" .*\(--domain\)/);
    await refused(['sources', 'update', 'ffffffffffffffffffffffff', '--disable'], /No Source has the id "ffffffffffffffffffffffff"/);
    await refused(['sources', 'update', t.defaultSourceId, '--enable', '--disable'], /--enable or --disable, not both/);
  });
});
