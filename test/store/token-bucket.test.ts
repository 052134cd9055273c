import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../src/store/sqlite/token-bucket.ts';

describe('RateLimiter', () => {
  it('limits each caller to its burst, then to its rate', () => {
    const limiter = new RateLimiter(2, 2);
    assert.equal(limiter.take('a', 0), 0);
    assert.equal(limiter.take('a', 0), 0);
    assert.ok(limiter.take('a', 0) >= 1, 'the third call waits');
    assert.equal(limiter.take('b', 0), 0, 'another caller has its own bucket');
    assert.equal(limiter.take('a', 600), 0, 'a token is back after half a second');
  });

  it('forgets callers whose buckets have refilled, so varying callers cannot grow it without bound', () => {
    const limiter = new RateLimiter(5 / 60, 5);
    for (let i = 0; i < 30_000; i++) limiter.take(`client-${i}`, i * 10); // 100 new addresses a second
    // Each bucket refills within a minute: only the callers of about the last minute need to be kept.
    assert.ok(limiter.size <= 10_000, `${limiter.size} callers kept`);
  });

  it('keeps the callers that are still limited', () => {
    const limiter = new RateLimiter(5 / 60, 5);
    for (let n = 0; n < 5; n++) limiter.take('attacker', 0);
    for (let i = 0; i < 20_000; i++) limiter.take(`client-${i}`, 1000);
    assert.ok(limiter.take('attacker', 2000) >= 1, 'still limited after many other callers came and went');
  });
});
