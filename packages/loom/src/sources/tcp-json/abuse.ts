/** Length of the rate window: the protocol counts messages per minute. */
export const RATE_WINDOW_MS = 60_000;

export interface AbuseSettings {
  /** Messages per address in any 60 s; 0 = no limit. */
  messagesPerMinute: number;
  /** Strikes that blacklist an address; 0 = never. */
  strikeThreshold: number;
  /** true: blacklisted until restart; false: for durationMs. */
  permanent: boolean;
  durationMs: number;
  /** Addresses with state kept at most (clean and blacklisted together). */
  maxTracked: number;
}

/** The outcome of one strike against an address. */
export interface Strike {
  strikes: number;
  threshold: number;
  /** This strike blacklisted the address. */
  blacklisted: boolean;
}

export type Admission =
  | { kind: 'ok' }
  /** remainingMs undefined: until the server restarts. */
  | { kind: 'blacklisted'; remainingMs: number | undefined }
  | { kind: 'rate_limited'; strike: Strike };

export interface AbuseCounters {
  /** Addresses blacklisted by strikes. */
  added: number;
  /** Timed blacklists lifted (by the first message after expiry, or by the sweep, which is the same to the client). */
  released: number;
  /** Blacklisted addresses forgotten because maxTracked was reached with no clean address left to forget. */
  evicted: number;
  /** Clean addresses forgotten (their strikes and rate count with them) to stay within maxTracked. */
  forgotten: number;
  /** Addresses blacklisted because another instance blacklisted them (shared state only). */
  shared?: number;
}

/** What a connection asks before and after each message; AbuseGuard alone, or shared through Redis. */
export interface Guard {
  readonly counters: AbuseCounters;
  readonly trackedAddresses: number;
  readonly blacklistedAddresses: number;
  admit(address: string, now: number): Admission;
  strike(address: string, now: number): Strike;
  sweep(now: number): void;
  /**
   * Resolves once what other instances know about the address has arrived, so that a new
   * connection's first message is decided with it; undefined when there is nothing to wait for.
   */
  lookup?(address: string): Promise<void> | undefined;
}

interface Client {
  /** Start of the current rate window; windows follow each other in steps of RATE_WINDOW_MS. */
  windowStart: number;
  /** Messages counted in the current window and in the one before it. */
  count: number;
  previous: number;
  strikes: number;
  lastSeen: number;
  /** When the blacklist ends; Infinity = until restart. Only for entries in `blocked`. */
  until: number;
}

const OK: Admission = { kind: 'ok' };
const FOREVER: Admission = { kind: 'blacklisted', remainingMs: undefined };

/**
 * Per-address rate limit, strikes and blacklist, in bounded memory.
 *
 * Rate: a sliding window estimated from two fixed one-minute windows (the previous
 * window's count weighted by how much of it still overlaps the last 60 s, plus the current
 * count). Unlike a fixed window it never lets 2× the limit through across a window edge,
 * and it needs two counters per address instead of a timestamp per message. Messages
 * refused for the rate or a blacklist do not count toward it.
 *
 * Memory: clean addresses live in an LRU map, blacklisted ones in a second map; both
 * together hold at most maxTracked entries. A new address first pushes out the least
 * recently seen clean one, and only when none is left the oldest blacklist, so flooding
 * from many addresses cannot easily lift a blacklist.
 */
export class AbuseGuard implements Guard {
  private readonly clients = new Map<string, Client>();
  private readonly blocked = new Map<string, Client>();
  /**
   * The clean address used last, already at the LRU end: a connection's messages come one
   * after another from the same address, and skipping the reorder for them saves a Map
   * delete and insert per message. Cleared whenever an entry leaves `clients`.
   */
  private recentAddress: string | undefined;
  private recentClient: Client | undefined;
  readonly counters: AbuseCounters = { added: 0, released: 0, evicted: 0, forgotten: 0 };

  constructor(readonly settings: AbuseSettings) {}

  get trackedAddresses(): number {
    return this.clients.size + this.blocked.size;
  }

  get blacklistedAddresses(): number {
    return this.blocked.size;
  }

  /** Whether a message from address may be processed; a refusal for the rate is a strike. */
  admit(address: string, now: number): Admission {
    const blocked = this.blocked.get(address);
    let client: Client;
    if (blocked !== undefined) {
      if (blocked.until > now) return blocked.until === Infinity ? FOREVER : { kind: 'blacklisted', remainingMs: blocked.until - now };
      // The first message after the blacklist expired lifts it, with a clean record.
      this.blocked.delete(address);
      this.forgetRecent();
      this.counters.released++;
      client = fresh(now);
      this.clients.set(address, client);
    } else {
      client = this.touch(address, now);
    }
    client.lastSeen = now;
    const limit = this.settings.messagesPerMinute;
    if (limit === 0) return OK;
    advance(client, now);
    const overlap = (RATE_WINDOW_MS - (now - client.windowStart)) / RATE_WINDOW_MS;
    if (client.previous * overlap + client.count + 1 > limit) return { kind: 'rate_limited', strike: this.strike(address, now) };
    client.count++;
    return OK;
  }

  /** Counts a malformed (or over-limit) message; may blacklist the address. */
  strike(address: string, now: number): Strike {
    const threshold = this.settings.strikeThreshold;
    const client = this.blocked.get(address) ?? this.touch(address, now);
    client.strikes++;
    const strike = { strikes: client.strikes, threshold, blacklisted: false };
    if (threshold > 0 && client.strikes >= threshold && !this.blocked.has(address)) {
      client.until = this.settings.permanent ? Infinity : now + this.settings.durationMs;
      this.clients.delete(address);
      this.forgetRecent();
      this.blocked.set(address, client);
      this.counters.added++;
      strike.blacklisted = true;
    }
    return strike;
  }

  /**
   * Blacklists an address for remainingMs (undefined: until restart) because another
   * instance did; an address already blacklisted here keeps its own end. Not a strike here,
   * and not counted as added: the instance whose strikes did it counts it.
   */
  impose(address: string, now: number, remainingMs: number | undefined): void {
    if (this.blocked.has(address)) return;
    let client = this.clients.get(address);
    if (client !== undefined) {
      this.clients.delete(address);
      this.forgetRecent();
    } else {
      if (this.clients.size + this.blocked.size >= this.settings.maxTracked) this.makeRoom();
      client = fresh(now);
    }
    client.until = remainingMs === undefined ? Infinity : now + remainingMs;
    this.blocked.set(address, client);
  }

  /**
   * Forgets what no longer matters: expired timed blacklists (the next message would lift
   * them anyway) and addresses idle for two windows with no strikes (their rate count is
   * zero by then). Addresses with strikes are kept until maxTracked pushes them out.
   */
  sweep(now: number): void {
    for (const [address, client] of this.blocked) {
      if (client.until <= now) {
        this.blocked.delete(address);
        this.counters.released++;
      }
    }
    for (const [address, client] of this.clients) {
      // The map is in order of last use, so the rest was seen more recently.
      if (now - client.lastSeen < 2 * RATE_WINDOW_MS) break;
      if (client.strikes === 0) this.clients.delete(address);
    }
    this.forgetRecent();
  }

  /** The entry of a clean address, now the most recently used; created (making room) if new. */
  private touch(address: string, now: number): Client {
    if (address === this.recentAddress && this.recentClient !== undefined) return this.recentClient;
    let client = this.clients.get(address);
    if (client !== undefined) {
      this.clients.delete(address);
    } else {
      if (this.clients.size + this.blocked.size >= this.settings.maxTracked) this.makeRoom();
      client = fresh(now);
    }
    this.clients.set(address, client);
    this.recentAddress = address;
    this.recentClient = client;
    return client;
  }

  private forgetRecent(): void {
    this.recentAddress = undefined;
    this.recentClient = undefined;
  }

  private makeRoom(): void {
    const oldestClean = this.clients.keys().next();
    if (!oldestClean.done) {
      this.clients.delete(oldestClean.value);
      this.forgetRecent();
      this.counters.forgotten++;
      return;
    }
    const oldestBlocked = this.blocked.keys().next();
    if (!oldestBlocked.done) {
      this.blocked.delete(oldestBlocked.value);
      this.counters.evicted++;
    }
  }
}

function fresh(now: number): Client {
  return { windowStart: now, count: 0, previous: 0, strikes: 0, lastSeen: now, until: 0 };
}

function advance(client: Client, now: number): void {
  const elapsed = now - client.windowStart;
  if (elapsed < RATE_WINDOW_MS) return;
  const windows = Math.floor(elapsed / RATE_WINDOW_MS);
  client.previous = windows === 1 ? client.count : 0;
  client.count = 0;
  client.windowStart += windows * RATE_WINDOW_MS;
}
