import { LeasedRateLimiter } from '../auth/leased-rate-limiter.js';
import type { Limiter, RateAuthority } from '../auth/rate-authority.js';
import { RateLimiter } from '../auth/rate-limiter.js';
import { RedisRateAuthority } from '../auth/redis-rate-authority.js';
import type { LimitsConfig } from '../config/types.js';
import type { SharedState } from './redis.js';

/** The per-sensor limits of the ingest API: where their buckets live, and what the server takes from. */
export interface RateLimiters {
  requestLimiter: Limiter;
  eventLimiter: Limiter;
  requestAuthority: RateAuthority;
  eventAuthority: RateAuthority;
}

/**
 * Without shared state the buckets are in this process and the server takes from them
 * directly. With Redis every take would be a round trip, so the server takes from a
 * LeasedRateLimiter that fetches a tenth of a second of the rate at a time.
 */
export function createRateLimiters(limits: LimitsConfig, shared: SharedState | undefined): RateLimiters {
  const requests = { rate: limits.per_sensor_rps, burst: limits.per_sensor_burst };
  // A batch may hold max_events_per_batch events: the bucket must be able to hold one whole batch.
  const events = { rate: limits.per_sensor_events_rps, burst: Math.max(limits.per_sensor_events_rps, limits.max_events_per_batch) };
  if (shared === undefined) {
    const requestLimiter = new RateLimiter(requests.rate, requests.burst);
    const eventLimiter = new RateLimiter(events.rate, events.burst);
    return { requestLimiter, eventLimiter, requestAuthority: requestLimiter, eventAuthority: eventLimiter };
  }
  const requestAuthority = new RedisRateAuthority(shared, 'requests', requests.rate, requests.burst);
  const eventAuthority = new RedisRateAuthority(shared, 'events', events.rate, events.burst);
  return {
    requestLimiter: new LeasedRateLimiter(requestAuthority, leaseSize(requests.rate)),
    eventLimiter: new LeasedRateLimiter(eventAuthority, leaseSize(events.rate)),
    requestAuthority,
    eventAuthority,
  };
}

/**
 * Tokens an instance takes beyond the current need: a tenth of a second of the rate, so a
 * busy sensor costs about ten Redis round trips a second per instance. Below 10/s that is
 * under one token, and each take asks Redis (few requests, exact sharing).
 */
export function leaseSize(ratePerSecond: number): number {
  return ratePerSecond >= 10 ? Math.floor(ratePerSecond / 10) : 0;
}
