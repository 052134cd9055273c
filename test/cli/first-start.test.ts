import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DashboardClient } from '../dashboard/http-client.ts';
import { runCli } from '../helpers/cli.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';

const SAMPLE = path.resolve('assets', 'sunset.jpg');

/** A port held by another listener on 127.0.0.1, as another program would hold it. */
async function heldPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function stopServer(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0, server.stderr());
}

/** GET on the admin API with a bearer key: its status. */
async function apiStatus(adminUrl: string, key: string): Promise<number> {
  const response = await fetch(`${adminUrl}/api/v1/sources`, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  return response.status;
}

/** The arguments of a `… pictor.js <command> …` line of the banner (run from sources here: `node bin/pictor.js` in a checkout). */
function bannerCommand(stderr: string, command: string): string[] {
  const line = stderr.split('\n').find((text) => text.includes(` ${command} `) && text.trim().startsWith('node '));
  assert.ok(line, `the banner names \`pictor ${command}\`:\n${stderr}`);
  const words = line.trim().split(/\s+/);
  assert.equal(words[1], path.join('bin', 'pictor.js'), line);
  return words.slice(2);
}

describe('pictor serve: a first start that cannot lose its key, and what the banner offers', () => {
  let root: string;
  let data: string;
  let assets: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-first-start-'));
    data = path.join(root, 'data');
    assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    await fs.copyFile(SAMPLE, path.join(assets, 'sunset.jpg'));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  for (const listener of [
    { name: 'render', flag: '--port', setting: '--port (PICTOR_PORT)' },
    { name: 'admin', flag: '--admin-port', setting: '--admin-port (PICTOR_ADMIN_PORT)' },
  ]) {
    it(`the ${listener.name} port in use: exits non-zero naming the address and ${listener.setting}, without a stack trace`, async () => {
      const held = await heldPort();
      try {
        const other = listener.flag === '--port' ? '--admin-port' : '--port';
        const args = ['serve', '--host', '127.0.0.1', '--admin-host', '127.0.0.1', listener.flag, String(held.port), other, '0'];
        const result = await runCli([...args, '--data', data, '--assets', assets]);
        assert.equal(result.code, 2, result.stderr);
        assert.ok(result.stderr.includes(`the ${listener.name} listener cannot listen on 127.0.0.1:${held.port}`), result.stderr);
        assert.match(result.stderr, /already in use/);
        assert.ok(result.stderr.includes(`Choose another port with ${listener.setting}`), result.stderr);
        assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
        assert.doesNotMatch(result.stderr, /API key:|Dashboard password:/, 'nothing shown once was made');
      } finally {
        await held.release();
      }
    });
  }

  it('the next start on free ports shows the key and the password, both work; the banner sample image answers 200', async () => {
    const server = await spawnServer(['--data', data, '--assets', assets]);
    try {
      const stderr = server.stderr();
      assert.ok(server.apiKey, `the banner shows the API key:\n${stderr}`);
      assert.equal(await apiStatus(server.adminUrl, server.apiKey), 200);
      const password = /Dashboard password: (\S+)/.exec(stderr)?.[1];
      assert.ok(password, stderr);
      assert.equal((await new DashboardClient(server.adminUrl).signIn('admin', password)).status, 303);

      const sample = /Try:\s+(\S+)/.exec(stderr)?.[1];
      assert.ok(sample !== undefined && sample.startsWith(`${server.renderUrl}/sunset.jpg`), stderr);
      const image = await fetch(sample);
      assert.equal(image.status, 200);
      assert.match(image.headers.get('content-type') ?? '', /^image\//);
      await image.arrayBuffer();

      assert.ok(stderr.includes(`Folder roots: ${assets}`), stderr);
      assert.match(stderr, /Outbound: +origin fetches to loopback, private, link-local and metadata addresses are refused/);
    } finally {
      await stopServer(server);
    }
  });

  it('a later start shows neither again, and the recovery commands it names make a working key and password', async () => {
    const server = await spawnServer(['--data', data, '--assets', assets, '--outbound-allow', '127.0.0.1/32']);
    try {
      const stderr = server.stderr();
      assert.equal(server.apiKey, undefined);
      assert.doesNotMatch(stderr, /Dashboard password:/);
      assert.match(stderr, /Outbound: .*except 127\.0\.0\.1\/32/);

      const created = await runCli(bannerCommand(stderr, 'keys create').map((word) => (word === 'NAME' ? 'recovered' : word)));
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim().split('\n').at(-1)!;
      assert.equal(await apiStatus(server.adminUrl, key), 200);

      const password = 'a new password for the dashboard';
      const set = await runCli([...bannerCommand(stderr, 'admin set-password'), '--password', password]);
      assert.equal(set.code, 0, set.stderr);
      assert.equal((await new DashboardClient(server.adminUrl).signIn('admin', password)).status, 303);
    } finally {
      await stopServer(server);
    }
  });
});
