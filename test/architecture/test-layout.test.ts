import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const TEST = fileURLToPath(new URL('../', import.meta.url));

/** Test files (`.test.ts`, `.browser.ts`) under `dir`, relative to test/. */
function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(full);
    return /\.(test|browser)\.ts$/.test(entry.name) ? [path.relative(TEST, full)] : [];
  });
}

describe('the test layout', () => {
  it('every test file sits one folder below test/, where `npm test` looks for it (test/<area>/<name>)', () => {
    const files = testFiles(TEST);
    assert.ok(files.length > 100, 'the test files were read');
    assert.deepEqual(files.filter((file) => file.split(path.sep).length !== 2), []);
  });
});
