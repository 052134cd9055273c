import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DB = fileURLToPath(new URL('../../src/store/sqlite/db.ts', import.meta.url));
const OPEN = `import { openDatabase } from ${JSON.stringify(DB)}; openDatabase(process.argv[1]).close();`;

/** Opens the data directory's store in a process of its own; resolves with what it printed on failure. */
function openElsewhere(dataDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OPEN, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? '' : stderr || `exit ${code}`));
  });
}

describe('SQLite migrations', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

  it('processes opening a new data directory at once each find it migrated, none fails on a step another applied', async () => {
    // A race: one round may pass by luck, so several rounds of four processes each.
    for (let round = 0; round < 10; round++) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-migrate-'));
      dirs.push(dir);
      const failures = (await Promise.all([1, 2, 3, 4].map(() => openElsewhere(dir)))).filter((failure) => failure !== '');
      assert.deepEqual(failures, [], `round ${round + 1}`);
    }
  });
});
