import type { DnsConfig, EnrichedField, RiskConfig } from '../config/types.js';
import { GeoAsnLookup, type GeoAsnResult, type GeoDataHandles } from './geo/index.js';
import { IntelIndex, applyIntel, type IntelHandles } from './intel/index.js';
import { ReverseDns } from './rdns/index.js';
import { applyRisk, riskRulesFrom } from './risk/index.js';

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

type AddressResult = GeoAsnResult;

type Event = Record<string, unknown>;

/**
 * Enriches events in place, once each: GeoIP and ASN for the configured address fields (from
 * an LRU cache of complete per-address results, since honeypot traffic repeats addresses),
 * reverse DNS of source.ip within the DNS deadline, threat-intel matches, then the risk score.
 * Fields are only added to address objects that exist: an event without `source` gets none.
 */
export class Enricher {
  private geo: GeoAsnLookup | undefined;
  private intel: IntelIndex | undefined;
  private readonly rdns: ReverseDns | undefined;
  private readonly cache = new Map<string, AddressResult>();
  private hits = 0;
  private misses = 0;
  private readonly riskRules: ReturnType<typeof riskRulesFrom> | undefined;
  private readonly intelFields: { source: boolean; destination: boolean };

  constructor(private readonly settings: EnrichmentSettings, data: EnrichmentData) {
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
  }

  /** Switches to reloaded databases or lists; cached results of the old data are dropped. */
  swap(data: EnrichmentData): void {
    this.geo = data.geo === undefined ? undefined : new GeoAsnLookup(data.geo);
    this.intel = data.intel === undefined ? undefined : new IntelIndex(data.intel);
    this.cache.clear();
  }

  async enrichBatch(events: Event[]): Promise<void> {
    for (const event of events) this.addGeo(event);
    if (this.rdns !== undefined) await this.addDomains(events, this.rdns);
    for (const event of events) {
      if (this.intel !== undefined) applyIntel(event, this.intel, this.intelFields);
      if (this.riskRules !== undefined) applyRisk(event, this.riskRules);
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

  private addGeo(event: Event): void {
    if (this.geo === undefined) return;
    for (const field of this.settings.fields) {
      const address = event[field];
      if (!isObject(address) || typeof address.ip !== 'string') continue;
      const found = this.addressResult(address.ip);
      // Merged into existing objects, as the earlier version did, so sensor-provided keys survive.
      if (found.geo !== undefined) address.geo = isObject(address.geo) ? { ...address.geo, ...found.geo } : found.geo;
      if (found.as !== undefined) address.as = isObject(address.as) ? { ...address.as, ...found.as } : found.as;
    }
  }

  private addressResult(ip: string): AddressResult {
    const cached = this.cache.get(ip);
    if (cached !== undefined) {
      this.hits++;
      // Re-inserting keeps the Map in least-recently-used order for eviction.
      this.cache.delete(ip);
      this.cache.set(ip, cached);
      return cached;
    }
    this.misses++;
    const found = this.geo?.lookup(ip) ?? {};
    if (this.settings.cacheSize > 0) {
      if (this.cache.size >= this.settings.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(ip, found);
    }
    return found;
  }

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
