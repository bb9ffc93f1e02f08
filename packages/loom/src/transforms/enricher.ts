import type { DnsConfig, EnrichedField, RiskConfig } from '../config/types.js';
import { jsonPairs, type JsonSplices } from '../json/splices.js';
import { GeoAsnLookup, type GeoAsnResult, type GeoDataHandles } from './geo/index.js';
import { IntelIndex, applyIntel, type IntelHandles, type IntelMatch } from './intel/index.js';
import { LruCache, type Stamped } from './lru.js';
import { ReverseDns } from './rdns/index.js';
import { applyRisk, riskReadsAddressEnrichment, riskRulesFrom } from './risk/index.js';

/** Shared, read-only data every thread enriches with; structured-cloneable (SharedArrayBuffers). */
export interface EnrichmentData {
  geo: GeoDataHandles | undefined;
  intel: IntelHandles | undefined;
}

export interface EnrichmentSettings {
  fields: EnrichedField[];
  cacheSize: number;
  dns: DnsConfig;
  risk: RiskConfig;
}

export interface EnricherStats {
  cacheHits: number;
  cacheMisses: number;
  rdns: ReturnType<ReverseDns['stats']> | undefined;
}

/**
 * Everything derived from one address alone, so cached per address. One shape for all,
 * whatever the address has, so that reading an entry stays a monomorphic property load.
 */
interface AddressResult extends GeoAsnResult, Stamped {
  /** `"geo":{…},"as":{…}` as UTF-8 when the result has either and is cached; see addGeo. */
  pairs: Uint8Array | undefined;
  /** The address's intel matches; filled in on first use. */
  intel: readonly IntelMatch[] | undefined;
}

type Event = Record<string, unknown>;

/**
 * Longer strings are no address (GeoIP and intel answer nothing for them) and are not cached,
 * so that a cache entry never holds on to a large string a sender put into `ip`.
 */
const MAX_ADDRESS_LENGTH = 64;
const NOTHING: AddressResult = Object.freeze({ geo: undefined, as: undefined, pairs: undefined, intel: Object.freeze([]), stamp: 0 });

/**
 * Enriches events in place, once each: GeoIP and ASN for the configured address fields (from
 * an LRU cache of complete per-address results, since honeypot traffic repeats addresses),
 * reverse DNS of source.ip within the DNS deadline, threat-intel matches, then the risk score.
 * Fields are only added to address objects that exist: an event without `source` gets none.
 * Given JsonSplices, cached geo and as go in as placeholders for their JSON text instead, which
 * serialiseBatch replaces: the serialised event is the same.
 */
export class Enricher {
  private geo: GeoAsnLookup | undefined;
  private intel: IntelIndex | undefined;
  private readonly rdns: ReverseDns | undefined;
  private readonly cache: LruCache<string, AddressResult>;
  private hits = 0;
  private misses = 0;
  private readonly riskRules: ReturnType<typeof riskRulesFrom> | undefined;
  private readonly intelFields: { source: boolean; destination: boolean };
  /** Whether cached geo and as may go into events as placeholders for their JSON text (see addGeo). */
  private readonly splice: boolean;
  /** The address last looked up and its result: intel asks for the address GeoIP just had. */
  private lastIp: string | undefined;
  private lastResult: AddressResult = NOTHING;

  constructor(private readonly settings: EnrichmentSettings, data: EnrichmentData) {
    this.cache = new LruCache(settings.cacheSize);
    this.swap(data);
    this.intelFields = { source: settings.fields.includes('source'), destination: settings.fields.includes('destination') };
    const dns = settings.dns;
    if (dns.enabled) {
      this.rdns = new ReverseDns({
        resolverAddr: dns.resolver_addr,
        timeoutMs: dns.timeout_ms,
        maxConcurrency: dns.max_concurrency,
        cacheTtlSeconds: dns.cache_ttl_seconds,
        negativeTtlSeconds: dns.negative_ttl_seconds,
        cacheMaxEntries: dns.cache_max_entries,
        maxQps: dns.max_qps,
      });
    }
    if (settings.risk.enabled) this.riskRules = riskRulesFrom(settings.risk);
    // Events that carry a placeholder have no geo or as objects; no stage after GeoIP may need them.
    this.splice = settings.cacheSize > 0 && (this.riskRules === undefined || !riskReadsAddressEnrichment(this.riskRules));
  }

  /** Switches to reloaded databases or lists; cached results of the old data are dropped. */
  swap(data: EnrichmentData): void {
    this.geo = data.geo === undefined ? undefined : new GeoAsnLookup(data.geo);
    this.intel = data.intel === undefined ? undefined : new IntelIndex(data.intel);
    this.cache.clear();
    this.lastIp = undefined;
    this.lastResult = NOTHING;
  }

  /**
   * `splices`: where cached GeoIP and ASN results go as placeholders for their JSON text, to
   * be serialised with serialiseBatch(events, splices); without it, they go in as objects.
   */
  async enrichBatch(events: Event[], splices?: JsonSplices): Promise<void> {
    const geoSplices = this.splice ? splices : undefined;
    const { geo, intel, riskRules, rdns } = this;
    if (rdns === undefined) {
      // Each event goes through every stage while it is at hand; its address is then looked up
      // in the cache once for GeoIP and intel together (see cachedIpMatches).
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as Event;
        if (geo !== undefined) this.addGeo(event, i, geoSplices);
        if (intel !== undefined) applyIntel(event, intel, this.intelFields, this.cachedIpMatches);
        if (riskRules !== undefined) applyRisk(event, riskRules);
      }
      return;
    }
    // Reverse DNS looks up the batch's addresses together, between the address stages and the
    // stages that read the whole event, so that source.domain comes after geo and as.
    if (geo !== undefined) for (let i = 0; i < events.length; i++) this.addGeo(events[i] as Event, i, geoSplices);
    await this.addDomains(events, rdns);
    // Lists reloaded while the names were looked up are used from here on.
    const lists = this.intel;
    if (lists === undefined && riskRules === undefined) return;
    for (const event of events) {
      if (lists !== undefined) applyIntel(event, lists, this.intelFields, this.cachedIpMatches);
      if (riskRules !== undefined) applyRisk(event, riskRules);
    }
  }

  /** Everything Loom knows about one address, for the lookup API. */
  async lookup(ip: string): Promise<Record<string, unknown>> {
    const result: Event = { ip };
    const event: Event = { source: { ip } };
    const found = this.addressResult(ip);
    if (found.geo !== undefined) result.geo = found.geo;
    if (found.as !== undefined) result.as = found.as;
    if (this.rdns !== undefined) {
      const domain = await this.rdns.lookup(ip);
      if (domain !== undefined) result.domain = domain;
    }
    if (this.intel !== undefined) {
      const matches = applyIntel(event, this.intel, { source: true });
      if (matches.length > 0) result.threat = (event as { threat?: unknown }).threat;
    }
    return result;
  }

  stats(): EnricherStats {
    return { cacheHits: this.hits, cacheMisses: this.misses, rdns: this.rdns?.stats() };
  }

  close(): void {
    this.rdns?.close();
  }

  private addGeo(event: Event, index: number, splices: JsonSplices | undefined): void {
    for (const field of this.settings.fields) {
      const address = event[field];
      if (!isObject(address) || typeof address.ip !== 'string') continue;
      const found = this.addressResult(address.ip);
      // The cached JSON text of geo and as goes where the two keys would be added, at the end of
      // the address object. Their objects are left out of the event: nothing later reads them.
      if (splices !== undefined && found.pairs !== undefined && address.geo === undefined && address.as === undefined && splices.insert(address, index, found.pairs)) continue;
      // Merged into existing objects, as the earlier version did, so sensor-provided keys survive.
      if (found.geo !== undefined) address.geo = isObject(address.geo) ? { ...address.geo, ...found.geo } : found.geo;
      if (found.as !== undefined) address.as = isObject(address.as) ? { ...address.as, ...found.as } : found.as;
    }
  }

  /** GeoIP and ASN for an address, from the cache when it is there. */
  private addressResult(ip: string): AddressResult {
    const cached = this.cache.get(ip);
    if (cached !== undefined) {
      this.hits++;
      return this.remember(ip, cached);
    }
    this.misses++;
    return this.remember(ip, this.lookUp(ip));
  }

  private remember(ip: string, result: AddressResult): AddressResult {
    this.lastIp = ip;
    this.lastResult = result;
    return result;
  }

  /** A new result for an address, cached when the cache is on. */
  private lookUp(ip: string): AddressResult {
    if (ip.length > MAX_ADDRESS_LENGTH) return NOTHING;
    const { geo, as } = this.geo?.lookup(ip) ?? {};
    const found: AddressResult = { geo, as, pairs: undefined, intel: undefined, stamp: 0 };
    if (this.settings.cacheSize <= 0) return found;
    // Rendered once here rather than for every event from the address.
    if (geo !== undefined || as !== undefined) found.pairs = jsonPairs({ geo, as });
    this.cache.set(ip, found);
    return found;
  }

  /** index.matchIp, answered from the address cache; results depend on the address and the lists alone. */
  private readonly cachedIpMatches = (ip: string): readonly IntelMatch[] => {
    const intel = this.intel;
    if (intel === undefined) return [];
    const found = ip === this.lastIp ? this.lastResult : this.remember(ip, this.cache.get(ip) ?? this.lookUp(ip));
    if (found.intel === undefined) {
      const matches = intel.matchIp(ip);
      // An uncached result is a fresh object of this call alone; only cached ones keep the answer.
      if (found === NOTHING || this.settings.cacheSize <= 0) return matches;
      found.intel = matches;
    }
    return found.intel;
  };

  private async addDomains(events: Event[], rdns: ReverseDns): Promise<void> {
    const ips = new Set<string>();
    for (const event of events) {
      const source = event.source;
      if (isObject(source) && typeof source.ip === 'string') ips.add(source.ip);
    }
    if (ips.size === 0) return;
    const names = await rdns.lookupMany(ips, this.settings.dns.timeout_ms);
    for (const event of events) {
      const source = event.source;
      if (!isObject(source) || typeof source.ip !== 'string') continue;
      const name = names.get(source.ip);
      if (name !== undefined) source.domain = name;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
