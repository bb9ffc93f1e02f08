import { ApiError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import { SinkUnavailableError, type Batch, type OutputState, type Sink, type SinkHealth } from '../sinks/types.js';

/** What a source needs of the pipeline: in this process, or in the primary over IPC. */
export interface BatchDelivery {
  /** False when another batch would exceed the pending-batch limit: the source should shed load. */
  hasCapacity(): boolean;
  /** Resolves when every output durably accepted the batch; throws ApiError otherwise. */
  deliver(batch: Batch): Promise<void>;
}

/**
 * Hands each batch to every sink and acknowledges it only when all of them have durably
 * accepted it. A sink that fails makes the whole batch fail (the client retries it), so no
 * source is ever told that a batch was delivered when part of it was not.
 */
export class Pipeline implements BatchDelivery {
  private pending = 0;
  private drained: (() => void) | undefined;
  private tap: ((batch: Batch, accepted: boolean) => void) | undefined;

  constructor(
    readonly sinks: readonly Sink[],
    private readonly maxPending: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    metrics.outputUp.reset();
    for (const sink of sinks) {
      metrics.outputUp.set({ output: sink.name, type: sink.type }, 1);
    }
  }

  async start(): Promise<void> {
    for (const sink of this.sinks) await sink.start();
  }

  /** False when another batch would exceed limits.max_pending_batches: the source should shed load. */
  hasCapacity(): boolean {
    return this.pending < this.maxPending;
  }

  /** Calls `tap` with every non-empty batch once the outputs accepted it (true) or did not (false). */
  setTap(tap: (batch: Batch, accepted: boolean) => void): void {
    this.tap = tap;
  }

  /** Resolves when every sink accepted the batch; throws ApiError 503 otherwise. */
  async deliver(batch: Batch): Promise<void> {
    this.pending++;
    this.metrics.pendingBatches.set(this.pending);
    let accepted = false;
    try {
      if (batch.count === 0) return;
      for (const sink of this.sinks) {
        const refusal = sink.refuses?.(batch);
        if (refusal === undefined) continue;
        this.metrics.outputErrors.inc({ output: sink.name });
        throw new ApiError('output_unavailable', `output "${sink.name}" could not accept the batch (${refusal.message}); nothing of it is acknowledged, retry later`, refusal.retryAfterSeconds);
      }
      const results = await Promise.allSettled(this.sinks.map((sink) => sink.write(batch)));
      let retryAfter = 0;
      let failed: string | undefined;
      let why: string | undefined;
      results.forEach((result, i) => {
        const sink = this.sinks[i] as Sink;
        if (result.status === 'fulfilled') {
          this.metrics.outputSentEvents.inc({ output: sink.name }, batch.count);
          return;
        }
        this.metrics.outputErrors.inc({ output: sink.name });
        const reason: unknown = result.reason;
        retryAfter = Math.max(retryAfter, reason instanceof SinkUnavailableError ? reason.retryAfterSeconds : 1);
        if (failed === undefined) {
          failed = sink.name;
          // A sink's own explanation (outbox full, disk error) is safe to show: it names no secret.
          why = reason instanceof SinkUnavailableError ? reason.message : undefined;
        }
        this.logger.error({ output: sink.name, sensor_id: batch.sensorId, events: batch.count, err: reason }, 'output did not accept batch');
      });
      if (failed !== undefined) {
        throw new ApiError('output_unavailable', `output "${failed}" could not accept the batch${why === undefined ? '' : ` (${why})`}; nothing of it is acknowledged, retry later`, retryAfter);
      }
      accepted = true;
    } finally {
      if (this.tap !== undefined && batch.count > 0) {
        try {
          this.tap(batch, accepted);
        } catch (error) {
          this.logger.error({ err: error }, 'pipeline tap failed');
        }
      }
      this.pending--;
      this.metrics.pendingBatches.set(this.pending);
      if (this.pending === 0) this.drained?.();
    }
  }

  /** Health of every sink, refreshed into the loom_output_up gauge. */
  health(): { name: string; health: SinkHealth }[] {
    return this.sinks.map((sink) => {
      const health = sink.health();
      this.metrics.outputUp.set({ output: sink.name, type: sink.type }, health.ok ? 1 : 0);
      return { name: sink.name, health };
    });
  }

  /** Every output's health and details, in config order. */
  states(): OutputState[] {
    return this.health().map(({ name, health }, i) => {
      const sink = this.sinks[i] as Sink;
      return { name, type: sink.type, ok: health.ok, ...(health.reason === undefined ? {} : { reason: health.reason }), ...sink.details?.() };
    });
  }

  async reopen(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.reopen()));
  }

  /** Waits for batches in flight, then flushes and closes every sink. */
  async close(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.allSettled(this.sinks.map((sink) => sink.close()));
  }
}
