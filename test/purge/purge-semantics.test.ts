import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PictorError } from '../../src/errors.ts';
import type { Origin } from '../../src/sources/origin.ts';
import { heldOrigin } from '../helpers/held-origin.ts';
import { eventually, meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];

function near(actual: number[], expected: number[]): boolean {
  return actual.every((value, i) => Math.abs(value - expected[i]!) < 20);
}

describe('Purging: every derivative and cached error of an asset, exactly that asset', () => {
  let t: TestPictor;
  const origin = heldOrigin();
  before(async () => {
    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(300, 200, RED), 'image file.jpg': await solidImage(60, 40, RED), 'image+file.jpg': await solidImage(60, 40, RED) },
      hooks: { originInterceptor: origin.interceptor },
    });
  });
  after(() => t.stop());

  const variants = ['/photo.jpg', '/photo.jpg?w=100', '/photo.jpg?w=50&h=50&fit=crop', '/photo.jpg?fm=png', '/photo.jpg?w=120&fm=webp'];

  it('a replaced asset: every derivative shows the new version after the purge completes', async () => {
    for (const variant of variants) {
      const first = await rawGet(t.renderPort, variant);
      assert.equal(first.status, 200, variant);
      assert.ok(near(await meanColour(first.body), RED), variant);
      const again = await rawGet(t.renderPort, variant);
      assert.match(String(again.headers['cache-status']), /^Pictor; hit/, `${variant} is cached`);
    }
    await t.put('photo.jpg', await solidImage(300, 200, BLUE));
    // Not yet purged: the cache still serves the old version, as a CDN does.
    assert.ok(near(await meanColour((await rawGet(t.renderPort, '/photo.jpg?w=100')).body), RED));

    const status = await t.purgeAndWait(`${t.renderUrl}/photo.jpg`);
    assert.equal(status.status, 'completed');
    assert.equal(status.origin, 'replaced');
    assert.ok(Number(status.matched) >= variants.length, `matched ${status.matched}`);
    for (const variant of variants) {
      const response = await rawGet(t.renderPort, variant);
      assert.equal(response.status, 200);
      assert.ok(near(await meanColour(response.body), BLUE), `${variant} is the new version`);
      assert.match(String(response.headers['cache-status']), /fwd=miss/);
    }
  });

  it('an unchanged origin is reported as such, and derivatives are still rendered again', async () => {
    await rawGet(t.renderPort, '/photo.jpg?w=77');
    const status = await t.purgeAndWait(`${t.renderUrl}/photo.jpg`);
    assert.equal(status.origin, 'unchanged');
    const response = await rawGet(t.renderPort, '/photo.jpg?w=77');
    assert.match(String(response.headers['cache-status']), /fwd=miss/);
  });

  it('a removed asset gives 404 after the purge, and a cached 404 is purged too', async () => {
    await t.put('gone.jpg', await solidImage(30, 30, RED));
    assert.equal((await rawGet(t.renderPort, '/gone.jpg?w=10')).status, 200);
    await t.remove('gone.jpg');
    assert.equal((await t.purgeAndWait(`${t.renderUrl}/gone.jpg`)).origin, 'removed');
    const missing = await rawGet(t.renderPort, '/gone.jpg?w=10');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['cache-control']), /max-age=300/);
    const cached = await rawGet(t.renderPort, '/gone.jpg?w=10');
    assert.equal(cached.status, 404);
    assert.match(String(cached.headers['cache-status']), /^Pictor; hit/, 'the 404 is cached');

    await t.put('gone.jpg', await solidImage(30, 30, BLUE));
    assert.equal((await rawGet(t.renderPort, '/gone.jpg?w=10')).status, 404, 'still the cached 404 until purged');
    await t.purgeAndWait(`${t.renderUrl}/gone.jpg`);
    const back = await rawGet(t.renderPort, '/gone.jpg?w=10');
    assert.equal(back.status, 200);
    assert.ok(near(await meanColour(back.body), BLUE));
  });

  it('matches the exact path: image%20file.png is not image+file.png; a raw space is %20; the query is ignored', async () => {
    for (const path of ['/image%20file.jpg?w=20', '/image+file.jpg?w=20']) await rawGet(t.renderPort, path);
    await t.put('image file.jpg', await solidImage(60, 40, BLUE));
    await t.put('image+file.jpg', await solidImage(60, 40, BLUE));

    await t.purgeAndWait(`${t.renderUrl}/image file.jpg?w=999`);
    const space = await rawGet(t.renderPort, '/image%20file.jpg?w=20');
    assert.ok(near(await meanColour(space.body), BLUE), 'the space-named asset was purged');
    const plus = await rawGet(t.renderPort, '/image+file.jpg?w=20');
    assert.match(String(plus.headers['cache-status']), /^Pictor; hit/, 'the plus-named asset was not');
    assert.ok(near(await meanColour(plus.body), RED));

    await t.purgeAndWait(`${t.renderUrl}/image+file.jpg`);
    assert.ok(near(await meanColour((await rawGet(t.renderPort, '/image%2Bfile.jpg?w=20')).body), BLUE), '%2B and + name the same file');
  });

  it('a purge that matches nothing still completes, with matched 0', async () => {
    const status = await t.purgeAndWait(`${t.renderUrl}/never-requested.jpg`);
    assert.equal(status.status, 'completed');
    assert.equal(status.matched, 0);
    assert.equal(status.origin, 'removed');
    assert.ok(origin.reads() > 0);
  });
});

describe('Race safety: a fetch that started before a purge never lands in a cache after it', () => {
  let t: TestPictor;
  const origin = heldOrigin();
  before(async () => {
    t = await startPictor({ assets: { 'race.jpg': await solidImage(80, 60, RED) }, hooks: { originInterceptor: origin.interceptor } });
  });
  after(() => t.stop());

  it('holds an origin read open across a completed purge', async () => {
    const held = origin.holdNext();
    // Released in `finally`: an assertion that fails while the read is held must fail the test, not hang it.
    try {
      const early = rawGet(t.renderPort, '/race.jpg?w=40'); // reads the old bytes, then waits
      await eventually(() => held.waiting() > 0);

      await t.put('race.jpg', await solidImage(80, 60, BLUE));
      const status = await t.purgeAndWait(`${t.renderUrl}/race.jpg`);
      assert.equal(status.status, 'completed');

      // A request that starts after the purge completed must not join the held render.
      const late = await rawGet(t.renderPort, '/race.jpg?w=40');
      assert.ok(near(await meanColour(late.body), BLUE), 'a request after the purge sees the new version');
      assert.doesNotMatch(String(late.headers['cache-status']), /collapsed/);
      assert.match(String(late.headers['cache-status']), /stored/);
      const readsBeforeRelease = origin.reads();

      held.open();
      const earlyResponse = await early;
      assert.ok(near(await meanColour(earlyResponse.body), RED), 'the held request answers with what it read');
      // Its write is refused (compare-and-set against the purge), not merely hidden from later reads: it
      // does not say `stored`, and the good entry stored by the later request is still the one served.
      assert.doesNotMatch(String(earlyResponse.headers['cache-status']), /stored/);
      const next = await rawGet(t.renderPort, '/race.jpg?w=40');
      assert.match(String(next.headers['cache-status']), /^Pictor; hit/, 'the later, good entry was not overwritten');
      assert.ok(near(await meanColour(next.body), BLUE));
      // Nor did the held read store its master over the new one: a new size renders from the cached master.
      const otherSize = await rawGet(t.renderPort, '/race.jpg?w=33');
      assert.ok(near(await meanColour(otherSize.body), BLUE));
      assert.equal(origin.reads(), readsBeforeRelease, 'the new master was still cached: no origin read');

      const original = await rawGet(t.renderPort, '/race.jpg');
      assert.ok(near(await meanColour(original.body), BLUE), 'the old master was not cached either');
      assert.ok(origin.reads() >= 2);
    } finally {
      held.open();
    }
  });
});

describe('An origin that cannot be asked: the purge takes effect and completes, its verdict unknown', () => {
  let t: TestPictor;
  let down = false;
  before(async () => {
    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(80, 60, RED) },
      hooks: {
        originInterceptor: (origin): Origin => ({
          fetch: async (path, validators) => {
            if (down) throw new PictorError('ORIGIN_UNAVAILABLE', 'The origin did not answer within 0.5 s.');
            return origin.fetch(path, validators);
          },
        }),
      },
    });
  });
  after(() => t.stop());

  it('reports origin "unknown" with the reason, and never serves what it purged', async () => {
    assert.ok(near(await meanColour((await rawGet(t.renderPort, '/photo.jpg?w=40')).body), RED));
    await t.put('photo.jpg', await solidImage(80, 60, BLUE));
    down = true;
    try {
      const accepted = await t.purge(`${t.renderUrl}/photo.jpg`);
      assert.equal(accepted.status, 200);
      const id = accepted.body.data!.id;
      // In effect from the acknowledgement, while the verdict is still being asked: nothing cached is served.
      const during = await rawGet(t.renderPort, '/photo.jpg?w=40');
      assert.notEqual(during.status, 200, 'not the purged derivative from the cache');
      await eventually(async () => (await t.purgeStatus(id)).status !== 'pending', 15_000);
      const status = await t.purgeStatus(id);
      assert.equal(status.status, 'completed');
      assert.equal(status.origin, 'unknown');
      assert.match(String(status.origin_error), /did not answer within 0\.5 s/);
      assert.equal(status.error, null);
    } finally {
      down = false;
    }
    const served = await rawGet(t.renderPort, '/photo.jpg?w=40');
    assert.ok(near(await meanColour(served.body), BLUE), 'the new version, once the origin answers');
    assert.match(String(served.headers['cache-status']), /fwd=miss/);
  });
});
