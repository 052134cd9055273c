/**
 * Callers remembered before refilled buckets are dropped. Callers can be client addresses (the dashboard's
 * sign-in), which anyone can vary: a bucket that has refilled is the same as none, so it need not be kept.
 */
const PRUNE_ABOVE = 10_000;

/**
 * A token bucket per caller: `ratePerSecond` tokens a second, up to `burst` saved. `take` answers how many
 * seconds to wait when the bucket is empty (for `Retry-After`), or 0 when the call may proceed.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(
    private readonly ratePerSecond: number,
    burst?: number,
  ) {
    this.burst = Math.max(1, burst ?? ratePerSecond);
  }

  take(caller: string, now = Date.now()): number {
    if (this.buckets.size >= PRUNE_ABOVE && !this.buckets.has(caller)) this.prune(now);
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    this.buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }

  /** Callers with a bucket that has not refilled yet. */
  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    for (const [caller, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(caller);
    }
  }
}
