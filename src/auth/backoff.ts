import type { FailureCount } from '../store/sign-in-failures.ts';

export interface BackoffPolicy {
  /** Failures in a row that cost nothing. */
  freeFailures: number;
  /** The wait after the first failure beyond the free ones; it doubles with each further failure, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterMs: number;
}

/**
 * Exponential backoff on failures, per key (an address, an account, a device), as pure rules over a key's
 * count: where the counts are kept (the store, shared by a cluster's nodes) is the caller's business. Only
 * failures are counted; a success forgets the key.
 */
export class FailureBackoff {
  constructor(private readonly policy: BackoffPolicy) {}

  /** Milliseconds before a key with these failures may try again; 0 when it may now. */
  waitMs(failures: FailureCount | undefined, now: number): number {
    const current = this.current(failures, now);
    if (!current || current.count < this.policy.freeFailures) return 0;
    // 2 ** n is Infinity for a huge n, and Math.min then gives the cap: no overflow to guard.
    const delay = Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** (current.count - this.policy.freeFailures));
    return Math.max(0, current.lastAt + delay - now);
  }

  /** The count after one more failure at `now`. */
  fail(failures: FailureCount | undefined, now: number): FailureCount {
    return { count: (this.current(failures, now)?.count ?? 0) + 1, lastAt: now };
  }

  private current(failures: FailureCount | undefined, now: number): FailureCount | undefined {
    return failures && now - failures.lastAt < this.policy.forgetAfterMs ? failures : undefined;
  }
}
