export interface ShipperOptions {
  /** POST target, used verbatim. */
  url: string;
  /** Sent as X-Spip-ID. */
  sensorId: string;
  /** Sent as `Authorization: Bearer …`; never logged. */
  token: string;
  /** Most events per POST. */
  batchSize: number;
  /** Longest time an event waits for a batch to fill. */
  flushIntervalMs: number;
  insecureSkipVerify: boolean;
  /** undefined: events are held in memory only (bounded by memoryMaxEvents). */
  spoolDir: string | undefined;
  /** Bound on the spool segments; when full the oldest segment is dropped. */
  spoolMaxBytes: number;
  /** Bound on events held in memory (the queue itself, or the events waiting for the spool). */
  memoryMaxEvents: number;
  gzip: boolean;
  /** Largest uncompressed body per POST (Loom's limits.max_body_size_bytes). */
  maxBodyBytes: number;
  requestTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
}

export interface ShipperStats {
  /** Events accepted by enqueue and neither acknowledged by Loom nor dropped (memory + spool + in flight). */
  queuedEvents: number;
  /** Of queuedEvents, those written to the spool. */
  spooledEvents: number;
  /** Size of the spool segments on disk. */
  spooledBytes: number;
  sentEvents: number;
  sentBatches: number;
  failedAttempts: number;
  droppedEvents: Record<string, number>;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  lastStatus: number | undefined;
}

export type { LogFn, LogLevel } from '@loom/spool';

/** Reasons under which ShipperStats.droppedEvents counts events that will never reach Loom. */
export type DropReason =
  | 'queue_full'
  | 'spool_full'
  | 'rejected'
  | 'too_large'
  | 'unserializable'
  | 'corrupt'
  | 'closed'
  | 'shutdown';

export function validateOptions(options: ShipperOptions): void {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(options.url);
  } catch {
    problems.push(`url: not a URL: ${JSON.stringify(options.url)}`);
  }
  if (url !== undefined && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`url: expected http or https, got ${url.protocol}`);
  const positive: [string, number][] = [
    ['batchSize', options.batchSize],
    ['flushIntervalMs', options.flushIntervalMs],
    ['memoryMaxEvents', options.memoryMaxEvents],
    ['maxBodyBytes', options.maxBodyBytes],
    ['requestTimeoutMs', options.requestTimeoutMs],
    ['backoff.initialMs', options.backoff.initialMs],
    ['backoff.maxMs', options.backoff.maxMs],
  ];
  if (options.spoolDir !== undefined) positive.push(['spoolMaxBytes', options.spoolMaxBytes]);
  for (const [name, value] of positive) {
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name}: must be > 0, got ${value}`);
  }
  if (options.spoolDir === '') problems.push('spoolDir: empty (use undefined for no spool)');
  if (problems.length > 0) throw new Error(`shipper: ${problems.join('; ')}`);
}
