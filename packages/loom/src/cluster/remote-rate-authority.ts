import type { Grant, RateAuthority } from '../auth/rate-authority.js';
import type { Channel } from './channel.js';
import { requests, type GrantBody, type LimiterName } from './protocol.js';

/** A rate-limit bucket kept by the primary, so that every ingest process spends one budget per sensor. */
export class RemoteRateAuthority implements RateAuthority {
  constructor(
    private readonly channel: Channel,
    private readonly limiter: LimiterName,
    readonly enabled: boolean,
  ) {}

  async grant(key: string, min: number, max: number): Promise<Grant> {
    const body: GrantBody = { limiter: this.limiter, key, min, max };
    try {
      return await this.channel.request<Grant>(requests.grant, body);
    } catch {
      // Only when the primary is gone; the batch cannot be delivered then anyway, and the
      // delivery's own error is the one the client should see.
      return { granted: max, retryAfterSeconds: 0 };
    }
  }

  /** The primary forgets removed sensors in its own buckets. */
  retain(): void {}
}
