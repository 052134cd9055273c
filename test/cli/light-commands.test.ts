import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';

/** Records every module the command resolves (see module-log.mjs). */
const MODULE_LOG = fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url));

/** What only `serve` (and the commands that use them) may load: each costs start time for every other command. */
const HEAVY = ['sharp', '@aws-sdk', 'pdfjs-dist', 'onnxruntime-node', 'fastify', '@napi-rs/canvas', 'pg', 'undici', 'cli-progress'];

/** The packages (node_modules/<name>) a `pictor <args>` run loaded. */
async function packagesLoadedBy(args: string[], log: string): Promise<Set<string>> {
  await fs.rm(log, { force: true });
  await runCli(args, { env: { PICTOR_MODULE_LOG: log }, command: (argv) => [argv[0]!, '--import', MODULE_LOG, ...argv.slice(1)] });
  const urls = (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean);
  assert.ok(urls.some((url) => url.endsWith('/src/cli/index.ts')), 'the log saw the CLI load');
  return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []).map((name) => name.split('/')[0]!));
}

describe('light CLI commands load none of the server\'s heavy modules', () => {
  let root: string;
  let data: string;
  let refused: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-light-commands-'));
    data = path.join(root, 'data');
    await cli(['keys', 'create', '--name', 'ci', '--permissions', 'purge', '--data', data]);
    refused = `http://127.0.0.1:${await freePort()}`;
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it('the module log sees `serve` load sharp and fastify (it can tell)', async () => {
    // A port in use stops the start once the server's modules are loaded.
    const held = net.createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((held.address() as net.AddressInfo).port);
      const args = ['serve', '--host', '127.0.0.1', '--port', port, '--admin-port', '0', '--data', data, '--assets', root];
      const loaded = await packagesLoadedBy(args, path.join(root, 'serve.log'));
      for (const name of ['sharp', 'fastify']) assert.ok(loaded.has(name), `${name} in ${[...loaded].join(', ')}`);
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
  });

  for (const args of [['--help'], ['purge', '--help'], ['keys', 'list'], ['purge', 'http://localhost/a.jpg', '--key', 'k']]) {
    it(`pictor ${args.join(' ')}`, async () => {
      const full = args[0] === 'keys' ? [...args, '--data', data] : args[0] === 'purge' && args[1] !== '--help' ? [...args, '--api', refused] : args;
      const loaded = await packagesLoadedBy(full, path.join(root, 'light.log'));
      const heavy = HEAVY.filter((name) => loaded.has(name.split('/')[0]!));
      assert.deepEqual(heavy, [], `loaded: ${[...loaded].join(', ')}`);
    });
  }
});
