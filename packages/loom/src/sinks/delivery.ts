/**
 * The contract between the outbox and a network destination (ClickHouse, Elasticsearch,
 * Splunk HEC). The outbox owns durability, ordering, backoff and dead letters; a
 * destination only turns one batch into requests and reports, event by event, what the
 * far side did with it.
 */

export interface DeliveryBatch {
  /**
   * Stable across retries and restarts (it comes from the outbox record), so that a
   * destination can deduplicate a batch it may already have received: ClickHouse's
   * insert_deduplication_token, a document id prefix for Elasticsearch.
   */
  readonly id: string;
  /** The events, compact JSON, one per element, without a trailing newline. */
  readonly events: readonly string[];
  /**
   * One id per event, stable across retries and restarts (also when only some events of
   * the batch are retried), e.g. for Elasticsearch `_id`.
   */
  readonly eventIds: readonly string[];
  /**
   * The same events as one NDJSON buffer (each followed by "\n"), when the batch has them
   * that way: a destination that sends NDJSON-like bodies can use it instead of `events`
   * and skip per-event work. Absent for subsets built for a retry.
   */
  readonly ndjson?: Uint8Array;
}

export interface RejectedEvent {
  /** Index into DeliveryBatch.events. */
  index: number;
  /** What the destination said, e.g. `400 mapper_parsing_exception: failed to parse field [source.port]`. */
  reason: string;
}

/**
 * What happened to a batch. Every event index is in exactly one of: `retry`, `rejected`,
 * or neither (delivered).
 */
export interface DeliveryResult {
  /** Events the destination did not take but may take later (429, 5xx, network errors, auth). */
  retry: number[];
  /** Events refused for good (a 400 for that document): they go to the dead-letter file. */
  rejected: RejectedEvent[];
  /** Why `retry` is not empty, for logs and /ready, e.g. `503 from http://ch:8123: …`. */
  reason?: string;
  /** The destination asked to wait this long (Retry-After, or the HEC's busy status). */
  retryAfterMs?: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Why not, e.g. `connection refused (http://127.0.0.1:8123)`; never contains credentials. */
  reason?: string;
  /** What answered, for the startup log; description e.g. `Elasticsearch 8.15.0 (cluster "prod")`. */
  server?: { description: string };
}

/**
 * A network destination. Implementations never throw from deliver(): every failure is a
 * result (a throw is treated as "retry everything" by the outbox anyway). They must honour
 * the abort signal, which fires on shutdown and after the per-request timeout.
 */
export interface Destination {
  /** "clickhouse", "elasticsearch", "splunk_hec". */
  readonly type: string;
  /** Where it sends, for logs and metrics, without credentials. */
  readonly target: string;
  /** Checks that the destination answers (startup, /ready); never throws. */
  probe(signal: AbortSignal): Promise<ProbeResult>;
  deliver(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult>;
  close(): Promise<void>;
}

/** Every event delivered. */
export function allDelivered(): DeliveryResult {
  return { retry: [], rejected: [] };
}

/** Nothing delivered; everything worth retrying. */
export function retryAll(batch: DeliveryBatch, reason: string, retryAfterMs?: number): DeliveryResult {
  const result: DeliveryResult = { retry: batch.events.map((_, i) => i), rejected: [], reason };
  if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
  return result;
}

/**
 * Parses an HTTP Retry-After value (delta seconds or an HTTP date) into milliseconds,
 * capped at an hour so that a hostile or broken server cannot park the outbox for days.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, 3_600_000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), 3_600_000);
}
