/**
 * The examples of the README and docs/, run as they are written (docs/development.md, "The examples in these
 * pages are run"): in a throwaway checkout, against Pictor started by the README's own `npm start` lines, with
 * only ports, keys, ids and the local network's addresses replaced, by the mapping documented there.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { sign } from '../../src/auth/url-signing.ts';
import { DashboardClient } from '../dashboard/http-client.ts';
import { eventually, rawGet, solidImage } from '../helpers/pictor.ts';
import { blocks, pages, REPO, type Block } from './markdown.ts';

const run = promisify(execFile);

/** Every block marked `<!-- test: NAME -->`, by name. */
const EXAMPLES = new Map<string, Block>(
  pages()
    .flatMap(blocks)
    .filter((block) => block.marker?.kind === 'test')
    .map((block) => [block.marker!.value, block]),
);

function example(name: string): Block {
  const block = EXAMPLES.get(name);
  if (!block) throw new Error(`no block is marked <!-- test: ${name} -->`);
  return block;
}

/** What the pages leave to a deployment, as this test fills it in; set as the servers start. */
const filled = new Map<string, string>();

/** A block's text with the documented replacements made; nothing that names a port or a placeholder may remain. */
function substituted(name: string): string {
  let text = example(name).body;
  for (const [from, to] of filled) text = text.split(from).join(to);
  assert.doesNotMatch(text, /(localhost|127\.0\.0\.1):300[01]\b|<[a-z]+(-[a-z]+)*>|10\.0\.0\.5|npx /, `${name}: something is left to fill in:\n${text}`);
  return text;
}

interface Server {
  child: ChildProcess;
  banner: string;
  renderPort: number;
  adminPort: number;
}

/** A temporary checkout: the project linked in, its sample folder copied, a HOME with folders to serve. */
function makeCheckout(root: string): { checkout: string; home: string } {
  const checkout = path.join(root, 'pictor');
  const home = path.join(root, 'home');
  fs.mkdirSync(checkout);
  for (const name of ['package.json', 'tsconfig.json', 'bin', 'src', 'vendor', 'node_modules']) {
    fs.symlinkSync(path.join(REPO, name), path.join(checkout, name));
  }
  fs.cpSync(path.join(REPO, 'assets'), path.join(checkout, 'assets'), { recursive: true });
  for (const folder of ['photos/photos', 'catalogue']) fs.mkdirSync(path.join(home, folder), { recursive: true });
  return { checkout, home };
}

describe('the examples of the README and docs/, run as written', () => {
  let root: string;
  let checkout: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let webFolder: http.Server;
  let server: Server | undefined;
  let firstPassword = '';
  const logo = fs.readFileSync(path.join(REPO, 'assets', 'logo.png'));

  /** Runs a block with bash in the checkout; resolves with its standard output. */
  const shell = async (name: string): Promise<string> => {
    const { stdout } = await run('bash', ['-e', '-c', substituted(name)], { cwd: checkout, env, maxBuffer: 16 << 20 });
    return stdout;
  };

  /** Starts a block that runs `npm start`, and waits for the banner with its URLs. */
  const start = async (name: string): Promise<Server> => {
    const child = spawn('bash', ['-c', substituted(name)], { cwd: checkout, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let banner = '';
    child.stderr!.on('data', (chunk: Buffer) => (banner += chunk.toString()));
    await eventually(() => /Admin URL: +http:\/\/[^:]+:\d+\//.test(banner) || child.exitCode !== null, 120_000);
    assert.equal(child.exitCode, null, `${name} stopped:\n${banner}`);
    const port = (label: string) => Number(new RegExp(`${label}: +http://[^:]+:(\\d+)/`).exec(banner)![1]);
    const started = { child, banner, renderPort: port('Render URL'), adminPort: port('Admin URL') };
    filled.set('localhost:3000', `localhost:${started.renderPort}`).set('127.0.0.1:3001', `127.0.0.1:${started.adminPort}`);
    return started;
  };

  /** Stops a server the way Ctrl-C does (its whole process group: npm, and the node processes under it). */
  const stop = async (stopped: Server): Promise<void> => {
    if (stopped.child.exitCode !== null || stopped.child.signalCode !== null) return;
    const exited = new Promise((resolve) => stopped.child.once('exit', resolve));
    process.kill(-stopped.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-stopped.child.pid!, 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };

  const api = async (pathname: string, init: RequestInit = {}): Promise<any> => {
    const response = await fetch(`http://127.0.0.1:${server!.adminPort}${pathname}`, {
      ...init,
      headers: { authorization: `Bearer ${filled.get('<api-key>')}`, ...init.headers },
    });
    assert.equal(response.status, 200, `${pathname}: ${response.status}`);
    return response.json();
  };

  const image = async (file: string) => sharp(fs.readFileSync(path.join(checkout, file))).metadata();

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-docs-'));
    ({ checkout, home } = makeCheckout(root));
    fs.writeFileSync(path.join(home, 'photos', 'beach.jpg'), await solidImage(800, 600, [0, 90, 200]));
    fs.writeFileSync(path.join(home, 'photos', 'dogs.png'), await solidImage(300, 200, [120, 80, 40], 'png'));
    fs.writeFileSync(path.join(home, 'catalogue', 'shoe.jpg'), await solidImage(600, 600, [200, 30, 30]));
    // The web folder of the README's webfolder Source, on the local network there, on loopback here.
    webFolder = http.createServer((request, response) => {
      if (request.url === '/images/logo.png') response.writeHead(200, { 'content-type': 'image/png' }).end(logo);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => webFolder.listen(0, '127.0.0.1', resolve));
    const webPort = (webFolder.address() as AddressInfo).port;
    filled.set('npm install && ', '').set('10.0.0.5:8080', `127.0.0.1:${webPort}`).set('10.0.0.5/32', '127.0.0.1/32');
    // This process's own Pictor settings, if any, must not reach the examples: only the documented ones do.
    const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('PICTOR_'));
    env = {
      ...Object.fromEntries(inherited),
      HOME: home,
      PICTOR_PORT: '0',
      PICTOR_ADMIN_PORT: '0',
      PICTOR_HOST: '127.0.0.1',
      npm_config_offline: 'true', // npm start never reaches the registry
      npm_config_update_notifier: 'false',
    };
  });

  after(async () => {
    if (server) await stop(server);
    await new Promise((resolve) => webFolder?.close(resolve));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('every block marked as run is run here', () => {
    assert.deepEqual([...EXAMPLES.keys()].sort(), [...RUN].sort());
  });

  it('Quick start: npm start prints the API key and the dashboard password on the first start', async () => {
    assert.equal(example('quick-start').body, 'npm install && npm start\n');
    server = await start('quick-start');
    const key = /^ {2}API key: (ak_[0-9a-f]{64})$/m.exec(server.banner)?.[1];
    const password = /^ {2}Dashboard password: (\S+)$/m.exec(server.banner)?.[1];
    assert.ok(key && password, server.banner);
    filled.set('<api-key>', key);
    firstPassword = password;
  });

  it('Quick start: the first image URLs answer with images', async () => {
    const headers = await shell('first-image');
    assert.match(headers, /^HTTP\/1\.1 200/);
    assert.match(headers, /^content-type: image\/jpeg/im);
    const sunset = await image('sunset.webp');
    assert.equal(sunset.format, 'webp');
    assert.equal(sunset.width, 400);
  });

  it('Quick start: a lost key and password are made again from the command line', async () => {
    const output = await shell('recover');
    const key = /^(ak_[0-9a-f]{64})$/m.exec(output)?.[1];
    assert.ok(key, output);
    assert.match(output, /The dashboard password of "admin" is changed\./);
    const sources = await fetch(`http://127.0.0.1:${server!.adminPort}/api/v1/sources`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(sources.status, 200);
    const dashboard = new DashboardClient(`http://127.0.0.1:${server!.adminPort}`);
    assert.notEqual((await dashboard.signIn('admin', firstPassword)).status, 303, 'the old password is refused');
    assert.equal((await dashboard.signIn('admin', 'a long new passphrase')).status, 303, 'the new one signs in');
  });

  it('Common tasks: Pictor started on your own folders serves them', async () => {
    await stop(server!);
    // The docs' examples name images.example.com, which this makes a domain of the default Source.
    env.PICTOR_PUBLIC_URL = 'https://images.example.com';
    server = await start('start-own-folders');
    await shell('own-folder-image');
    const beach = await image('beach.webp');
    assert.equal(beach.format, 'webp');
    assert.equal(beach.width, 400);
  });

  it('Common tasks: a second Source is served on its host name', async () => {
    const created = JSON.parse(await shell('second-source'));
    assert.equal(created.data.attributes.name, 'Catalogue');
    assert.equal(created.data.attributes.deployment.folder_path, path.join(home, 'catalogue'));
    const shoe = await image('shoe.webp');
    assert.equal(shoe.width, 300);
  });

  it('Common tasks: a web folder Source on an allowed address, whose URLs are signed', async () => {
    const created = JSON.parse(await shell('webfolder-source'));
    assert.equal(created.meta.pictor?.warning, undefined, 'the address is allowed');
    const token = created.data.attributes.secure_url_token as string;
    assert.match(token, /^[0-9a-f]{32}$/);
    filled.set('<secure-url-token>', token);

    fs.writeFileSync(path.join(checkout, 'sign.mjs'), example('sign-url').body);
    assert.match(example('sign-url').body, /^\/\/ sign\.mjs /);
    const { stdout } = await run('node', ['sign.mjs', '/logo.png', 'w=200&fm=webp'], { cwd: checkout, env: { ...env, SECURE_URL_TOKEN: token } });
    assert.equal(stdout.trim(), `/logo.png?w=200&fm=webp&s=${sign(token, '/logo.png', 'w=200&fm=webp')}`);

    await shell('signed-request');
    const signed = await image('logo.webp');
    assert.equal(signed.format, 'webp');
    assert.equal(signed.width, 200);
    const unsigned = await rawGet(server!.renderPort, '/logo.png?w=200&fm=webp', { host: 'static.localhost' });
    assert.equal(unsigned.status, 403);
  });

  it('Common tasks: a purge from the command line and with curl', async () => {
    const output = await shell('purge-cli');
    assert.match(output, /^completed\s+http:\/\/localhost:\d+\/beach\.jpg\s+id=\S+\s+origin=unchanged\s+matched=[1-9]/m);
    const accepted = JSON.parse(await shell('purge-curl'));
    assert.equal(accepted.data.type, 'purges');
    assert.match(accepted.data.id, /^[0-9a-f-]{36}$/);
  });

  it('Purge API: a purge, its status, a prefix and a whole-Source purge', async () => {
    const accepted = JSON.parse(await shell('purge-api-post'));
    const id = accepted.data.id as string;
    filled.set('<purge-id>', id);
    await eventually(async () => (await api(`/api/v1/purges/${id}`)).data.attributes.status === 'completed');
    const status = JSON.parse(await shell('purge-api-status'));
    assert.equal(status.data.attributes.status, 'completed');
    assert.equal(status.data.attributes.url, 'https://images.example.com/dogs.png');

    const sources = await api('/api/v1/sources?filter%5Bname%5D=default');
    filled.set('<source-id>', sources.data[0].id);
    const [prefix, whole] = jsonDocuments(await shell('purge-api-broad'));
    assert.equal(prefix.data.type, 'purges');
    assert.equal(whole.data.type, 'purges');
    const statuses = await Promise.all([prefix, whole].map((purge) => api(`/api/v1/purges/${purge.data.id}`)));
    assert.deepEqual(statuses.map((purge) => purge.data.attributes.match), ['prefix', 'source']);
  });

  it('Purge API: a purge by tag, with curl and from the command line', async () => {
    const output = await shell('purge-by-tag');
    const [added, tagged, accepted] = jsonDocuments(output);
    assert.equal(added.data.attributes.origin_path, '/dogs.png');
    assert.deepEqual(tagged.data.attributes.tags, ['product-123']);
    const id = accepted.data.id as string;
    await eventually(async () => (await api(`/api/v1/purges/${id}`)).data.attributes.status === 'completed');
    const status = (await api(`/api/v1/purges/${id}`)).data.attributes;
    assert.deepEqual([status.match, status.tag, status.assets, status.url], ['tag', 'product-123', 1, null]);
    assert.match(output, /\}completed\s+tag "product-123"\s+id=\S+\s+assets=1\s/, "the CLI line, after the last curl's document");
  });

  it('Purge API: /healthz and /metrics', async () => {
    const output = await shell('health-and-metrics');
    assert.match(output, /^\{"status":"ok"\}/);
    assert.match(output, /^pictor_http_requests_total\{/m);
  });

  it('Sources API: creating a Source and listing them', async () => {
    const created = JSON.parse(await shell('sources-create'));
    assert.equal(created.data.attributes.name, 'Photos');
    assert.deepEqual(created.data.attributes.deployment.custom_domains, ['photos.example.com']);
    const listed = JSON.parse(await shell('sources-list'));
    assert.deepEqual(listed.data.map((source: any) => source.attributes.name), ['Catalogue', 'default', 'Photos', 'Static']);
  });

  it('Assets API: an upload, then the folder it went to', async () => {
    const [uploaded, listed] = jsonDocuments(await shell('assets-upload'));
    assert.equal(uploaded.data.attributes.origin_path, '/brand/logo.png');
    assert.equal(uploaded.data.attributes.media_kind, 'IMAGE');
    assert.deepEqual(listed.data.map((asset: any) => asset.attributes.origin_path), ['/brand/logo.png']);
    assert.deepEqual(fs.readFileSync(path.join(home, 'photos', 'brand', 'logo.png')), logo);
  });

  it('Takedowns: an asset taken down answers 451 until the takedown is lifted', async () => {
    const created = JSON.parse(await shell('takedown-create'));
    assert.equal(created.data.attributes.status, 'active');
    filled.set('<takedown-id>', created.data.id);
    assert.equal((await rawGet(server!.renderPort, '/dogs.png?w=100')).status, 451);
    const lifted = JSON.parse(await shell('takedown-lift'));
    assert.equal(lifted.data.attributes.status, 'lifted');
    assert.equal((await rawGet(server!.renderPort, '/dogs.png?w=100')).status, 200);
  });

  it('Command line: keys, Sources and a purge that waits', async () => {
    const output = await shell('cli-examples');
    assert.match(output, /^ak_[0-9a-f]{64}$/m);
    assert.match(output, /^ID\tNAME\tPERMISSIONS\tCREATED\tLAST USED\tSTATE$/m);
    assert.match(output, /"name": "Catalogue"/);
    assert.match(output, /^completed\s+https:\/\/images\.example\.com\/photos\/\s+id=/m);
  });

  it('Edges: pictor vcl writes the VCL of an edge', async () => {
    await shell('vcl');
    const vcl = fs.readFileSync(path.join(checkout, 'edge.vcl'), 'utf8');
    assert.match(vcl, /^vcl 4\.1;/m);
    assert.match(vcl, /10\.0\.0\.11/);
    assert.match(vcl, /10\.0\.0\.12/);
    assert.match(vcl, /10\.0\.0\.0/);
  });
});

/** The blocks this file runs, in the order above. */
const RUN = [
  'quick-start', 'first-image', 'recover', 'start-own-folders', 'own-folder-image', 'second-source', 'webfolder-source', 'sign-url',
  'signed-request', 'purge-cli', 'purge-curl', 'purge-api-post', 'purge-api-status', 'purge-api-broad', 'health-and-metrics',
  'sources-create', 'sources-list', 'assets-upload', 'takedown-create', 'takedown-lift', 'cli-examples', 'vcl', 'purge-by-tag',
];

/** JSON documents written one after another (several curls in one block). */
function jsonDocuments(text: string): any[] {
  const documents: any[] = [];
  let depth = 0;
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) from = i;
      depth++;
    } else if (char === '}') {
      depth--;
      if (depth === 0) documents.push(JSON.parse(text.slice(from, i + 1)));
    }
  }
  return documents;
}
