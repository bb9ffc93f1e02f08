/**
 * An ingest process of a multi-process Loom (server.processes > 1): accepts connections on
 * the shared listener, authenticates, decodes and enriches, and hands each batch to the
 * primary, which owns the outputs. It has no config file, signals or outputs of its own:
 * the primary starts, reloads and stops it over the IPC channel.
 */
import { Socket } from 'node:net';
import { LeasedRateLimiter } from '../auth/leased-rate-limiter.js';
import { TokenStore } from '../auth/token-store.js';
import { createLogger, type Logger } from '../logging.js';
import { Metrics } from '../management/metrics.js';
import { registerEnricherMetrics, startDecoding } from '../pipeline/decoding.js';
import { IngestServer } from '../sources/http-ingest/server.js';
import { Channel, type Endpoint } from './channel.js';
import { leaseSize } from '../shared-state/limiters.js';
import { batchPipeFd, describeFailure, notes, requests, reviveFailure, type StartBody, type TokenDigests } from './protocol.js';
import { RemotePipeline } from './remote-pipeline.js';
import { BatchSender } from './batch-link.js';
import { RemoteRateAuthority } from './remote-rate-authority.js';

const channel = new Channel(process as unknown as Endpoint, reviveFailure, describeFailure);
let logger: Logger | undefined;
let stopped = false;

// A terminal's Ctrl-C and systemd's SIGTERM reach every process of the group; only the
// primary decides when and in which order the processes stop.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

process.on('disconnect', () => {
  // Without the primary no batch can be acknowledged: leave, so that clients retry elsewhere.
  if (!stopped) logger?.error('the primary process went away; exiting');
  logger?.flush();
  process.exit(stopped ? 0 : 1);
});

channel.onNote<StartBody>(notes.start, (body) => {
  start(body).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    channel.note(notes.failed, message);
    logger?.flush();
    // Give the note time to leave before the channel closes.
    setTimeout(() => process.exit(1), 100).unref();
  });
});

// The primary's 'online' event comes before this module has run; it waits for this instead.
channel.note(notes.hello);

async function start({ index, config, tokens: digests, threads, maxPendingBatches, maxConnections }: StartBody): Promise<void> {
  logger = createLogger(config.logging).child({ process: `ingest-${index}` });
  const metrics = new Metrics();
  const tokens = new TokenStore(new Map());
  tokens.replaceDigests(digests);
  const { limits } = config;
  const requestLimiter = new LeasedRateLimiter(new RemoteRateAuthority(channel, 'request', limits.per_sensor_rps > 0), leaseSize(limits.per_sensor_rps));
  const eventLimiter = new LeasedRateLimiter(new RemoteRateAuthority(channel, 'event', limits.per_sensor_events_rps > 0), leaseSize(limits.per_sensor_events_rps));
  const { decoder, enrichmentData } = await startDecoding(config, threads, metrics, logger);
  if (decoder === undefined) throw new Error('an ingest process needs at least one decode thread');
  registerEnricherMetrics(metrics, decoder);
  const ingest = new IngestServer({
    server: { ...config.server, max_connections: maxConnections },
    limits,
    tokens,
    requestLimiter,
    eventLimiter,
    decoder,
    pipeline: new RemotePipeline(new BatchSender(new Socket({ fd: batchPipeFd, readable: true, writable: true }), logger), maxPendingBatches),
    metrics,
    logger,
  });
  await decoder.ready();
  await ingest.start();
  enrichmentData.watch();

  channel.onNote<TokenDigests>(notes.tokens, (next) => {
    tokens.replaceDigests(next);
    const sensors = new Set(tokens.sensorIds());
    requestLimiter.retain(sensors);
    eventLimiter.retain(sensors);
  });
  channel.onNote(notes.reload, () => {
    enrichmentData.reload('SIGHUP').catch((error: unknown) => logger?.error({ err: error }, 'reload failed'));
  });
  channel.onNote(notes.destroy, () => ingest.destroy());
  channel.handle(requests.metrics, () => metrics.registry.getMetricsAsJSON());
  channel.handle(requests.stop, async () => {
    stopped = true;
    await ingest.stop();
    enrichmentData.unwatch();
    await decoder.close();
    return true;
  });
  channel.note(notes.listening, ingest.address?.port);
}
