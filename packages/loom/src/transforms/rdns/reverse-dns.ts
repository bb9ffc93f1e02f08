import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { parseAddress, reverseName } from './address.js';
import { AnswerCache } from './answer-cache.js';
import { usableName } from './ptr-name.js';
import { isPublic } from './reserved.js';

export interface ReverseDnsOptions {
  /** "" = the system's resolvers (/etc/resolv.conf); else "ip", "ip:port" or "[ipv6]:port" (port 53 if omitted). */
  resolverAddr: string;
  /** Longest a lookup takes, whatever the server does. */
  timeoutMs: number;
  /** Queries on the wire at once; more wait their turn within their caller's deadline. */
  maxConcurrency: number;
  /** How long a name is remembered; 0 = not at all. */
  cacheTtlSeconds: number;
  /** How long "no usable name" (NXDOMAIN, no PTR, a bad name, a failed query) is remembered; 0 = not at all. */
  negativeTtlSeconds: number;
  /** Most addresses remembered; the least recently used go first. */
  cacheMaxEntries: number;
  /** Fresh queries per second (a token bucket holding one second's worth); negative = unlimited. */
  maxQps: number;
}

export const REVERSE_DNS_DEFAULTS: ReverseDnsOptions = {
  resolverAddr: '',
  timeoutMs: 500,
  maxConcurrency: 64,
  cacheTtlSeconds: 300,
  negativeTtlSeconds: 60,
  cacheMaxEntries: 100_000,
  maxQps: 10,
};

/**
 * Every lookup of a public address counts once as a hit (answered from the cache), a miss
 * (it needed a query and started or joined one) or over budget (it needed a query and the
 * qps budget was spent). Timeouts and errors are the misses that ended that way.
 */
export interface ReverseDnsStats {
  hits: number;
  misses: number;
  timeouts: number;
  errors: number;
  overBudget: number;
  inFlight: number;
  cacheSize: number;
}

type Ending = 'answer' | 'none' | 'timeout' | 'error' | 'closed';
type Waiter = (name: string | undefined, ending: Ending) => void;

/** One query, shared by every caller that wants the same address meanwhile. */
class Flight {
  readonly waiters = new Set<Waiter>();
  /** Set while the query is on the wire; ends it early (on close). */
  abort: (() => void) | undefined;

  constructor(readonly name: string) {}

  settle(answer: string | undefined, ending: Ending): void {
    for (const waiter of this.waiters) waiter(answer, ending);
    this.waiters.clear();
  }
}

/**
 * Reverse DNS (PTR) lookups that cannot hold up the pipeline: every lookup resolves within
 * its deadline whatever the server does, the number of queries on the wire and the rate of
 * new ones are bounded, and answers, including "no name", are cached with an LRU bound.
 *
 * Queries go through node:dns Resolvers (c-ares, asynchronous sockets; not getaddrinfo on the
 * libuv thread pool shared with fs and crypto). c-ares' own timeout is per try and per server
 * and no hard bound (300 ms with tries: 1 has been seen to take 600 ms against a silent
 * server), so each query also has a timer of its own. Each query slot owns its Resolver
 * because Resolver.cancel() cancels everything on that Resolver: with one per slot, a query
 * that runs out of time is cancelled alone and its slot is free at once.
 */
export class ReverseDns {
  private readonly server: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxConcurrency: number;
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly cache: AnswerCache;
  private readonly budget: TokenBucket | undefined;
  private readonly flights = new Map<string, Flight>();
  /** Flights waiting for a free slot, oldest first. */
  private readonly queue = new Set<Flight>();
  private readonly idle: dns.Resolver[] = [];
  private resolvers = 0;
  private closed = false;
  private readonly counts = { hits: 0, misses: 0, timeouts: 0, errors: 0, overBudget: 0, inFlight: 0 };

  constructor(options: ReverseDnsOptions) {
    this.server = resolverServer(options.resolverAddr);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs);
    this.maxConcurrency = Math.floor(positive('maxConcurrency', options.maxConcurrency));
    if (this.maxConcurrency < 1) throw new RangeError(`reverse DNS: maxConcurrency must be at least 1, got ${options.maxConcurrency}`);
    this.positiveTtlMs = notNegative('cacheTtlSeconds', options.cacheTtlSeconds) * 1000;
    this.negativeTtlMs = notNegative('negativeTtlSeconds', options.negativeTtlSeconds) * 1000;
    const ttls = [this.positiveTtlMs, this.negativeTtlMs].filter((ttl) => ttl > 0);
    this.cache = new AnswerCache(notNegative('cacheMaxEntries', options.cacheMaxEntries), Math.min(...ttls));
    this.budget = options.maxQps < 0 ? undefined : new TokenBucket(options.maxQps);
  }

  /**
   * The PTR name without its trailing dot, or undefined: no usable name, a timeout, over the
   * qps budget, or an address not worth asking about (see reserved.ts). Never rejects, and
   * resolves within timeoutMs whatever the server does.
   */
  lookup(ip: string): Promise<string | undefined> {
    const step = this.begin(ip);
    if (!(step instanceof Flight)) return Promise.resolve(step);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (leave()) this.counts.timeouts++;
        resolve(undefined);
      }, this.timeoutMs);
      const leave = this.wait(step, (name, ending) => {
        clearTimeout(timer);
        this.count(ending);
        resolve(name);
      });
    });
  }

  /**
   * Looks up every distinct address at once and returns, after `deadlineMs` at the latest,
   * the names found, keyed by the strings given. Queries still running at the deadline go on
   * and fill the cache for the next batch.
   */
  async lookupMany(ips: Iterable<string>, deadlineMs: number): Promise<Map<string, string>> {
    const started = performance.now();
    const found = new Map<string, string>();
    const waiting: Array<[string, Flight]> = [];
    for (const ip of new Set(ips)) {
      const step = this.begin(ip);
      if (step instanceof Flight) waiting.push([ip, step]);
      else if (step !== undefined) found.set(ip, step);
    }
    if (waiting.length === 0) return found;
    await new Promise<void>((resolve) => {
      let left = waiting.length;
      const leaves: Array<() => boolean> = [];
      const timer = setTimeout(() => {
        for (const leave of leaves) if (leave()) this.counts.timeouts++;
        resolve();
      }, Math.max(0, deadlineMs - (performance.now() - started)));
      for (const [ip, flight] of waiting) {
        leaves.push(this.wait(flight, (name, ending) => {
          this.count(ending);
          if (name !== undefined) found.set(ip, name);
          if (--left === 0) {
            clearTimeout(timer);
            resolve();
          }
        }));
      }
    });
    return found;
  }

  stats(): ReverseDnsStats {
    return { ...this.counts, cacheSize: this.cache.size };
  }

  /** Ends every query and wait at once (their callers get undefined); later lookups get undefined. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const flight of this.flights.values()) {
      if (flight.abort === undefined) flight.settle(undefined, 'closed');
      else flight.abort();
    }
    this.flights.clear();
    this.queue.clear();
    this.idle.length = 0;
    this.cache.clear();
  }

  /** The answer if it is known now (undefined: none, or not to be asked), else the flight to wait for. */
  private begin(ip: string): Flight | string | undefined {
    if (this.closed) return undefined;
    const address = parseAddress(ip);
    if (address === undefined || !isPublic(address)) return undefined;
    const name = reverseName(address);
    const cached = this.cache.get(name);
    if (cached !== undefined) {
      this.counts.hits++;
      return cached.name;
    }
    let flight = this.flights.get(name);
    if (flight === undefined) {
      if (this.budget !== undefined && !this.budget.take()) {
        this.counts.overBudget++;
        return undefined;
      }
      flight = new Flight(name);
      this.flights.set(name, flight);
      const resolver = this.freeResolver();
      if (resolver === undefined) this.queue.add(flight);
      else this.start(flight, resolver);
    }
    this.counts.misses++;
    return flight;
  }

  /**
   * Adds a waiter; returns `leave`, which removes it and tells whether it was still waiting.
   * A queued flight that nobody waits for any more is dropped: under overload the queue
   * would otherwise fill with work whose callers have long gone.
   */
  private wait(flight: Flight, waiter: Waiter): () => boolean {
    flight.waiters.add(waiter);
    return () => {
      if (!flight.waiters.delete(waiter)) return false;
      if (flight.waiters.size === 0 && this.queue.delete(flight)) this.flights.delete(flight.name);
      return true;
    };
  }

  private start(flight: Flight, resolver: dns.Resolver): void {
    this.counts.inFlight++;
    let done = false;
    const finish = (name: string | undefined, ending: Ending): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      flight.abort = undefined;
      this.counts.inFlight--;
      // c-ares would otherwise keep waiting for the answer (and keep its socket) after we gave up.
      if (ending === 'timeout' || ending === 'closed') resolver.cancel();
      // After close() there is no cache to fill and no pool to return the resolver to.
      if (ending !== 'closed') {
        this.flights.delete(flight.name);
        this.cache.set(flight.name, name, name === undefined ? this.negativeTtlMs : this.positiveTtlMs);
        this.idle.push(resolver);
      }
      flight.settle(name, ending);
      this.startQueued();
    };
    flight.abort = () => finish(undefined, 'closed');
    const timer = setTimeout(() => finish(undefined, 'timeout'), this.timeoutMs);
    query(resolver, flight.name).then(
      (names) => {
        const name = usableName(names[0]);
        finish(name, name === undefined ? 'none' : 'answer');
      },
      (error: unknown) => finish(undefined, endingOf(error)),
    );
  }

  private startQueued(): void {
    for (const flight of this.queue) {
      const resolver = this.freeResolver();
      if (resolver === undefined) return;
      this.queue.delete(flight);
      this.start(flight, resolver);
    }
  }

  private freeResolver(): dns.Resolver | undefined {
    if (this.closed) return undefined;
    const resolver = this.idle.pop();
    if (resolver !== undefined) return resolver;
    if (this.resolvers >= this.maxConcurrency) return undefined;
    this.resolvers++;
    // tries: 1 because the deadline leaves no room for a second try; the own timer covers
    // the rest of what c-ares might still do.
    const created = new dns.Resolver({ timeout: Math.ceil(this.timeoutMs), tries: 1 });
    if (this.server !== undefined) created.setServers([this.server]);
    return created;
  }

  private count(ending: Ending): void {
    if (ending === 'timeout') this.counts.timeouts++;
    else if (ending === 'error') this.counts.errors++;
  }
}

/**
 * resolvePtr on the reverse name rather than reverse(): reverse() goes through c-ares'
 * gethostbyaddr, which also reads the hosts file and reports every failure as ENOTFOUND.
 */
function query(resolver: dns.Resolver, name: string): Promise<string[]> {
  try {
    return resolver.resolvePtr(name);
  } catch (error) {
    return Promise.reject(error);
  }
}

function endingOf(error: unknown): Ending {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === dns.NOTFOUND || code === dns.NODATA) return 'none';
  if (code === dns.TIMEOUT) return 'timeout';
  if (code === dns.CANCELLED) return 'closed';
  return 'error';
}

/**
 * The server string for Resolver.setServers, or undefined for the system's resolvers.
 * Only IP addresses: c-ares cannot resolve a resolver's own host name.
 */
export function resolverServer(addr: string): string | undefined {
  if (addr === '') return undefined;
  if (isIP(addr) !== 0) return addr;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(addr);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? 53 : Number(match[3]);
  const family = host === undefined ? 0 : isIP(host);
  if (family === 0 || (match?.[1] !== undefined && family !== 6) || port < 1 || port > 65535) {
    throw new TypeError(`reverse DNS: resolver address ${JSON.stringify(addr)} is not "ip", "ip:port" or "[ipv6]:port"`);
  }
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`reverse DNS: ${name} must be a positive number, got ${value}`);
  return value;
}

function notNegative(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`reverse DNS: ${name} must be 0 or more, got ${value}`);
  return value;
}

/**
 * Fresh queries per second. Unlike a fixed one-second window it cannot let twice the rate
 * through across a window edge. It holds one second's worth (at least one query).
 */
class TokenBucket {
  private tokens: number;
  private updatedAt = performance.now();
  private readonly capacity: number;

  constructor(private readonly perSecond: number) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = perSecond > 0 ? this.capacity : 0;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
