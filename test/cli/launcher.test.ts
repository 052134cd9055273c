/**
 * bin/pictor.js chooses what to run: the build in dist/, or in a checkout whose sources changed since the
 * build, the sources through tsx — an edit is never silently ignored. A scratch checkout holds the real
 * launcher beside a dist/ and a src/ that each say which one ran.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('bin/pictor.js', () => {
  let dir: string;
  const run = (): string => execFileSync(process.execPath, [path.join(dir, 'bin/pictor.js'), '--version'], { encoding: 'utf8' }).trim();
  const age = (file: string, secondsAgo: number): void => {
    const at = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(path.join(dir, file), at, at);
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-launcher-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    for (const file of ['pictor.js', 'allocator.js']) fs.copyFileSync(path.join(ROOT, 'bin', file), path.join(dir, 'bin', file));
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.mkdirSync(path.join(dir, 'dist/cli'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist/cli/index.js'), 'console.log("dist");\n');
    fs.mkdirSync(path.join(dir, 'src/cli/deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src/cli/index.ts'), 'const from: string = "src";\nconsole.log(from);\n');
    fs.writeFileSync(path.join(dir, 'src/cli/deep/part.ts'), 'export {};\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the build when it is newer than every source', () => {
    age('src/cli/index.ts', 60);
    age('src/cli/deep/part.ts', 60);
    age('dist/cli/index.js', 10);
    assert.equal(run(), 'dist');
  });

  it('runs the sources when any of them, however deep, changed after the build', () => {
    age('src/cli/deep/part.ts', 1);
    assert.equal(run(), 'src');
  });

  it('runs the sources when there is no build, and the build when there are no sources (an installed package)', () => {
    fs.renameSync(path.join(dir, 'dist'), path.join(dir, 'dist-away'));
    assert.equal(run(), 'src');
    fs.renameSync(path.join(dir, 'dist-away'), path.join(dir, 'dist'));
    fs.rmSync(path.join(dir, 'src'), { recursive: true });
    assert.equal(run(), 'dist');
  });
});
