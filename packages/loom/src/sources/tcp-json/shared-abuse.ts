import type { SharedState } from '../../shared-state/redis.js';
import { AbuseGuard, RATE_WINDOW_MS, type AbuseCounters, type AbuseSettings, type Admission, type Guard, type Strike } from './abuse.js';

/** How long what Redis said about an address is trusted before it is asked again. */
export const SHARED_VIEW_TTL_MS = 1_000;

/** Strikes of an address that stopped misbehaving are forgotten in Redis after this long. */
export const SHARED_STRIKES_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Blacklist scores: a timed entry's score is when it ends (Redis server time, ms); a
 * permanent one's is this plus when it began, so that every permanent entry sorts after
 * every timed one and, among themselves, oldest first (the order eviction takes them in).
 */
const PERMANENT_BASE = 1e15;

/** Shared by both scripts: Redis server time in ms, and an entry's state from its score. */
const LUA_PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function state(score)
  if not score then return -2 end
  score = tonumber(score)
  if score >= ${PERMANENT_BASE} then return -1 end
  if score <= now then return -2 end
  return score - now
end
`;

/**
 * What Redis knows about one address. KEYS[1] strikes counter, KEYS[2] blacklist (sorted set);
 * ARGV[1] address. Returns { strikes, state }: state -2 not blacklisted, -1 permanently,
 * else the milliseconds left.
 */
const STATUS_SCRIPT = `${LUA_PRELUDE}
return { tonumber(redis.call('GET', KEYS[1]) or '0'), state(redis.call('ZSCORE', KEYS[2], ARGV[1])) }
`;

/**
 * One strike against an address, deciding the blacklist for every instance at once.
 * KEYS as above; ARGV: address, threshold (0 = never), duration ms (0 = permanent),
 * 1 when the striking instance blacklists the address anyway (its own count got there
 * while Redis was away), strikes expiry ms, the most blacklisted addresses kept.
 * Returns { strikes, state } as the status script, with strikes 0 once blacklisted.
 */
const STRIKE_SCRIPT = `${LUA_PRELUDE}
local address = ARGV[1]
local threshold = tonumber(ARGV[2])
local duration = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local current = state(redis.call('ZSCORE', KEYS[2], address))
if current ~= -2 then return { 0, current } end
local strikes = redis.call('INCR', KEYS[1])
if ARGV[4] ~= '1' and (threshold == 0 or strikes < threshold) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return { strikes, -2 }
end
local score = now + duration
if duration == 0 then score = ${PERMANENT_BASE} + now end
redis.call('ZADD', KEYS[2], string.format('%.0f', score), address)
-- The record starts clean after the blacklist, as in memory.
redis.call('DEL', KEYS[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if excess > 0 then redis.call('ZPOPMIN', KEYS[2], excess) end
return { 0, state(tostring(score)) }
`;

interface ScriptCommands {
  loomTcpJsonStatus(strikesKey: string, blacklistKey: string, address: string): Promise<[number, number]>;
  loomTcpJsonStrike(strikesKey: string, blacklistKey: string, address: string, threshold: number, durationMs: number, force: 0 | 1, strikesTtlMs: number, maxBlacklisted: number): Promise<[number, number]>;
}

/** What this instance last heard from Redis about one address. */
interface View {
  /** Strikes counted by all instances, as last heard, plus this instance's since. */
  strikes: number;
  /** Monotonic time of the last question to Redis about this address. */
  checkedAt: number;
  pending: Promise<void> | undefined;
}

/**
 * The TCP JSON protocol's strikes and blacklist shared by every instance on one Redis: an
 * address blacklisted through one instance is refused by all, after at most
 * SHARED_VIEW_TTL_MS for connections already open, and before the first message of any
 * new connection. Strikes from all instances add up toward the threshold.
 *
 * Decisions stay synchronous and local (a message is never held for Redis): an in-memory
 * AbuseGuard decides each message exactly as without Redis, the per-minute message rate is
 * counted per instance, and what Redis knows is folded into that guard as it arrives. While
 * Redis is away the in-memory guard alone decides, and every skipped question is counted.
 *
 * Redis keys: `<prefix>tcp_json:blacklist` (sorted set of addresses) and
 * `<prefix>tcp_json:strikes:<address>` (expire SHARED_STRIKES_TTL_MS after the last strike).
 */
export class SharedAbuseGuard implements Guard {
  private readonly local: AbuseGuard;
  private readonly views = new Map<string, View>();
  private readonly blacklistKey: string;
  private readonly strikesPrefix: string;
  private readonly scripts: ScriptCommands;
  private addedHere = 0;
  private sharedHere = 0;

  constructor(
    readonly settings: AbuseSettings,
    private readonly shared: SharedState,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.local = new AbuseGuard(settings);
    this.blacklistKey = `${shared.keyPrefix}tcp_json:blacklist`;
    this.strikesPrefix = `${shared.keyPrefix}tcp_json:strikes:`;
    const { client } = shared;
    if (!('loomTcpJsonStatus' in client)) {
      client.defineCommand('loomTcpJsonStatus', { numberOfKeys: 2, lua: STATUS_SCRIPT });
      client.defineCommand('loomTcpJsonStrike', { numberOfKeys: 2, lua: STRIKE_SCRIPT });
    }
    this.scripts = client as unknown as ScriptCommands;
  }

  get counters(): AbuseCounters {
    const local = this.local.counters;
    return { ...local, added: local.added + this.addedHere, shared: this.sharedHere };
  }

  get trackedAddresses(): number {
    return this.local.trackedAddresses;
  }

  get blacklistedAddresses(): number {
    return this.local.blacklistedAddresses;
  }

  lookup(address: string): Promise<void> | undefined {
    return this.refresh(address, this.clock());
  }

  admit(address: string, now: number): Admission {
    void this.refresh(address, now);
    const admission = this.local.admit(address, now);
    if (admission.kind !== 'rate_limited') return admission;
    return { kind: 'rate_limited', strike: this.share(address, admission.strike, now) };
  }

  strike(address: string, now: number): Strike {
    return this.share(address, this.local.strike(address, now), now);
  }

  sweep(now: number): void {
    this.local.sweep(now);
    for (const [address, view] of this.views) {
      if (now - view.checkedAt >= 2 * RATE_WINDOW_MS && view.pending === undefined) this.views.delete(address);
    }
  }

  /**
   * The in-memory guard has counted the strike; this adds it to the shared count and
   * answers with that count, blacklisting here at once when the shared count reaches the
   * threshold (Redis does the same for every other instance in the same step).
   */
  private share(address: string, local: Strike, now: number): Strike {
    // Without a threshold strikes never blacklist: there is nothing to share.
    if (this.settings.strikeThreshold === 0) return local;
    if (!this.shared.up) {
      this.shared.failed('tcp_json_strike', new Error('not connected'));
      return local;
    }
    const view = this.view(address, now);
    view.strikes = Math.max(view.strikes + 1, local.strikes);
    const { strikeThreshold: threshold, permanent, durationMs } = this.settings;
    let blacklisted = local.blacklisted;
    if (!blacklisted && threshold > 0 && view.strikes >= threshold) {
      this.local.impose(address, now, permanent ? undefined : durationMs);
      this.addedHere++;
      blacklisted = true;
    }
    const strikes = view.strikes;
    if (blacklisted) view.strikes = 0;
    this.scripts.loomTcpJsonStrike(this.strikesKey(address), this.blacklistKey, address, threshold, permanent ? 0 : durationMs, local.blacklisted ? 1 : 0, SHARED_STRIKES_TTL_MS, this.settings.maxTracked)
      .then(([shared, state]) => {
        if (state === -2) view.strikes = Math.max(view.strikes, shared);
        else this.imposeShared(address, state);
      }, (error: unknown) => this.shared.failed('tcp_json_strike', error));
    return { strikes, threshold, blacklisted };
  }

  /** Asks Redis about the address unless it was asked within SHARED_VIEW_TTL_MS; never rejects. */
  private refresh(address: string, now: number): Promise<void> | undefined {
    const view = this.views.get(address);
    if (view !== undefined && (view.pending !== undefined || now - view.checkedAt < SHARED_VIEW_TTL_MS)) return view.pending;
    const fresh = this.view(address, now);
    fresh.checkedAt = now;
    if (!this.shared.up) {
      this.shared.failed('tcp_json_lookup', new Error('not connected'));
      return undefined;
    }
    fresh.pending = this.scripts.loomTcpJsonStatus(this.strikesKey(address), this.blacklistKey, address).then(
      ([strikes, state]) => {
        fresh.strikes = strikes;
        if (state !== -2) this.imposeShared(address, state);
      },
      (error: unknown) => this.shared.failed('tcp_json_lookup', error),
    ).finally(() => {
      fresh.pending = undefined;
    });
    return fresh.pending;
  }

  /** state: -1 permanent, else milliseconds left. */
  private imposeShared(address: string, state: number): void {
    const before = this.local.blacklistedAddresses;
    this.local.impose(address, this.clock(), state === -1 ? undefined : state);
    if (this.local.blacklistedAddresses > before) this.sharedHere++;
    const view = this.views.get(address);
    if (view !== undefined) view.strikes = 0;
  }

  /** The view of an address, created (within maxTracked, oldest dropped) if new. */
  private view(address: string, now: number): View {
    let view = this.views.get(address);
    if (view === undefined) {
      if (this.views.size >= this.settings.maxTracked) {
        const oldest = this.views.keys().next();
        if (!oldest.done) this.views.delete(oldest.value);
      }
      // checkedAt in the past: a view made by a strike is asked about on the next message.
      view = { strikes: 0, checkedAt: now - SHARED_VIEW_TTL_MS, pending: undefined };
      this.views.set(address, view);
    }
    return view;
  }

  private strikesKey(address: string): string {
    return this.strikesPrefix + address;
  }
}
