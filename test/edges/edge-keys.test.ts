import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assetScope, prefixScope, sourceScope } from '../../src/cache/freshness.ts';
import { scopesCovering } from '../../src/cache/freshness.ts';
import { edgeKey, edgeKeyHeaders, edgeKeysFor, edgeKeysForPurge, VENDOR_KEYS_MAX_BYTES } from '../../src/edges/edge-keys.ts';

describe('edge keys', () => {
  it('a key is the scope kind and 20 hex digits, whatever the path holds or how long it is', () => {
    const long = `/${'deep/'.repeat(400)}a b,c.jpg`;
    for (const scope of [assetScope('src1', long), prefixScope('src1', '/with space, comma/'), sourceScope('src1')]) {
      const key = edgeKey(scope);
      assert.match(key, /^[aps]-[0-9a-f]{20}$/);
      assert.equal(key[0], scope[0]!.toLowerCase());
    }
    assert.equal(edgeKey(assetScope('s', '/x.jpg')), edgeKey(assetScope('s', '/x.jpg')), 'stable');
    assert.notEqual(edgeKey(assetScope('s', '/x.jpg')), edgeKey(assetScope('t', '/x.jpg')), 'Sources apart');
    assert.notEqual(edgeKey(prefixScope('s', '/x/')), edgeKey(assetScope('s', '/x/')), 'kinds apart');
  });

  it('refuses what is not a freshness scope', () => {
    assert.throws(() => edgeKey('src1:/a.jpg'), /not a freshness scope/);
    assert.throws(() => edgeKey('X:src1'), /not a freshness scope/);
  });

  it('a dep is covered by its Source, itself and every folder above it', () => {
    assert.deepEqual(scopesCovering('src:/a/b/c.jpg'), ['S:src', 'A:src:/a/b/c.jpg', 'P:src:/', 'P:src:/a/', 'P:src:/a/b/']);
    assert.deepEqual(scopesCovering('src:/top.jpg'), ['S:src', 'A:src:/top.jpg', 'P:src:/']);
  });

  it('tags a response with every covering scope of every dep, once each', () => {
    const keys = edgeKeysFor(['src:/a/b/c.jpg', 'src:/a/logo.png']);
    const expected = ['S:src', 'A:src:/a/b/c.jpg', 'P:src:/', 'P:src:/a/', 'P:src:/a/b/', 'A:src:/a/logo.png'].map(edgeKey);
    assert.deepEqual(keys, expected);
    assert.equal(new Set(keys).size, keys.length);
    // A sub-image from another Source brings that Source's keys.
    assert.ok(edgeKeysFor(['src:/c.jpg', 'other:/m.png']).includes(edgeKey(sourceScope('other'))));
  });

  it('a purge of any scope sends a key every derivative under that scope carries', () => {
    const tagged = edgeKeysFor(['src:/photos/2024/cat.jpg']);
    for (const scope of [assetScope('src', '/photos/2024/cat.jpg'), prefixScope('src', '/photos/'), prefixScope('src', '/photos/2024/'), sourceScope('src')]) {
      const [key] = edgeKeysForPurge(scope);
      assert.ok(tagged.includes(key!), scope);
    }
    for (const scope of [prefixScope('src', '/photo'), prefixScope('src', '/videos/'), assetScope('src', '/photos/2024/dog.jpg'), sourceScope('other')]) {
      assert.ok(!tagged.includes(edgeKeysForPurge(scope)[0]!), `${scope} must not reach it`);
    }
  });

  it('Cache-Tag and Surrogate-Key carry the same keys as xkey, comma- and space-separated, when they fit', () => {
    const headers = edgeKeyHeaders(['src:/photos/2024/cat.jpg'], ['sha256:ab']);
    const value = (name: string): string | undefined => headers[headers.indexOf(name) + 1];
    const keys = edgeKeysFor(['src:/photos/2024/cat.jpg'], ['sha256:ab']);
    assert.equal(value('xkey'), keys.join(' '));
    assert.equal(value('cache-tag'), keys.join(','));
    assert.equal(value('surrogate-key'), keys.join(' '));
    assert.ok(!headers.includes('cdn-cache-control') && !headers.includes('surrogate-control'));
  });

  it('beyond the vendors\' limits, drops the deepest folder keys first and keeps those CDNs from caching the response', () => {
    const deep = `src:/${'d/'.repeat(1000)}cat.jpg`;
    const headers = edgeKeyHeaders([deep, 'src:/logo.png'], ['sha256:ab']);
    const value = (name: string): string => headers[headers.indexOf(name) + 1]!;
    const all = edgeKeysFor([deep, 'src:/logo.png'], ['sha256:ab']);
    assert.equal(value('xkey').split(' ').length, all.length, 'Varnish and nginx get every key');
    const tags = value('cache-tag');
    assert.ok(Buffer.byteLength(tags) <= VENDOR_KEYS_MAX_BYTES && Buffer.byteLength(value('surrogate-key')) <= VENDOR_KEYS_MAX_BYTES);
    assert.ok(Buffer.byteLength(tags) > VENDOR_KEYS_MAX_BYTES - 30, 'as many keys as fit');
    assert.equal(tags.split(',').join(' '), value('surrogate-key'));
    const kept = new Set(tags.split(','));
    const folder = (depth: number): string => edgeKey(prefixScope('src', `/${'d/'.repeat(depth)}`));
    for (const scope of [sourceScope('src'), assetScope('src', deep.slice(4)), assetScope('src', '/logo.png'), prefixScope('src', '/')]) {
      assert.ok(kept.has(edgeKey(scope)), `${scope} is kept`);
    }
    assert.ok(kept.has(folder(1)) && kept.has(folder(100)), 'shallow folders are kept');
    assert.ok(!kept.has(folder(1000)) && !kept.has(folder(900)), 'the deepest folders are dropped');
    assert.deepEqual([value('cdn-cache-control'), value('surrogate-control')], ['no-store', 'no-store']);
  });
});
