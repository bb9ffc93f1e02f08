import { watchFile, unwatchFile, type Stats } from 'node:fs';
import type { EnrichmentConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import type { EnrichmentData } from './enricher.js';
import { GeoAsnLookup, openGeoData } from './geo/index.js';
import { loadIntelLists } from './intel/index.js';

/**
 * Owns the enrichment data on the main thread: loads the GeoIP/ASN databases and intel lists
 * into shared memory, and reloads them in the background when a file is replaced or on
 * SIGHUP. Consumers get the new data in one message and swap atomically; until then they
 * keep answering with the old data, so no event waits for a reload.
 */
export class EnrichmentDataManager {
  private data: EnrichmentData = { geo: undefined, intel: undefined };
  private readonly listeners: ((data: EnrichmentData) => void)[] = [];
  private watched: string[] = [];
  private reloading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly config: EnrichmentConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  get current(): EnrichmentData {
    return this.data;
  }

  /** Loads everything; a database that cannot be opened is a startup error naming its key. */
  async load(): Promise<EnrichmentData> {
    const started = performance.now();
    this.data = { geo: await this.loadGeo(), intel: await this.loadIntel() };
    this.publishMetrics();
    this.logger.info({ ms: Math.round(performance.now() - started) }, 'enrichment data loaded');
    return this.data;
  }

  onChange(listener: (data: EnrichmentData) => void): void {
    this.listeners.push(listener);
  }

  /** Reloads now (SIGHUP or a changed file); a failure keeps the previous data and says why. */
  reload(trigger: string): Promise<void> {
    if (this.reloading !== undefined) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        try {
          const data = { geo: await this.loadGeo(), intel: await this.loadIntel() };
          this.data = data;
          this.publishMetrics();
          for (const listener of this.listeners) listener(data);
          this.logger.info({ trigger }, 'enrichment data reloaded');
        } catch (error) {
          this.metrics.enrichmentReloads.inc({ result: 'failed' });
          this.logger.error({ trigger, error: error instanceof Error ? error.message : String(error) }, 'enrichment reload failed; keeping the previous data');
        }
      } while (this.again);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  watch(pollIntervalMs = 2000): void {
    const paths = [this.config.geoip_db_path, this.config.asn_db_path, ...this.config.intel.map((list) => list.path)];
    this.watched = paths.filter((path): path is string => path !== undefined && path !== '');
    for (const path of this.watched) watchFile(path, { interval: pollIntervalMs, persistent: false }, this.onFileChange);
  }

  unwatch(): void {
    for (const path of this.watched) unwatchFile(path, this.onFileChange);
    this.watched = [];
  }

  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    // A file being copied in place changes several times; the last change wins a reload too.
    void this.reload('enrichment file changed');
  };

  private async loadGeo(): Promise<EnrichmentData['geo']> {
    const { geoip_db_path: geoipPath, asn_db_path: asnPath } = this.config;
    if (geoipPath === '' && asnPath === '') return undefined;
    return openGeoData({ geoipPath, asnPath });
  }

  private async loadIntel(): Promise<EnrichmentData['intel']> {
    if (this.config.intel.length === 0) return undefined;
    const loaded = await loadIntelLists(this.config.intel);
    for (const warning of loaded.warnings) this.logger.warn(warning);
    for (const list of loaded.stats) this.metrics.intelIndicators.set({ list: list.list }, list.indicators);
    return loaded.handles;
  }

  private publishMetrics(): void {
    this.metrics.enrichmentReloads.inc({ result: 'ok' });
    this.metrics.enrichmentDatabaseInfo.reset();
    this.metrics.enrichmentDatabaseBuild.reset();
    if (this.data.geo === undefined) return;
    const now = Date.now() / 1000;
    const stale: { kind: string; path: string; age_days: number }[] = [];
    for (const db of new GeoAsnLookup(this.data.geo).describe()) {
      const labels = { kind: db.kind, type: db.type, path: db.path, bundled: String(db.bundled) };
      this.metrics.enrichmentDatabaseInfo.set(labels, 1);
      if (db.buildEpoch === undefined) continue;
      this.metrics.enrichmentDatabaseBuild.set({ kind: db.kind }, db.buildEpoch);
      const ageDays = (now - db.buildEpoch) / 86400;
      if (this.config.max_db_age_days > 0 && ageDays > this.config.max_db_age_days) stale.push({ kind: db.kind, path: db.path, age_days: Math.floor(ageDays) });
    }
    // One line for all of them: the bundled data alone is four files.
    if (stale.length > 0) {
      this.logger.warn({ databases: stale, max_db_age_days: this.config.max_db_age_days }, 'enrichment data is older than enrichment.max_db_age_days; point enrichment.geoip_db_path and asn_db_path at up-to-date databases');
    }
  }
}
