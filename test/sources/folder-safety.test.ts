import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalPath } from '../../src/sources/asset-path.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

describe('canonical asset paths', () => {
  it('decodes once and re-encodes with the imgix builders’ rules', () => {
    assert.equal(canonicalPath('/a b.jpg'), '/a%20b.jpg');
    assert.equal(canonicalPath('/a%20b.jpg'), '/a%20b.jpg');
    assert.equal(canonicalPath('/a+b.jpg'), '/a%2Bb.jpg');
    assert.equal(canonicalPath('/a%2bb.jpg'), '/a%2Bb.jpg');
    assert.equal(canonicalPath('/%C3%BCn%C3%AF.jpg'), '/%C3%BCn%C3%AF.jpg');
    assert.equal(canonicalPath('/ünï.jpg'), '/%C3%BCn%C3%AF.jpg');
    assert.equal(canonicalPath('/a%2520b.jpg'), '/a%2520b.jpg', 'decoded exactly once');
    assert.equal(canonicalPath('//dir///x.png'), '/dir/x.png');
    assert.notEqual(canonicalPath('/image%20file.png'), canonicalPath('/image+file.png'));
  });

  it('refuses traversal, NUL and malformed escapes', () => {
    for (const bad of ['/../x', '/a/%2e%2e/x', '/a/%2E%2E/%2E%2E/x', '/x%00.jpg', '/x%zz', '/x%c3%28', '/./x']) {
      assert.throws(() => canonicalPath(bad), /Invalid path/, bad);
    }
  });
});

describe('a folder Source never serves anything outside its root', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'inside.png': await solidImage(4, 4, [9, 9, 9], 'png') } });
    const outside = path.join(path.dirname(t.assetsDir), 'secret.txt');
    await fs.writeFile(outside, 'top secret');
    await fs.symlink(outside, path.join(t.assetsDir, 'link.txt'));
    await fs.symlink(path.dirname(t.assetsDir), path.join(t.assetsDir, 'up'));
    await fs.symlink(path.join(t.assetsDir, 'inside.png'), path.join(t.assetsDir, 'alias.png'));
  });
  after(() => t.stop());

  for (const attack of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/a/..%2F..%2Fsecret.txt', '/link.txt', '/up/secret.txt', '/inside.png%00.txt', '/x%ff.png']) {
    it(`4xx for ${attack}`, async () => {
      const response = await rawGet(t.renderPort, attack);
      assert.ok(response.status >= 400 && response.status < 500, `${attack} → ${response.status}`);
      assert.doesNotMatch(response.body.toString(), /top secret/);
    });
  }

  it('still follows a symlink that stays inside the root', async () => {
    assert.equal((await rawGet(t.renderPort, '/alias.png')).status, 200);
  });
});
