import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../src/cache/coalescer.ts';
import { assetRef, assetScope, Freshness, prefixScope, sourceScope } from '../../src/cache/freshness.ts';

const SOURCE = 'a'.repeat(24);
const photo = assetRef(SOURCE, '/dir/photo.jpg');
const logo = assetRef(SOURCE, '/logo.png');

describe('Freshness', () => {
  it('an entry built before a purge of its asset is stale; one built after is fresh', () => {
    const freshness = new Freshness();
    const before = freshness.current();
    freshness.bump([assetScope(SOURCE, '/dir/photo.jpg')]);
    assert.equal(freshness.isFresh([photo], before), false);
    assert.equal(freshness.isFresh([logo], before), true, 'other assets are untouched');
    assert.equal(freshness.isFresh([photo], freshness.current()), true);
  });

  it('a purge of any dependency (a sub-image) makes the entry stale', () => {
    const freshness = new Freshness();
    const builtAt = freshness.current();
    freshness.bump([assetScope(SOURCE, '/logo.png')]);
    assert.equal(freshness.isFresh([photo, logo], builtAt), false);
  });

  it('prefix and whole-Source purges cover every asset under them', () => {
    const freshness = new Freshness();
    const builtAt = freshness.current();
    freshness.bump([prefixScope(SOURCE, '/dir/')]);
    assert.equal(freshness.isFresh([photo], builtAt), false);
    assert.equal(freshness.isFresh([logo], builtAt), true);
    freshness.bump([sourceScope(SOURCE)]);
    assert.equal(freshness.isFresh([logo], builtAt), false);
    assert.equal(freshness.isFresh([assetRef('b'.repeat(24), '/logo.png')], builtAt), true);
  });

  it('restarts above every reserved number, so a recovered purge outranks entries written before a crash', () => {
    const reservations: number[] = [];
    const first = new Freshness([], 0, (upTo) => reservations.push(upTo));
    first.bump(['A:x']);
    const writtenBeforeCrash = first.current(); // a render started after an unpersisted bump
    assert.deepEqual(reservations, [1000]);
    const restarted = new Freshness([], reservations.at(-1)!);
    restarted.bump([assetScope(SOURCE, '/dir/photo.jpg')]); // the recovered purge
    assert.equal(restarted.isFresh([photo], writtenBeforeCrash), false);
  });

  it('reserves once per thousand purges, not once per purge', () => {
    let writes = 0;
    const freshness = new Freshness([], 0, () => writes++);
    for (let i = 0; i < 2500; i++) freshness.bump([`A:${i}`]);
    assert.equal(writes, 3);
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
    freshness.bump([assetScope(SOURCE, '/dir/photo.jpg')]);
    const second = coalescer.run('k', [photo], async () => 'new');
    assert.equal(second.joined, false);
    assert.equal(await second.promise, 'new');
    release();
    assert.equal(await first.promise, 'old');
  });
});
