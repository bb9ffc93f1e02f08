import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { version } from '../version.js';

/**
 * Every metric Loom exports. Names of the earlier implementation are kept
 * (loom_ingest_requests_total, loom_ingest_events_total) so dashboards keep working;
 * the status label now carries the status actually sent (204, not "200").
 */
type RemoteMetrics = () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;

export class Metrics {
  readonly registry = new Registry();
  /** The ingest processes' registries, when Loom runs several (server.processes). */
  private remote: RemoteMetrics | undefined;

  readonly ingestRequests = new Counter({
    name: 'loom_ingest_requests_total',
    help: 'Ingest requests by sensor and HTTP status sent (sensor_id "unknown" before authentication).',
    labelNames: ['sensor_id', 'status'] as const,
    registers: [this.registry],
  });

  readonly ingestEvents = new Counter({
    name: 'loom_ingest_events_total',
    help: 'Events accepted and acknowledged, by sensor.',
    labelNames: ['sensor_id'] as const,
    registers: [this.registry],
  });

  readonly ingestBytes = new Counter({
    name: 'loom_ingest_bytes_total',
    help: 'Request body bytes received (as sent, before decompression), by sensor.',
    labelNames: ['sensor_id'] as const,
    registers: [this.registry],
  });

  readonly ingestRejected = new Counter({
    name: 'loom_ingest_rejected_total',
    help: 'Rejected ingest requests by error code (the "error" field of the response).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'loom_ingest_batch_duration_seconds',
    help: 'Time from request headers to response for accepted batches, including output acknowledgement.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly inputEvents = new Counter({
    name: 'loom_input_events_total',
    help: 'Events accepted from inputs other than the ingest API (NetFlow, Zeek, flow records, TCP JSON), by input.',
    labelNames: ['input'] as const,
    registers: [this.registry],
  });

  readonly inputRejected = new Counter({
    name: 'loom_input_rejected_total',
    help: 'Messages, packets, records or batches an input refused or could not deliver, by input and reason.',
    labelNames: ['input', 'reason'] as const,
    registers: [this.registry],
  });

  readonly outputSentEvents = new Counter({
    name: 'loom_output_sent_events_total',
    help: 'Events durably accepted by each output.',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outputErrors = new Counter({
    name: 'loom_output_errors_total',
    help: 'Batches an output did not accept (the client got 503 and retries).',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outputUp = new Gauge({
    name: 'loom_output_up',
    help: '1 when the output can accept batches, 0 when not.',
    labelNames: ['output', 'type'] as const,
    registers: [this.registry],
  });

  readonly outputDeliveredEvents = new Counter({
    name: 'loom_output_delivered_events_total',
    help: 'Events the destination confirmed (for outputs with an outbox, this happens after acknowledgement).',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outputRetries = new Counter({
    name: 'loom_output_retries_total',
    help: 'Delivery attempts that left events to retry (destination down, busy, or refusing for now).',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outputDeadLetters = new Counter({
    name: 'loom_output_dead_letter_events_total',
    help: 'Events the destination refused for good, written to the output\'s dead-letter file.',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outputDropped = new Counter({
    name: 'loom_output_dropped_events_total',
    help: 'Events an output did not keep, by reason: outbox_full (oldest dropped), outbox_full_refused (batch refused with 503, the client retries), corrupt (damaged outbox file).',
    labelNames: ['output', 'reason'] as const,
    registers: [this.registry],
  });

  readonly outputLastSuccess = new Gauge({
    name: 'loom_output_last_success_timestamp_seconds',
    help: 'When the destination last accepted a delivery (Unix seconds).',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outboxEvents = new Gauge({
    name: 'loom_outbox_events',
    help: 'Events in the output\'s outbox, not yet delivered.',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outboxBytes = new Gauge({
    name: 'loom_outbox_bytes',
    help: 'Size of the output\'s outbox segment files.',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly outboxOldestAge = new Gauge({
    name: 'loom_outbox_oldest_age_seconds',
    help: 'Age of the oldest undelivered event in the output\'s outbox (0 when empty).',
    labelNames: ['output'] as const,
    registers: [this.registry],
  });

  readonly pendingBatches = new Gauge({
    name: 'loom_pipeline_pending_batches',
    help: 'Batches accepted from clients and not yet acknowledged by every output.',
    registers: [this.registry],
  });

  readonly authTokens = new Gauge({
    name: 'loom_auth_tokens',
    help: 'Sensor tokens currently loaded.',
    // Every process of a multi-process Loom reports the same value: not a sum.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly ingestProcessRestarts = new Counter({
    name: 'loom_ingest_process_restarts_total',
    help: 'Ingest processes (server.processes) that died and were started again.',
    registers: [this.registry],
  });

  readonly authReloads = new Counter({
    name: 'loom_auth_reloads_total',
    help: 'Token reloads by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly enrichmentDatabaseInfo = new Gauge({
    name: 'loom_enrichment_database_info',
    help: 'Enrichment databases in use (1 each), by kind (geoip, asn), type, path and whether bundled.',
    labelNames: ['kind', 'type', 'path', 'bundled'] as const,
    // Every process of a multi-process Loom reports the same value: not a sum.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly enrichmentDatabaseBuild = new Gauge({
    name: 'loom_enrichment_database_build_timestamp_seconds',
    help: 'Build date of each enrichment database (Unix time), to alert on stale data.',
    labelNames: ['kind'] as const,
    // Every process of a multi-process Loom reports the same value: not a sum.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly enrichmentReloads = new Counter({
    name: 'loom_enrichment_reloads_total',
    help: 'Loads and reloads of enrichment data by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly intelIndicators = new Gauge({
    name: 'loom_intel_indicators',
    help: 'Indicators loaded per threat-intel list.',
    labelNames: ['list'] as const,
    // Every process of a multi-process Loom reports the same value: not a sum.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly netflowPackets = new Counter({
    name: 'loom_netflow_packets_total',
    help: 'Datagrams the NetFlow collector received, before the allow-list and the queue.',
    registers: [this.registry],
  });

  readonly netflowTemplates = new Gauge({
    name: 'loom_netflow_templates',
    help: 'NetFlow v9 and IPFIX templates (data and options) the collector currently knows, over all exporters.',
    registers: [this.registry],
  });

  readonly netflowLostFlows = new Counter({
    name: 'loom_netflow_lost_flows_total',
    help: 'Flows decoded but not delivered (UDP cannot ask the exporter to resend), by reason: output_unavailable (the outputs refused their batch), event_too_large, or another pipeline error code.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly sharedStateUp = new Gauge({
    name: 'loom_shared_state_up',
    help: '1 while the Redis of [shared_state] is connected; 0 while it is not (limits and blacklists are then decided per instance) or when shared_state is not configured.',
    registers: [this.registry],
  });

  readonly sharedStateErrors = new Counter({
    name: 'loom_shared_state_errors_total',
    help: 'Redis commands of [shared_state] that failed or timed out, by operation; each was decided by this instance alone.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor() {
    new Gauge({
      name: 'loom_build_info',
      help: 'Loom version; always 1.',
      labelNames: ['version'] as const,
      // Every process of a multi-process Loom reports the same value: not a sum.
    aggregator: 'max',
    registers: [this.registry],
    }).set({ version }, 1);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Adds other processes' metrics to /metrics: counters summed, shared gauges by their aggregator. */
  includeRemote(remote: RemoteMetrics): void {
    this.remote = remote;
  }

  /** The Prometheus text of this process, merged with the ingest processes' when there are any. */
  async exposition(): Promise<string> {
    if (this.remote === undefined) return this.registry.metrics();
    const [own, others] = await Promise.all([this.registry.getMetricsAsJSON(), this.remote()]);
    return AggregatorRegistry.aggregate([own, ...others]).metrics();
  }
}
