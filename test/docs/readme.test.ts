import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { read, REPO } from './markdown.ts';

const LAYOUT_MARKER = '<!-- layout: one line per folder under src/; test/docs/readme.test.ts keeps it true -->';

/** The README's layout list: the lines after the marker, up to the first blank line. */
function layoutLines(): string[] {
  const readme = read('README.md');
  const at = readme.indexOf(LAYOUT_MARKER);
  assert.notEqual(at, -1, 'the README has its layout marker');
  return readme.slice(at + LAYOUT_MARKER.length).trimStart().split('\n\n')[0]!.split('\n');
}

describe('the README', () => {
  it('fits on a page: at most 300 lines, the reference being in docs/', () => {
    const lines = read('README.md').trimEnd().split('\n').length;
    assert.ok(lines <= 300, `README.md has ${lines} lines`);
  });

  it('its layout names exactly the folders under src/, one line each', () => {
    const folders = fs
      .readdirSync(path.join(REPO, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const named = layoutLines().map((line) => /^- `src\/([a-z0-9-]+)\/` — \S/.exec(line)?.[1] ?? `unreadable line: ${line}`);
    assert.deepEqual([...named].sort(), folders);
    assert.deepEqual(named, [...named].sort(), 'in alphabetical order');
  });

  it('every other path its layout names exists', () => {
    const paths = layoutLines().flatMap((line) => [...line.matchAll(/`(src\/[^`]+)`/g)].map(([, named]) => named!));
    for (const named of paths) assert.ok(fs.existsSync(path.join(REPO, named)), named);
  });
});
