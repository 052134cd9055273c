import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../src/cache/coalescer.ts';
import { assetRef, assetScope, Freshness, prefixScope, sourceScope } from '../../src/cache/freshness.ts';

const SOURCE = 'a'.repeat(24);
const photo = assetRef(SOURCE, '/dir/photo.jpg');

/** A purge of `scope`, numbered after every one applied so far (as the log numbers them). */
function purge(freshness: Freshness, scope: string): void {
  freshness.applyAt([scope], freshness.current() + 1);
}
const logo = assetRef(SOURCE, '/logo.png');

describe('Freshness', () => {
  it('an entry built before a purge of its asset is stale; one built after is fresh', () => {
    const freshness = new Freshness();
    const before = freshness.current();
    purge(freshness, assetScope(SOURCE, '/dir/photo.jpg'));
    assert.equal(freshness.isFresh([photo], before), false);
    assert.equal(freshness.isFresh([logo], before), true, 'other assets are untouched');
    assert.equal(freshness.isFresh([photo], freshness.current()), true);
  });

  it('a purge of any dependency (a sub-image) makes the entry stale', () => {
    const freshness = new Freshness();
    const builtAt = freshness.current();
    purge(freshness, assetScope(SOURCE, '/logo.png'));
    assert.equal(freshness.isFresh([photo, logo], builtAt), false);
  });

  it('prefix and whole-Source purges cover every asset under them', () => {
    const freshness = new Freshness();
    const builtAt = freshness.current();
    purge(freshness, prefixScope(SOURCE, '/dir/'));
    assert.equal(freshness.isFresh([photo], builtAt), false);
    assert.equal(freshness.isFresh([logo], builtAt), true);
    purge(freshness, sourceScope(SOURCE));
    assert.equal(freshness.isFresh([logo], builtAt), false);
    assert.equal(freshness.isFresh([assetRef('b'.repeat(24), '/logo.png')], builtAt), true);
  });

  it('applies purges in any order: each scope keeps its newest number, and what started after both stays fresh', () => {
    const freshness = new Freshness([], 10);
    const builtAt = freshness.current();
    freshness.applyAt([assetScope(SOURCE, '/logo.png')], 12); // this node's own purge, applied as it was logged
    const afterBoth = freshness.current();
    freshness.applyAt([assetScope(SOURCE, '/dir/photo.jpg')], 11); // another node's, logged just before it
    freshness.applyAt([assetScope(SOURCE, '/logo.png')], 11); // and one that reached the log before the newest
    assert.equal(freshness.current(), 12);
    assert.equal(freshness.isFresh([photo], builtAt), false);
    assert.equal(freshness.isFresh([logo], 11), false, 'the newest mark of the scope holds');
    assert.equal(freshness.isFresh([photo, logo], afterBoth), true);
  });
});

describe('Coalescer', () => {
  it('runs one task for concurrent identical keys', async () => {
    const coalescer = new Coalescer<number>(new Freshness());
    let runs = 0;
    const task = async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return 42;
    };
    const calls = Array.from({ length: 5 }, () => coalescer.run('k', [photo], task));
    assert.deepEqual(await Promise.all(calls.map((call) => call.promise)), [42, 42, 42, 42, 42]);
    assert.equal(runs, 1);
    assert.deepEqual(calls.map((call) => call.joined), [false, true, true, true, true]);
  });

  it('never lets a caller join work that started before a purge of its deps', async () => {
    const freshness = new Freshness();
    const coalescer = new Coalescer<string>(freshness);
    let release!: () => void;
    const first = coalescer.run('k', [photo], () => new Promise((resolve) => (release = () => resolve('old'))));
    purge(freshness, assetScope(SOURCE, '/dir/photo.jpg'));
    const second = coalescer.run('k', [photo], async () => 'new');
    assert.equal(second.joined, false);
    assert.equal(await second.promise, 'new');
    release();
    assert.equal(await first.promise, 'old');
  });
});
