import { randomUUID } from 'node:crypto';

/** Indexer acknowledgement: an event counts as delivered only once Splunk says it is indexed. */
export interface SplunkHecAckOptions {
  enabled: boolean;
  /**
   * The X-Splunk-Request-Channel GUID. HEC hands out ackIds per channel; one channel per
   * Loom process is what Splunk recommends for a single client. Generated at start if absent.
   */
  channel?: string;
  /** Pause between two queries of /services/collector/ack. */
  pollIntervalMs?: number;
  /** How long to wait for an ackId to turn true before the events are sent again. */
  timeoutMs?: number;
}

export interface SplunkHecOptions {
  /** Base URL of the collector, e.g. `https://splunk.example:8088` (a path prefix is kept). */
  url: string;
  /** The HEC token, already resolved from the environment. Never logged. */
  token: string;
  /** Target index; absent: the token's default index. */
  index?: string;
  /** Default `loom:ecs`. */
  sourcetype?: string;
  /** Absent: HEC's default (`http:<token name>`). */
  source?: string;
  /** A fixed host for every event; absent: the event's observer or host name, if any. */
  host?: string;
  /** `gzip` (default): request bodies with `Content-Encoding: gzip`. */
  compression?: 'gzip' | 'none';
  /** Whole request, connect to last response byte. Default 30 s. */
  timeoutMs?: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
  ack?: SplunkHecAckOptions;
  /**
   * Largest request body before compression. A batch above it is split into several
   * requests. Default 1,000,000 bytes: older Splunk versions default `max_content_length`
   * to that, and proxies in front of HEC often have limits of the same order.
   */
  maxRequestBytes?: number;
  /**
   * Name of the indexed field (HEC `fields`) that carries Loom's stable event id, so that
   * an event sent twice (at-least-once delivery) can be told apart in searches. Default
   * `loom_event_id`; an empty string sends no `fields`.
   */
  eventIdField?: string;
  /** Parallel connections to the collector. Default 4. */
  connections?: number;
}

export interface ResolvedSplunkHecOptions {
  url: string;
  token: string;
  index: string | undefined;
  sourcetype: string;
  source: string | undefined;
  host: string | undefined;
  compression: 'gzip' | 'none';
  timeoutMs: number;
  caFile: string | undefined;
  insecureSkipVerify: boolean;
  ack: { enabled: boolean; channel: string; pollIntervalMs: number; timeoutMs: number };
  maxRequestBytes: number;
  eventIdField: string;
  connections: number;
}

export const SPLUNK_HEC_DEFAULTS = {
  sourcetype: 'loom:ecs',
  compression: 'gzip',
  timeoutMs: 30_000,
  maxRequestBytes: 1_000_000,
  eventIdField: 'loom_event_id',
  connections: 4,
  ackPollIntervalMs: 1_000,
  /** Splunk's guidance: data whose ack is still false after about five minutes is to be sent again. */
  ackTimeoutMs: 300_000,
} as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Visible ASCII only: the token goes into an HTTP header and must not be able to split it. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** Applies the defaults and checks the values; errors never quote the token. */
export function resolveSplunkHecOptions(options: SplunkHecOptions): ResolvedSplunkHecOptions {
  if (!HEADER_SAFE.test(options.token)) {
    throw new Error('the Splunk HEC token is empty or contains spaces or control characters');
  }
  const channel = options.ack?.channel ?? randomUUID();
  if (!GUID.test(channel)) throw new Error(`the Splunk HEC ack channel must be a GUID, got "${channel}"`);
  const resolved: ResolvedSplunkHecOptions = {
    url: options.url,
    token: options.token,
    index: nonEmpty(options.index),
    sourcetype: nonEmpty(options.sourcetype) ?? SPLUNK_HEC_DEFAULTS.sourcetype,
    source: nonEmpty(options.source),
    host: nonEmpty(options.host),
    compression: options.compression ?? SPLUNK_HEC_DEFAULTS.compression,
    timeoutMs: options.timeoutMs ?? SPLUNK_HEC_DEFAULTS.timeoutMs,
    caFile: nonEmpty(options.caFile),
    insecureSkipVerify: options.insecureSkipVerify ?? false,
    ack: {
      enabled: options.ack?.enabled ?? false,
      channel,
      pollIntervalMs: options.ack?.pollIntervalMs ?? SPLUNK_HEC_DEFAULTS.ackPollIntervalMs,
      timeoutMs: options.ack?.timeoutMs ?? SPLUNK_HEC_DEFAULTS.ackTimeoutMs,
    },
    maxRequestBytes: options.maxRequestBytes ?? SPLUNK_HEC_DEFAULTS.maxRequestBytes,
    eventIdField: options.eventIdField ?? SPLUNK_HEC_DEFAULTS.eventIdField,
    connections: options.connections ?? SPLUNK_HEC_DEFAULTS.connections,
  };
  positive('timeout', resolved.timeoutMs);
  positive('maximum request size', resolved.maxRequestBytes);
  positive('connection count', resolved.connections);
  positive('ack poll interval', resolved.ack.pollIntervalMs);
  positive('ack timeout', resolved.ack.timeoutMs);
  return resolved;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function positive(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`the Splunk HEC ${what} must be a positive integer, got ${value}`);
}
