/**
 * A batch of events that a source has accepted from one client and that the pipeline
 * hands to every sink. Events are already serialised: one compact JSON object per line.
 */
export interface Batch {
  /** Unique id of this batch; stable across retries so destinations can deduplicate. */
  readonly id: string;
  /** The input it came from, e.g. "http-ingest". */
  readonly source: string;
  /** Authenticated sensor id (or exporter/client identity for other inputs). */
  readonly sensorId: string;
  /** Milliseconds since the epoch when the source accepted the batch. */
  readonly receivedAt: number;
  /** Number of events (= lines) in ndjson. */
  readonly count: number;
  /** The events, each followed by "\n". */
  readonly ndjson: Uint8Array;
}

/** What an operator (and /ready, /api/v1/outputs) sees of one output. */
export interface OutputState {
  name: string;
  type: string;
  ok: boolean;
  /** Why not ok. */
  reason?: string;
  /** Where it sends, without credentials (network outputs). */
  target?: string;
  outbox?: { events: number; bytes: number; oldest_age_seconds: number; max_bytes: number };
  /** Unix ms of the last delivery the destination accepted. */
  last_success_at?: number;
  /** The destination's last error, while deliveries fail. */
  last_error?: string;
  dead_letters?: number;
  dropped?: Record<string, number>;
}

export interface SinkHealth {
  ok: boolean;
  /** Why the sink cannot accept batches now (shown by /ready). */
  reason?: string;
}

/**
 * A destination for events.
 *
 * write() resolves only once the sink has durably accepted every event of the batch
 * (written to its destination, or to its own durable queue); the pipeline acknowledges
 * the source only then. It rejects with SinkUnavailableError when the batch was not
 * accepted and the client should retry later: no part of it may then be claimed delivered.
 */
export interface Sink {
  readonly name: string;
  readonly type: string;
  /** Opens files and connections; a failure here is a startup error. */
  start(): Promise<void>;
  write(batch: Batch): Promise<void>;
  health(): SinkHealth;
  /**
   * Why this sink would refuse the batch right now (a full outbox), checked for every sink
   * before any is written to, so that one full output does not make the others take the
   * batch again and again while its client retries. undefined = it would take it.
   */
  refuses?(batch: Batch): SinkUnavailableError | undefined;
  /** Details beyond health (outbox depth, last success), for outputs that have them. */
  details?(): Omit<OutputState, 'name' | 'type' | 'ok' | 'reason'>;
  /** Re-opens files (SIGHUP after logrotate). */
  reopen(): Promise<void>;
  /** Flushes and releases resources; write() must not be called afterwards. */
  close(): Promise<void>;
}

export class SinkUnavailableError extends Error {
  override name = 'SinkUnavailableError';
  constructor(
    message: string,
    /** Seconds after which a retry is worth it. */
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
