export interface BackoffPolicy {
  /** Failures in a row that cost nothing. */
  freeFailures: number;
  /** The wait after the first failure beyond the free ones; it doubles with each further failure, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterMs: number;
  /** The most keys remembered; past it, the key whose last failure is oldest is forgotten. */
  maxKeys: number;
}

interface Failures {
  count: number;
  lastAt: number;
}

/**
 * Exponential backoff on failures, per key (an address, an account, a device). Only failures are remembered:
 * a key that never failed costs no memory, and `reset` (a success) forgets a key. The map is kept in order
 * of last failure, so bounding it drops the key that has been quiet longest.
 */
export class FailureBackoff {
  private readonly keys = new Map<string, Failures>();

  constructor(private readonly policy: BackoffPolicy) {}

  /** Milliseconds before `key` may try again; 0 when it may now. */
  waitMs(key: string, now: number): number {
    const failures = this.current(key, now);
    if (!failures || failures.count < this.policy.freeFailures) return 0;
    // 2 ** n is Infinity for a huge n, and Math.min then gives the cap: no overflow to guard.
    const delay = Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** (failures.count - this.policy.freeFailures));
    return Math.max(0, failures.lastAt + delay - now);
  }

  fail(key: string, now: number): void {
    const count = (this.current(key, now)?.count ?? 0) + 1;
    this.keys.delete(key);
    this.keys.set(key, { count, lastAt: now });
    if (this.keys.size > this.policy.maxKeys) this.keys.delete(this.keys.keys().next().value!);
  }

  reset(key: string): void {
    this.keys.delete(key);
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.keys.size;
  }

  private current(key: string, now: number): Failures | undefined {
    const failures = this.keys.get(key);
    if (failures && now - failures.lastAt >= this.policy.forgetAfterMs) {
      this.keys.delete(key);
      return undefined;
    }
    return failures;
  }
}
