/**
 * Pictor as an installed package, as docs/production.md installs it: `npm pack` (which builds dist/ through
 * `prepare`), then `npm install -g` of the tarball into an empty prefix, then `pictor serve` from a directory
 * of its own, which must work with the production dependencies alone (no tsx, no TypeScript, no checkout).
 *
 * The pack runs in a copy of the checkout, so the checkout's own dist/ is never rebuilt under other tests.
 * The install resolves the dependencies from npm's cache when it can (--prefer-offline), else the registry,
 * and better-sqlite3 may compile its binding: this takes minutes, hence the timeout.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { twoPagePdf } from '../render/pdf-fixtures.ts';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** Not part of what is packed: dependencies, builds, local state. */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', '.pictor', 'test-output']);

/**
 * The environment of a person's shell: none of the npm variables or loaders of the test run and no checkout's
 * .bin on PATH, but the Node.js running this test first on it, with its headers for a native module built
 * from source (`npm_config_nodedir`, which scripts/test-on-node.sh sets for the Node.js it runs the tests on).
 */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if ((/^npm_/i.test(name) && name !== 'npm_config_nodedir') || name === 'NODE_OPTIONS' || name === 'INIT_CWD' || name.startsWith('PICTOR_')) continue;
    env[name] = value;
  }
  const node = path.dirname(process.execPath);
  const rest = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}`));
  env.PATH = [node, ...rest].join(path.delimiter);
  const headers = path.resolve(node, '..');
  if (env.npm_config_nodedir === undefined && fs.existsSync(path.join(headers, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = headers;
  return env;
}

interface Packed {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

describe('the npm package', { timeout: 25 * 60_000 }, () => {
  let work: string;
  let tarball: string;
  let packed: Packed;
  const prefix = () => path.join(work, 'prefix');
  const env = () => ({ ...cleanEnvironment(), ONNXRUNTIME_NODE_INSTALL: 'skip' });

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-package-'));
    const stage = path.join(work, 'checkout');
    fs.cpSync(REPO, stage, { recursive: true, filter: (source) => !NOT_COPIED.has(path.relative(REPO, source).split(path.sep)[0]!) && !source.endsWith('.tgz') });
    fs.symlinkSync(fs.realpathSync(path.join(REPO, 'node_modules')), path.join(stage, 'node_modules'));
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: stage, env: cleanEnvironment(), maxBuffer: 64 * 1024 * 1024 });
    packed = (JSON.parse(stdout) as Packed[])[0]!;
    tarball = path.join(work, packed.filename);
  });
  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('packs the build, the dashboard\'s files, the face model and the docs the README links to, and neither sources nor tests', (t) => {
    t.diagnostic(`${packed.filename}: ${packed.size} bytes, ${packed.entryCount} files`);
    const files = new Set(packed.files.map((file) => file.path));
    for (const needed of [
      'bin/pictor.js', 'bin/allocator.js', 'dist/cli/index.js', 'dist/render/render-process.js', 'dist/render/pdf/pdf-worker.js',
      'src/dashboard/assets/dashboard.css', 'src/dashboard/assets/dashboard.js', 'vendor/blazeface/face_detection_back_256x256.onnx',
      'vendor/icc/AdobeRGB1998.icc', 'package.json', 'README.md', 'docs/purge-api.md', 'docs/configuration.md',
    ]) {
      assert.ok(files.has(needed), `${needed} is in the package`);
    }
    const stray = [...files].filter((file) => /\.(ts|map)$/.test(file) || /^(test|bench|scripts|assets)\//.test(file) || file.startsWith('src/') && !file.startsWith('src/dashboard/assets/'));
    assert.deepEqual(stray, []);
  });

  it('installs globally from the tarball, and `pictor serve` serves from any directory with its production dependencies alone', async (t) => {
    const started = performance.now();
    await exec('npm', ['install', '-g', '--prefix', prefix(), '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: work, env: env(), maxBuffer: 64 * 1024 * 1024 });
    t.diagnostic(`npm install -g took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const installed = path.join(prefix(), 'lib', 'node_modules', 'pictor');
    for (const devOnly of ['tsx', 'typescript', 'eslint']) assert.equal(fs.existsSync(path.join(installed, 'node_modules', devOnly)), false, `${devOnly} is not installed`);

    const pictor = path.join(prefix(), 'bin', 'pictor');
    const cwd = path.join(work, 'site');
    fs.mkdirSync(path.join(cwd, 'assets'), { recursive: true });
    assert.equal((await exec(pictor, ['--version'], { cwd, env: env() })).stdout.trim(), VERSION);

    fs.writeFileSync(path.join(cwd, 'assets', 'sunset.jpg'), await sharp({ create: { width: 160, height: 100, channels: 3, background: '#dc7828' } }).jpeg().toBuffer());
    fs.writeFileSync(path.join(cwd, 'assets', 'mark.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="18" fill="red"/></svg>');
    fs.writeFileSync(path.join(cwd, 'assets', 'doc.pdf'), twoPagePdf());
    const child = spawn(pictor, ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--log-level', 'warn'], { cwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    while (!/Admin URL:\s+\S+/.test(output)) {
      assert.equal(child.exitCode, null, `pictor serve exited:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const render = /Render URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
    const admin = /Admin URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
    assert.match(output, new RegExp(`Pictor is serving ${path.join(cwd, 'assets').replace(/[/.]/g, '\\$&')}`), 'the current directory\'s assets');
    assert.match(output, /^ {4}pictor keys create --name NAME --permissions admin --data \S+$/m, 'installed globally, the banner says `pictor`');

    const image = await fetch(`${render}/sunset.jpg?w=80&fm=webp`);
    assert.equal(image.status, 200, await image.clone().text());
    assert.equal(image.headers.get('content-type'), 'image/webp');
    for (const [what, target] of [
      ['text, with the packaged fonts', '/sunset.jpg?w=120&txt=Pictor&txt-size=20'],
      ['an SVG, in a render process (dist/render/render-process.js)', '/mark.svg?w=20&fm=png'],
      ['a PDF page, in the PDF thread (dist/render/pdf/pdf-worker.js)', '/doc.pdf?page=2&w=60&fm=png'],
      ['faces, with the packaged model', '/sunset.jpg?fm=json&faces=1'],
    ]) {
      const response = await fetch(`${render}${target}`);
      assert.equal(response.status, 200, `${what}: ${await response.text()}`);
    }
    assert.equal((await fetch(`${admin}/dashboard/sign-in`)).status, 200);
    const css = await fetch(`${admin}/dashboard/assets/dashboard.css`);
    assert.equal(css.status, 200, 'the dashboard\'s files, from the package');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.ok(fs.existsSync(path.join(cwd, '.pictor', 'pictor.db')), 'the data directory is made in the current directory');
  });
});
