/**
 * The nginx configuration of docs/production.md, run as written by a real nginx (Debian's package) in front of
 * a real Pictor: TLS with a self-signed certificate the client verifies, renders and the purge API over https,
 * dashboard sign-in with Secure cookies, the admin name kept to the allowed addresses. Only the listen
 * addresses, the upstream ports and the certificate and log paths are replaced (see `substitute`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { nginxDir, startNginx, type TestNginx } from '../helpers/nginx.ts';
import { skipWithout } from '../helpers/tools.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { freePort } from '../helpers/ports.ts';
import { example, substitute } from './guide.ts';

const RENDER_NAME = 'img.example.com';
const ADMIN_NAME = 'admin.example.com';
/** The domain of a second Source: the one name this test adds to the configuration, as the guide says to. */
const PHOTOS_NAME = 'photos.example.com';

const skip = skipWithout('nginx');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

describe('the nginx configuration of docs/production.md', { skip }, () => {
  let dir: string;
  let nginx: TestNginx;
  let t: TestPictor;
  let httpsPort: number;
  let httpPort: number;
  let ca: Buffer;

  /** An https request to nginx for `name` (SNI and Host), verified against the test's certificate. */
  const request = (name: string, target: string, init: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const call = https.request(
        {
          host: '127.0.0.1',
          port: httpsPort,
          servername: name,
          ca,
          agent: false,
          localAddress: init.from ?? '127.0.0.1',
          method: init.method ?? 'GET',
          path: target,
          headers: { host: `${name}:${httpsPort}`, ...init.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
        },
      );
      call.on('error', reject);
      call.end(init.body);
    });

  before(async () => {
    dir = nginxDir();
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${RENDER_NAME}`,
      '-addext', `subjectAltName=DNS:${RENDER_NAME},DNS:${ADMIN_NAME},DNS:${PHOTOS_NAME}`, '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem'),
    ], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    ca = fs.readFileSync(path.join(dir, 'fullchain.pem'));

    t = await startPictor({
      assets: { 'sunset.jpg': await solidImage(120, 80, [220, 120, 40]), 'photos/boat.jpg': await solidImage(60, 40, [30, 60, 200]) },
      options: { publicUrl: `https://${RENDER_NAME}` },
    });
    const photos = await fetch(`${t.adminUrl}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({
        data: { type: 'sources', attributes: { name: 'photos', deployment: { type: 'folder', folder_path: path.join(t.assetsDir, 'photos'), custom_domains: [PHOTOS_NAME] } } },
      }),
    });
    assert.equal(photos.status, 201, await photos.text());
    httpsPort = await freePort();
    httpPort = await freePort();
    const site = substitute(example('nginx'), [
      ['listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`, 2],
      ['    listen [::]:443 ssl http2;\n', '', 2],
      ['    server_name img.example.com;\n', `    server_name img.example.com ${PHOTOS_NAME};\n`, 1],
      ['listen 80;', `listen 127.0.0.1:${httpPort};`, 1],
      ['    listen [::]:80;\n', '', 1],
      ['server 127.0.0.1:3000;', `server 127.0.0.1:${t.renderPort};`, 1],
      ['server 127.0.0.1:3001;', `server 127.0.0.1:${t.adminPort};`, 1],
      ['/etc/ssl/pictor/', `${dir}/`, 4],
      ['/var/log/nginx/', `${dir}/`, 2],
    ]);
    nginx = await startNginx({ dir, http: site, ports: [httpsPort, httpPort] });
  });
  after(async () => {
    await nginx?.stop();
    await t?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves renders over https to a client that verifies the certificate, each host name from its Source, and redirects http to https', async () => {
    const render = await request(RENDER_NAME, '/sunset.jpg?w=64&fm=webp');
    assert.equal(render.status, 200, render.body.toString());
    assert.equal(render.headers['content-type'], 'image/webp');
    assert.equal((await sharp(render.body).metadata()).width, 64);
    assert.match(String(render.headers['strict-transport-security']), /max-age=\d+/);
    const requestId = String(render.headers['x-request-id']);
    assert.match(requestId, /^[0-9a-f]{32}$/);
    const log = fs.readFileSync(path.join(dir, 'pictor.access.log'), 'utf8');
    assert.match(log, new RegExp(`"${RENDER_NAME}" "GET /sunset\\.jpg\\?w=64&fm=webp HTTP/1\\.1" 200 .* ${requestId}$`, 'm'), 'the access log names Pictor\'s request id');

    assert.equal((await request(PHOTOS_NAME, '/boat.jpg?w=30')).status, 200, 'nginx passes the host name on: the Source of that domain answers');
    assert.equal((await request(RENDER_NAME, '/boat.jpg?w=30')).status, 404, 'and not the default Source');

    const plain = await rawGet(httpPort, '/sunset.jpg?w=64', { host: RENDER_NAME });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://${RENDER_NAME}/sunset.jpg?w=64`);
  });

  it('takes purges over https on the admin name, links its API pages with https, and serves /metrics as the scrape configuration reads it', async () => {
    const purge = await request(ADMIN_NAME, '/api/v1/purge', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `https://${RENDER_NAME}/sunset.jpg` } } }),
    });
    assert.equal(purge.status, 200, purge.body.toString());
    const id = JSON.parse(purge.body.toString()).data.id as string;
    let status = 'pending';
    while (status === 'pending') {
      const read = await request(ADMIN_NAME, `/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(read.status, 200, read.body.toString());
      status = JSON.parse(read.body.toString()).data.attributes.status;
    }
    assert.equal(status, 'completed');

    const page = await request(ADMIN_NAME, '/api/v1/sources?page[size]=1', { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(page.status, 200, page.body.toString());
    const links = JSON.parse(page.body.toString()).links as Record<string, string | null>;
    assert.ok(links.next, 'two Sources, one a page: there is a next page');
    for (const link of Object.values(links).filter((each) => each !== null)) {
      assert.ok(link!.startsWith(`https://${ADMIN_NAME}/api/v1/sources?`), `links say https, as the client asked: ${link}`);
    }

    const scrape = example('prometheus');
    assert.match(scrape, /scheme: https\n/);
    assert.match(scrape, new RegExp(`targets: \\['${ADMIN_NAME.replace(/\./g, '\\.')}'\\]`));
    const metricsPath = /metrics_path: (\S+)/.exec(scrape)![1]!;
    const metrics = await request(ADMIN_NAME, metricsPath);
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body.toString(), /^pictor_purges_total\{coalesced="false"\} 1$/m);
  });

  it('signs in to the dashboard over https with Secure cookies (over plain http to the listener itself, they are not)', async () => {
    const jar = new Map<string, string>();
    const keep = (answer: Answer): string[] => {
      const lines = [answer.headers['set-cookie'] ?? []].flat();
      for (const line of lines) {
        const [pair] = line.split(';');
        jar.set(pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1));
      }
      return lines;
    };
    const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

    const page = await request(ADMIN_NAME, '/dashboard/sign-in');
    assert.equal(page.status, 200);
    const [signInCookie] = keep(page);
    assert.match(signInCookie!, /^pictor_sign_in=.*; Secure$/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body.toString())![1]!;
    const form = new URLSearchParams({ _csrf: csrf, username: 'admin', password: t.adminPassword, next: '/dashboard/tools' }).toString();
    const signIn = await request(ADMIN_NAME, '/dashboard/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
      body: form,
    });
    assert.equal(signIn.status, 303, signIn.body.toString());
    const set = keep(signIn);
    for (const name of ['pictor_session', 'pictor_device']) {
      const line = set.find((each) => each.startsWith(`${name}=`));
      assert.ok(line, `${name} is set`);
      assert.match(line, /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    }
    const tools = await request(ADMIN_NAME, '/dashboard/tools', { headers: { cookie: cookie() } });
    assert.equal(tools.status, 200, 'signed in');

    const direct = await rawGet(t.adminPort, '/dashboard/sign-in');
    assert.doesNotMatch(String(direct.headers['set-cookie']), /Secure/, 'the cookie is Secure because nginx says https, not always');
  });

  it('keeps the admin name to the allowed addresses, and limits dashboard sign-ins per client address', async () => {
    const outsider = await request(ADMIN_NAME, '/api/v1/purges/x', { from: '127.0.0.2', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(outsider.status, 403);
    assert.match(outsider.body.toString(), /<center>nginx<\/center>/, 'refused by nginx, before Pictor');
    assert.equal((await request(RENDER_NAME, '/sunset.jpg?w=32', { from: '127.0.0.2' })).status, 200, 'renders are public');

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await request(ADMIN_NAME, '/dashboard/sign-in')).status);
    assert.ok(statuses.includes(429), `sign-in pages: ${statuses.join(' ')}`);
    assert.ok(statuses.slice(statuses.indexOf(429)).every((status) => status === 429), statuses.join(' '));
    assert.equal((await request(ADMIN_NAME, '/healthz')).status, 200, 'the rest of the admin name is not limited');
  });
});
