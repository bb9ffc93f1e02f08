import { isIP } from 'node:net';
import { loadConfigFile } from './config/load.js';
import { ConfigError, type LoomConfig } from './config/types.js';
import { loadConfigText } from './config/load.js';
import { createLogger } from './logging.js';
import { Metrics } from './management/metrics.js';
import { Enricher } from './transforms/enricher.js';
import { EnrichmentDataManager } from './transforms/enrichment-data.js';

/**
 * `loom lookup IP… [-config FILE]`: the enrichment Loom would add for each address, as JSON,
 * using the databases, lists and DNS settings of the config (or the defaults without one).
 */
export async function runLookup(ips: readonly string[], configPath: string | undefined): Promise<number> {
  const invalid = ips.filter((ip) => isIP(ip) === 0);
  if (ips.length === 0 || invalid.length > 0) {
    process.stderr.write(ips.length === 0 ? 'loom lookup: give one or more IP addresses\n' : `loom lookup: not an IP address: ${invalid.join(', ')}\n`);
    return 2;
  }
  // Looking up needs no sensor tokens; a placeholder keeps the loader's token rule satisfied.
  const env = { ...process.env, LOOM_SENSOR_loom_lookup: 'lookup-only' };
  let config: LoomConfig;
  try {
    config = configPath === undefined ? loadConfigText('', { env }).config : (await loadConfigFile(configPath, env)).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config: ${error.message}\n`);
    return 1;
  }
  const logger = createLogger({ level: 'warn', format: 'console' });
  const data = new EnrichmentDataManager(config.enrichment, new Metrics(), logger);
  let enricher: Enricher;
  try {
    enricher = new Enricher({ fields: ['source'], cacheSize: 0, dns: config.enrichment.dns, risk: config.enrichment.risk }, await data.load());
  } catch (error) {
    process.stderr.write(`loom lookup: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const results = await Promise.all(ips.map((ip) => enricher.lookup(ip)));
  enricher.close();
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}
