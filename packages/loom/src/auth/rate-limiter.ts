import type { Grant, Limiter, RateAuthority } from './rate-authority.js';

/**
 * Per-key token buckets. Unlike a fixed one-second window, a bucket cannot be drained twice
 * across a window edge, and it tells the client exactly when the next request would pass.
 */
export class RateLimiter implements Limiter, RateAuthority {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  /**
   * @param ratePerSecond tokens added per second; <= 0 disables limiting
   * @param burst bucket capacity (requests that may arrive at once after a quiet period)
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  /**
   * Takes `cost` tokens for `key`. Returns 0 when allowed, else the seconds to wait before
   * the same request would be allowed (at least 1, as Retry-After is in whole seconds).
   */
  take(key: string, cost = 1): number {
    return this.grant(key, cost, cost).retryAfterSeconds;
  }

  /** Takes up to `max` tokens if at least `min` are there (see RateAuthority.grant). */
  grant(key: string, min: number, max: number): Grant {
    if (!this.enabled) return { granted: max, retryAfterSeconds: 0 };
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.ratePerSecond;
      bucket.tokens = Math.min(this.burst, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= min) {
      const granted = Math.max(min, Math.min(max, Math.floor(bucket.tokens)));
      bucket.tokens -= granted;
      return { granted, retryAfterSeconds: 0 };
    }
    // A cost above the burst can never be met at once; it waits for a full bucket.
    const missing = Math.min(min, this.burst) - bucket.tokens;
    return { granted: 0, retryAfterSeconds: Math.max(1, Math.ceil(missing / this.ratePerSecond)) };
  }

  /** Forgets keys that are no longer valid (sensors removed by a token reload). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.buckets.keys()) if (!keys.has(key)) this.buckets.delete(key);
  }
}
