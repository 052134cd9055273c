import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailureCount } from '../../src/store/sign-in-failures.ts';
import type { Stores } from '../../src/store/stores.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const BACKENDS = storeBackends('sign_in_failures');

/** One more failure for every key, unless a key has `limit` already: the shape of the limiter's admission. */
function failUnder(limit: number, now: number) {
  return (current: (FailureCount | undefined)[]) => {
    if (current.some((count) => (count?.count ?? 0) >= limit)) return { write: undefined, result: false };
    return { write: current.map((count) => ({ count: (count?.count ?? 0) + 1, lastAt: now })), result: true };
  };
}

for (const backend of BACKENDS) {
  describe(`sign-in failure counts: ${backend.name}`, () => {
    const open = async (): Promise<{ first: Stores; second: Stores }> => {
      const fresh = await backend.fresh();
      return { first: await fresh.open(), second: await fresh.open() };
    };

    it('counts what the decision writes, per key, and reads it back in the order asked', async () => {
      const { first } = await open();
      const seen: (FailureCount | undefined)[][] = [];
      const decide = (current: (FailureCount | undefined)[]) => {
        seen.push(current);
        return { write: current.map((count) => ({ count: (count?.count ?? 0) + 1, lastAt: 1_000 })), result: 'ok' };
      };
      assert.equal(await first.signInFailures.update(['address:a', 'account:x'], 0, decide), 'ok');
      await first.signInFailures.update(['account:x'], 0, decide);
      await first.signInFailures.update(['account:x', 'address:a'], 0, decide);
      assert.deepEqual(seen, [[undefined, undefined], [{ count: 1, lastAt: 1_000 }], [{ count: 2, lastAt: 1_000 }, { count: 1, lastAt: 1_000 }]]);
      assert.equal(await first.signInFailures.size('address:'), 1);
      assert.equal(await first.signInFailures.size('account:'), 1);
      assert.equal(await first.signInFailures.size('device:'), 0);
    });

    it('a refusal writes nothing; a success forgets the keys; counts at or before forgetBefore are dropped', async () => {
      const { first } = await open();
      const failures = first.signInFailures;
      assert.equal(await failures.update(['k'], 0, () => ({ write: undefined, result: 1 })), 1);
      assert.equal(await failures.size('k'), 0);
      await failures.update(['k', 'j'], 0, failUnder(10, 5_000));
      await failures.forget(['k']);
      assert.equal(await failures.size('k'), 0);
      assert.equal(await failures.size('j'), 1);
      const read: (FailureCount | undefined)[][] = [];
      await failures.update(['j'], 5_000, (current) => (read.push(current), { write: undefined, result: undefined }));
      assert.deepEqual(read, [[undefined]]);
      assert.equal(await failures.size('j'), 0);
    });

    it('attempts sent together through two handles (two nodes) never pass on the same count', async () => {
      const { first, second } = await open();
      const attempts = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? first : second).signInFailures.update(['address:192.0.2.1', 'account:admin'], 0, failUnder(10, 1_000)),
      );
      const admitted = (await Promise.all(attempts)).filter(Boolean).length;
      assert.equal(admitted, 10);
      const counts: (FailureCount | undefined)[][] = [];
      await first.signInFailures.update(['address:192.0.2.1', 'account:admin'], 0, (current) => (counts.push(current), { write: undefined, result: 0 }));
      assert.deepEqual(counts, [[{ count: 10, lastAt: 1_000 }, { count: 10, lastAt: 1_000 }]]);
    });
  });
}
