import { availableParallelism } from 'node:os';
import { TokenStore } from './auth/token-store.js';
import { TokenReloader } from './auth/token-reloader.js';
import type { LoomConfig } from './config/types.js';
import { DashboardAggregator } from './dashboard/aggregator.js';
import { ClickHouseHistory } from './dashboard/clickhouse-history.js';
import type { Logger } from './logging.js';
import { ManagementServer } from './management/server.js';
import { Metrics } from './management/metrics.js';
import type { DecodePool } from './pipeline/decode-pool.js';
import { registerEnricherMetrics, startDecoding } from './pipeline/decoding.js';
import { IngestProcesses } from './cluster/ingest-processes.js';
import { Pipeline } from './pipeline/pipeline.js';
import { createSinks } from './sinks/create.js';
import { createInputs } from './sources/create.js';
import { IngestServer } from './sources/http-ingest/server.js';
import { PipelineSubmitter } from './sources/submitter.js';
import { createRateLimiters } from './shared-state/limiters.js';
import { SharedState } from './shared-state/redis.js';

/** A running Loom: what main needs to reload, reopen and stop it. */
export interface Service {
  readonly management: ManagementServer | undefined;
  readonly pipeline: Pipeline;
  /** SIGHUP: reload tokens and reopen output files. */
  reload(): Promise<void>;
  /** Graceful stop: no new batches, in-flight ones finish, outputs flush. False if the deadline forced it. */
  stop(): Promise<boolean>;
}

/**
 * Wires sources, the decode pool, the pipeline and sinks, and the management server, in
 * one direction: ingest → decode → pipeline → sinks. If any part fails to start, whatever
 * started is stopped again and the error propagates (the process must not run half-up).
 */
export async function startService(config: LoomConfig, logger: Logger): Promise<Service> {
  const metrics = new Metrics();
  const tokens = new TokenStore(config.auth.tokens);
  metrics.authTokens.set(tokens.size);
  const sharedState = SharedState.create(config.shared_state, { logger, metrics });
  const limiters = createRateLimiters(config.limits, sharedState);
  const cores = availableParallelism();
  const processes = config.server.processes === 0 ? cores : config.server.processes;
  const threads = config.server.workers > 0 ? config.server.workers : Math.max(1, Math.floor(cores / processes));
  const separateIngest = processes > 1;
  const wantsInputs = Object.values(config.inputs).some((input) => input.enabled);
  // With ingest processes, this process decodes only for the other inputs.
  const decoding = await startDecoding(config, separateIngest && !wantsInputs ? 0 : threads, metrics, logger);
  const { decoder, enrichmentData } = decoding;
  if (decoder !== undefined) registerEnricherMetrics(metrics, decoder);
  // The lookup API answers on the main thread with its own view of the same shared data.
  const lookupEnricher = decoding.newEnricher();
  const pipeline = new Pipeline(createSinks(config.outputs, logger, metrics), config.limits.max_pending_batches, metrics, logger);
  const adminToken = process.env.LOOM_ADMIN_TOKEN;
  // The dashboard's rolling aggregates are kept only when someone can see them.
  const aggregator = config.server.management_listen_address !== '' && adminToken !== undefined && adminToken !== '' ? new DashboardAggregator() : undefined;
  if (aggregator !== undefined) pipeline.setTap((batch, accepted) => aggregator.record(batch, accepted));
  const ingest: IngestProcesses | IngestServer = separateIngest
    ? new IngestProcesses({ config, processes, threads, tokens, pipeline, authorities: { request: limiters.requestAuthority, event: limiters.eventAuthority }, metrics, logger })
    : new IngestServer({ server: config.server, limits: config.limits, tokens, requestLimiter: limiters.requestLimiter, eventLimiter: limiters.eventLimiter, decoder: decoder as DecodePool, pipeline, metrics, logger });
  const inputs = decoder === undefined
    ? []
    : createInputs({ config, submitter: new PipelineSubmitter(decoder, pipeline, metrics, config.limits.max_events_per_batch), metrics, logger, sharedState });
  let stopping = false;
  const management = config.server.management_listen_address === ''
    ? undefined
    : new ManagementServer(config.server.management_listen_address, () => {
        const outputs = pipeline.states();
        if (stopping) return { ready: false, reason: 'shutting down', outputs };
        if (!ingest.listening) return { ready: false, reason: 'ingest listener is not bound', outputs };
        const unhealthy = outputs.find((output) => !output.ok);
        if (unhealthy) return { ready: false, reason: `output ${unhealthy.name}: ${unhealthy.reason ?? 'not healthy'}`, outputs };
        return { ready: true, outputs };
      }, config.observability.metrics_enabled ? metrics : undefined, logger, {
        adminToken,
        lookup: (ips) => Promise.all(ips.map((ip) => lookupEnricher.lookup(ip))),
        ...(aggregator === undefined ? {} : {
          dashboard: {
            aggregator,
            outputs: () => pipeline.states(),
            lookup: (ip: string) => lookupEnricher.lookup(ip),
            knownSensors: () => tokens.sensorIds(),
            history: ClickHouseHistory.fromOutputs(config.outputs),
          },
        }),
      });
  const reloader = new TokenReloader(config, tokens, metrics, logger, (sensors) => {
    limiters.requestLimiter.retain(sensors);
    limiters.eventLimiter.retain(sensors);
    if (ingest instanceof IngestProcesses) ingest.tokensChanged();
  });

  const started: (() => Promise<unknown>)[] = [];
  try {
    if (decoder !== undefined) {
      await decoder.ready();
      started.push(() => decoder.close());
    }
    await pipeline.start();
    started.push(() => pipeline.close());
    if (management) {
      await management.start();
      started.push(() => management.stop());
    }
    await ingest.start();
    started.push(() => ingest.stop());
    for (const input of inputs) {
      await input.start();
      started.push(() => input.stop());
    }
    reloader.watch();
    enrichmentData.watch();
  } catch (error) {
    reloader.unwatch();
    enrichmentData.unwatch();
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    await sharedState?.close();
    throw error;
  }
  logger.info({ processes, workers: threads, outputs: pipeline.sinks.map((s) => s.name), inputs: inputs.map((i) => i.name), sensors: tokens.size }, 'loom started');

  return {
    management,
    pipeline,
    async reload() {
      await reloader.reload('SIGHUP');
      await pipeline.reopen();
      for (const input of inputs) await input.reload?.();
      if (ingest instanceof IngestProcesses) ingest.reload();
      await enrichmentData.reload('SIGHUP');
    },
    async stop() {
      stopping = true;
      reloader.unwatch();
      enrichmentData.unwatch();
      lookupEnricher.close();
      const deadline = config.server.shutdown_timeout_seconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const graceful = (async () => {
        // Ingest processes finish their requests first: the pipeline must still be there for them.
        await Promise.all([ingest.stop(), ...inputs.map((input) => input.stop())]);
        await pipeline.close();
        return true;
      })();
      const forced = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadline);
      });
      const clean = await Promise.race([graceful, forced]);
      clearTimeout(timer);
      if (!clean) {
        logger.error({ in_flight: ingest.inFlightRequests, timeout_seconds: config.server.shutdown_timeout_seconds }, 'shutdown deadline reached; closing remaining connections (their batches were not acknowledged)');
        ingest.destroy();
      }
      await management?.stop();
      await decoder?.close();
      await sharedState?.close();
      return clean;
    },
  };
}
