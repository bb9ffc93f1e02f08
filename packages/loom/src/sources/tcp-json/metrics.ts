import { Counter, Gauge, type Registry } from 'prom-client';
import type { Metrics } from '../../management/metrics.js';
import type { Guard } from './abuse.js';

export type MessageOutcome = 'logged' | 'blacklisted' | 'rate_limited' | 'malformed' | 'internal_error';
export type ConnectionOutcome = 'accepted' | 'refused_not_allowed' | 'refused_max_connections' | 'refused_max_connections_per_ip';

/**
 * Counts kept as plain numbers on the hot path and read by the metrics on scrape (and by
 * the summary logged at shutdown), so that a message costs an increment, not a label lookup.
 */
export class TcpJsonStats {
  readonly messages: Record<MessageOutcome, number> = { logged: 0, blacklisted: 0, rate_limited: 0, malformed: 0, internal_error: 0 };
  readonly connections: Record<ConnectionOutcome, number> = { accepted: 0, refused_not_allowed: 0, refused_max_connections: 0, refused_max_connections_per_ip: 0 };
  openConnections = 0;
  idleClosed = 0;
  errorLogDropped = 0;

  /**
   * shared: Loom's metrics, when running inside Loom. Refusals also count in
   * loom_input_rejected_total; logged messages count in loom_input_events_total unless they
   * are forwarded, in which case the pipeline counts them.
   */
  constructor(
    private readonly input: string,
    private readonly shared: Metrics | undefined,
    private readonly forwarding: boolean,
  ) {}

  add(outcome: MessageOutcome, count: number): void {
    if (count === 0) return;
    this.messages[outcome] += count;
    if (this.shared === undefined) return;
    if (outcome !== 'logged') this.shared.inputRejected.inc({ input: this.input, reason: outcome }, count);
    else if (!this.forwarding) this.shared.inputEvents.inc({ input: this.input }, count);
  }
}

/** The protocol's own metrics, in Loom's registry. */
export function registerTcpJsonMetrics(registry: Registry, stats: TcpJsonStats, guard: Guard): void {
  new Counter({
    name: 'loom_tcp_json_messages_total',
    help: 'TCP JSON messages answered, by result: logged, blacklisted, rate_limited, malformed (invalid JSON, schema, size), internal_error.',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, value] of Object.entries(stats.messages)) this.inc({ result }, value);
    },
  });
  new Counter({
    name: 'loom_tcp_json_connections_total',
    help: 'TCP JSON connections, by result: accepted, refused_not_allowed, refused_max_connections, refused_max_connections_per_ip.',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, value] of Object.entries(stats.connections)) this.inc({ result }, value);
    },
  });
  new Gauge({
    name: 'loom_tcp_json_open_connections',
    help: 'TCP JSON connections open now.',
    registers: [registry],
    collect() {
      this.set(stats.openConnections);
    },
  });
  new Counter({
    name: 'loom_tcp_json_idle_closed_total',
    help: 'TCP JSON connections closed after server_settings.idle_timeout_seconds without data.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.idleClosed);
    },
  });
  new Gauge({
    name: 'loom_tcp_json_tracked_ips',
    help: 'Client addresses with rate, strike or blacklist state (at most protocol_settings.max_tracked_ips).',
    registers: [registry],
    collect() {
      this.set(guard.trackedAddresses);
    },
  });
  new Gauge({
    name: 'loom_tcp_json_blacklisted_ips',
    help: 'Addresses blacklisted by strikes now (the pre-configured blacklisted_ips not included).',
    registers: [registry],
    collect() {
      this.set(guard.blacklistedAddresses);
    },
  });
  new Counter({
    name: 'loom_tcp_json_blacklist_changes_total',
    help: 'Blacklist changes: added (by strikes), released (timed blacklist over), evicted (forgotten to stay within max_tracked_ips), shared (blacklisted by another instance, with shared state).',
    labelNames: ['change'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const { added, released, evicted, shared } = guard.counters;
      this.inc({ change: 'added' }, added);
      this.inc({ change: 'released' }, released);
      this.inc({ change: 'evicted' }, evicted);
      if (shared !== undefined) this.inc({ change: 'shared' }, shared);
    },
  });
  new Counter({
    name: 'loom_tcp_json_forgotten_ips_total',
    help: 'Clean addresses forgotten, with their strikes and rate counts, to stay within max_tracked_ips.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(guard.counters.forgotten);
    },
  });
  new Counter({
    name: 'loom_tcp_json_error_log_dropped_total',
    help: 'Malformed messages that could not be written to error_handling.error_log_path.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.errorLogDropped);
    },
  });
}
