import { Gauge } from 'prom-client';
import type { LoomConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import { Enricher, type EnrichmentSettings } from '../transforms/enricher.js';
import { EnrichmentDataManager } from '../transforms/enrichment-data.js';
import { DecodePool } from './decode-pool.js';

/** Decode threads with their enrichment data loaded, kept current when the databases change. */
export interface Decoding {
  decoder: DecodePool | undefined;
  /** Loads, watches and reloads the databases and lists (watch() once everything started). */
  enrichmentData: EnrichmentDataManager;
  /** Enriches on the calling thread: the lookup API. */
  newEnricher(): Enricher;
}

/**
 * Loads the enrichment data and starts `threads` decode threads on it (none when 0: a
 * process that only answers lookups). Every later reload reaches the threads and every
 * enricher made by newEnricher().
 */
export async function startDecoding(config: LoomConfig, threads: number, metrics: Metrics, logger: Logger): Promise<Decoding> {
  const enrichmentData = new EnrichmentDataManager(config.enrichment, metrics, logger);
  let data = await enrichmentData.load();
  const settings: EnrichmentSettings = {
    fields: config.enrichment.fields,
    cacheSize: config.enrichment.cache_size,
    dns: config.enrichment.dns,
    risk: config.enrichment.risk,
  };
  const decoder = threads > 0 ? new DecodePool(threads, config.limits, logger, { settings, data }) : undefined;
  const enrichers: Enricher[] = [];
  enrichmentData.onChange((next) => {
    data = next;
    decoder?.swapEnrichment(next);
    for (const enricher of enrichers) enricher.swap(next);
  });
  return {
    decoder,
    enrichmentData,
    newEnricher() {
      const enricher = new Enricher(settings, data);
      enrichers.push(enricher);
      return enricher;
    },
  };
}

/** Cache and reverse-DNS counters, summed over the decode threads' latest reports. */
export function registerEnricherMetrics(metrics: Metrics, decoder: DecodePool): void {
  const sum = (read: (s: ReturnType<DecodePool['enricherStats']>[number]) => number | undefined): number =>
    decoder.enricherStats().reduce((total, stats) => total + (read(stats) ?? 0), 0);
  const gauge = (name: string, help: string, read: Parameters<typeof sum>[0]): void => {
    new Gauge({ name, help, registers: [metrics.registry], collect() { this.set(sum(read)); } });
  };
  gauge('loom_enrichment_cache_hits', 'Address lookups answered from the per-thread result cache.', (s) => s.cacheHits);
  gauge('loom_enrichment_cache_misses', 'Address lookups that went to the databases.', (s) => s.cacheMisses);
  gauge('loom_rdns_lookups_timed_out', 'Reverse DNS lookups that hit enrichment.dns.timeout_ms.', (s) => s.rdns?.timeouts);
  gauge('loom_rdns_lookups_over_budget', 'Reverse DNS lookups skipped by enrichment.dns.max_qps.', (s) => s.rdns?.overBudget);
  gauge('loom_rdns_cache_hits', 'Reverse DNS answers from the cache.', (s) => s.rdns?.hits);
}
