import type { Limiter, RateAuthority } from './rate-authority.js';

/**
 * Takes tokens from a remote authority (the primary process, or Redis) in small leases and
 * spends them locally, so most requests are decided without a round trip while the sum over
 * all holders can never exceed the authority's bucket. What a holder has leased but not yet
 * spent is at most `leaseSize` per key; a sensor whose traffic moves to another holder
 * leaves that much behind, which bounds the error to one lease per holder.
 */
export class LeasedRateLimiter implements Limiter {
  private readonly leases = new Map<string, number>();

  /**
   * @param leaseSize tokens taken beyond the current need, when there are that many;
   *   a tenth of a second of the rate keeps round trips rare without hoarding
   */
  constructor(
    private readonly authority: RateAuthority,
    private readonly leaseSize: number,
  ) {}

  take(key: string, cost = 1): number | Promise<number> {
    if (!this.authority.enabled) return 0;
    const held = this.leases.get(key) ?? 0;
    if (held >= cost) {
      this.leases.set(key, held - cost);
      return 0;
    }
    return this.refill(key, cost);
  }

  private async refill(key: string, cost: number): Promise<number> {
    // The small remainder held stays held: counting it towards this cost would race with
    // other requests spending it while the grant is on its way.
    const grant = await this.authority.grant(key, cost, cost + this.leaseSize);
    if (grant.granted < cost) return Math.max(1, grant.retryAfterSeconds);
    this.leases.set(key, (this.leases.get(key) ?? 0) + grant.granted - cost);
    return 0;
  }

  retain(keys: ReadonlySet<string>): void {
    for (const key of this.leases.keys()) if (!keys.has(key)) this.leases.delete(key);
    this.authority.retain(keys);
  }
}
