import type { Redis } from 'ioredis';
import type { SharedState } from '../shared-state/redis.js';
import type { Grant, RateAuthority } from './rate-authority.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * The token bucket of RateLimiter.grant, run inside Redis so that the read, refill and take
 * are one atomic step for every instance. The clock is the Redis server's (TIME), so
 * instances whose clocks disagree still refill the bucket at exactly the configured rate.
 *
 * KEYS[1] bucket (hash: tokens, at = microseconds); ARGV: rate/s, burst, min, max, expiry ms.
 * Returns { granted, retry-after seconds, thousandths of the tokens left (rounded up) }.
 */
const GRANT_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local min = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  -- A server clock that stepped back (a failover) refills nothing rather than draining.
  tokens = math.min(burst, tokens + (now - at) / 1000000 * rate)
end
local granted = 0
local retry = 0
if tokens >= min then
  granted = math.max(min, math.min(max, math.floor(tokens)))
  tokens = tokens - granted
else
  -- A cost above the burst can never be met at once; it waits for a full bucket.
  retry = math.max(1, math.ceil((math.min(min, burst) - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.0f', math.max(now, at or 0)))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return { granted, retry, math.ceil(tokens * 1000) }
`;

/** Buckets untouched this long are full again; keeping them longer would only use memory. */
const MIN_EXPIRY_MS = 5_000;

interface GrantCommand {
  loomRateGrant(key: string, rate: number, burst: number, min: number, max: number, expiryMs: number): Promise<[number, number, number]>;
}

/**
 * A RateAuthority whose buckets live in Redis, shared by every Loom instance using the same
 * Redis and key prefix: one sensor gets its configured rate in total, however a load
 * balancer spreads its requests. Keys are `<prefix>rate:<name>:<sensor id>` and expire
 * once a bucket would be full again anyway.
 *
 * When Redis fails or does not answer within shared_state.timeout_ms, an in-memory
 * RateLimiter with the same rate and burst decides instead: each instance then limits on
 * its own (up to N× the rate over N instances) rather than refusing every sensor's data.
 */
export class RedisRateAuthority implements RateAuthority {
  private readonly fallback: RateLimiter;
  /**
   * What each bucket held after the last answer, and when the question was sent. Other
   * instances only ever take from a bucket, so this plus the refill since is an upper
   * bound of what it holds now: a request for more is refused here without asking. A
   * sensor far over its limit then costs one Redis command per refill of its cost, not
   * one per request, and nothing is refused that Redis would have granted.
   */
  private readonly lastHeard = new Map<string, { tokens: number; at: number }>();
  /** The connection lastHeard was learnt on (see SharedState.epoch). */
  private heardOn = 0;
  private readonly expiryMs: number;
  private readonly keyPrefix: string;

  /**
   * @param name the limiter's name in keys and metrics (requests, events)
   */
  constructor(
    private readonly shared: SharedState,
    readonly name: string,
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.fallback = new RateLimiter(ratePerSecond, burst);
    this.expiryMs = ratePerSecond > 0 ? Math.max(MIN_EXPIRY_MS, Math.ceil((2 * 1000 * burst) / ratePerSecond)) : MIN_EXPIRY_MS;
    this.keyPrefix = `${shared.keyPrefix}rate:${name}:`;
    defineGrant(shared.client);
  }

  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  grant(key: string, min: number, max: number): Grant | Promise<Grant> {
    if (!this.enabled) return { granted: max, retryAfterSeconds: 0 };
    // While disconnected every command would fail at once; skip the attempt, not the count.
    if (!this.shared.up) return this.decideLocally(key, min, max, new Error('not connected'));
    if (this.heardOn !== this.shared.epoch) {
      this.lastHeard.clear();
      this.heardOn = this.shared.epoch;
    }
    const heard = this.lastHeard.get(key);
    if (heard !== undefined) {
      const atMost = Math.min(this.burst, heard.tokens + ((this.now() - heard.at) / 1000) * this.ratePerSecond);
      if (atMost < min) return { granted: 0, retryAfterSeconds: Math.max(1, Math.ceil((Math.min(min, this.burst) - atMost) / this.ratePerSecond)) };
      // Full again: nothing more to learn from it (and the map stays small).
      if (atMost >= this.burst) this.lastHeard.delete(key);
    }
    return this.ask(key, min, max);
  }

  /** Redis keys expire on their own; only the local fallback's buckets need forgetting. */
  retain(keys: ReadonlySet<string>): void {
    this.fallback.retain(keys);
    for (const key of this.lastHeard.keys()) if (!keys.has(key)) this.lastHeard.delete(key);
  }

  private async ask(key: string, min: number, max: number): Promise<Grant> {
    // Taken before sending: the script runs later, so counting the refill from here overestimates it, never under.
    const sentAt = this.now();
    try {
      const client = this.shared.client as unknown as GrantCommand;
      const [granted, retryAfterSeconds, milliTokens] = await client.loomRateGrant(this.keyPrefix + key, this.ratePerSecond, this.burst, min, max, this.expiryMs);
      this.lastHeard.set(key, { tokens: milliTokens / 1000, at: sentAt });
      return { granted, retryAfterSeconds };
    } catch (error) {
      return this.decideLocally(key, min, max, error);
    }
  }

  private decideLocally(key: string, min: number, max: number, error: unknown): Grant {
    this.shared.failed(`rate_${this.name}`, error);
    return this.fallback.grant(key, min, max);
  }
}

/** ioredis sends the script by its SHA1 and resends the text once when Redis answers NOSCRIPT. */
function defineGrant(client: Redis): void {
  if ('loomRateGrant' in client) return;
  client.defineCommand('loomRateGrant', { numberOfKeys: 1, lua: GRANT_SCRIPT });
}
