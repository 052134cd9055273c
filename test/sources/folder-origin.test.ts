import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { FolderOrigin } from '../../src/sources/folder-origin.ts';

describe('FolderOrigin.write', () => {
  let base: string;
  let root: string;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-folder-origin-'));
    // A folder deep enough that names allowed one by one still make a path past PATH_MAX (4096 bytes).
    root = path.join(base, ...Array.from({ length: 15 }, (_, i) => `${i}`.padEnd(250, 'r')));
    await fs.mkdir(root, { recursive: true });
  });
  after(() => fs.rm(base, { recursive: true, force: true }));

  it('answers a path too long for the folder with 400, not as an origin failure', async () => {
    const origin = new FolderOrigin(root, 1024, [base]);
    const canonical = `/${'a'.repeat(200)}/${'b'.repeat(200)}/x.png`;
    await assert.rejects(origin.write(canonical, { body: Buffer.from('x'), contentType: 'image/png', overwrite: false }), (error: unknown) => {
      assert.ok(isPictorError(error), String(error));
      assert.equal(error.status, 400);
      assert.equal(error.message, "Invalid path: it is too long for the Source's folder; choose shorter names.");
      return true;
    });
    assert.deepEqual(await fs.readdir(root), [], 'nothing was written');
  });
});
