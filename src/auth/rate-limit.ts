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
}
