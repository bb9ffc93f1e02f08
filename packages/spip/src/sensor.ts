import type { SpipConfig } from './config/types.js';
import { createLog, type Log } from './diagnostics.js';
import { buildEvent } from './event.js';
import { EventLog } from './event-log.js';
import { Listener } from './listener.js';
import { SensorMetrics } from './metrics.js';
import { originalDestinationAvailable } from './original-destination.js';
import { Shipper } from './shipper/shipper.js';
import { loadSecureContext } from './tls-context.js';

export interface RunningSensor {
  readonly listener: Listener;
  reopen(): void;
  stop(): Promise<void>;
}

/**
 * Wires the listener to the two destinations of every event: the local log (always) and
 * Loom (when enabled). Capture never waits for shipping: enqueue is synchronous and bounded.
 */
export async function startSensor(config: SpipConfig, log: Log = createLog(config.log_level)): Promise<RunningSensor> {
  log('info', 'Starting Spip agent...', { name: config.name, ports: config.ports });
  const secureContext = await loadSecureContext(config);
  log('info', secureContext !== undefined ? 'TLS enabled' : 'Running in plain TCP mode (TLS clients are fingerprinted from their ClientHello)');
  if (!originalDestinationAvailable) log('warn', 'original destination unavailable (native addon not loaded); destination is the local address');
  const events = new EventLog(config.log_file);
  let shipper: Shipper | undefined;
  if (config.loom.enabled) {
    const l = config.loom;
    shipper = new Shipper({
      url: l.url, sensorId: l.sensor_id, token: l.token, batchSize: l.batch_size, flushIntervalMs: l.flush_interval_ms,
      insecureSkipVerify: l.insecure_skip_verify, spoolDir: l.spool_dir === '' ? undefined : l.spool_dir, spoolMaxBytes: l.spool_max_bytes,
      memoryMaxEvents: l.memory_max_events, gzip: l.gzip, maxBodyBytes: l.max_body_bytes, requestTimeoutMs: l.request_timeout_seconds * 1000,
      backoff: { initialMs: 500, maxMs: 60_000 },
    }, (level, msg, fields) => log(level, `loom: ${msg}`, fields));
    await shipper.start();
    log('info', 'Loom enabled', { url: l.url, sensor_id: l.sensor_id, spool_dir: l.spool_dir || undefined });
  }
  const connections = { count: (_action: string): void => undefined };
  const identity = { name: config.name, communityIdSeed: config.community_id_seed };
  const listener: Listener = new Listener(config, secureContext, (record) => {
    const event = buildEvent(record, identity);
    connections.count(record.action);
    // Serialised once, for the local log and for Loom alike.
    const line = JSON.stringify(event);
    events.write(line);
    shipper?.enqueue(line);
  }, log);
  const metrics = new SensorMetrics(() => listener.activeConnections, shipper);
  connections.count = (action) => metrics.connections.inc({ action });
  if (config.metrics_listen_address !== '') await metrics.listen(config.metrics_listen_address, log);
  await listener.start();
  log('info', 'sensor started', { ports: listener.boundPorts() });

  return {
    listener,
    reopen: () => events.reopen(),
    async stop() {
      log('info', 'Shutdown signal received, closing listener');
      const forced = await listener.stop(config.shutdown_timeout_seconds * 1000);
      if (forced > 0) log('warn', `Graceful shutdown completed with error: shutdown timed out; ${forced} connections force-closed`);
      else log('info', 'Graceful shutdown completed');
      await shipper?.close(config.shutdown_timeout_seconds * 1000);
      await metrics.close();
      await events.close();
    },
  };
}
