/**
 * Writes docs/openapi.json: the OpenAPI document a Pictor serves at /api/v1/openapi.json, from a Pictor
 * started on loopback with empty, temporary data and assets folders. test/http/openapi.test.ts fails when
 * the committed file is not what the routes describe: run `npm run openapi` after changing a route.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pictor } from '../src/app.ts';
import { resolveOptions } from '../src/config/options.ts';
import { OPENAPI_PATH } from '../src/http/openapi.ts';

export const OPENAPI_FILE = path.join(import.meta.dirname, '..', 'docs', 'openapi.json');

/** The committed form: two-space indentation and a final newline. */
export function formatOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-openapi-'));
  const assetsDir = path.join(root, 'assets');
  await fs.mkdir(assetsDir);
  const options = resolveOptions({ host: '127.0.0.1', port: '0', adminPort: '0', dataDir: path.join(root, 'data'), assetsDir, logLevel: 'silent' }, {});
  const pictor = new Pictor(options);
  try {
    const { adminUrl } = await pictor.start();
    const response = await fetch(`${adminUrl}${OPENAPI_PATH}`);
    if (!response.ok) throw new Error(`${OPENAPI_PATH} answered ${response.status}`);
    await fs.writeFile(OPENAPI_FILE, formatOpenApi(await response.json()));
    console.log(`Wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
  } finally {
    await pictor.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
