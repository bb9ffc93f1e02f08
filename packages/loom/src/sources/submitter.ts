import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import type { Metrics } from '../management/metrics.js';
import type { DecodePool } from '../pipeline/decode-pool.js';
import type { BatchDelivery } from '../pipeline/pipeline.js';

/** Events one input gathered, ready to be enriched and delivered. */
export interface InputBatch {
  /** The input, as in metrics: "netflow", "zeek", "flows", "tcp_json". */
  input: string;
  /** Who sent them: the exporter's address, the sensor id, the client's address. */
  sender: string;
  /** ECS events as compact JSON, each followed by "\n". */
  ndjson: Uint8Array;
}

/**
 * The one way into the pipeline for every input besides the HTTP ingest API: events go
 * through the same decode threads (checks, enrichment) and the same outputs, and a batch
 * counts as accepted only when every output accepted it durably.
 */
export interface EventSubmitter {
  /**
   * Resolves with the number of events once every output has durably accepted them.
   * Rejects with an ApiError (its code says why: output_unavailable, invalid_request, …);
   * nothing of a rejected batch may be treated as delivered.
   */
  submit(batch: InputBatch): Promise<number>;
  /** False when too many batches are in flight: an input should shed or pause. */
  hasCapacity(): boolean;
  /** Most events per submitted batch (limits.max_events_per_batch). */
  readonly maxEventsPerBatch: number;
}

export class PipelineSubmitter implements EventSubmitter {
  constructor(
    private readonly decoder: DecodePool,
    private readonly pipeline: BatchDelivery,
    private readonly metrics: Metrics,
    readonly maxEventsPerBatch: number,
  ) {}

  hasCapacity(): boolean {
    return this.pipeline.hasCapacity();
  }

  async submit(batch: InputBatch): Promise<number> {
    const labels = { input: batch.input };
    try {
      if (!this.pipeline.hasCapacity()) throw new ApiError('output_unavailable', 'too many batches are waiting for the outputs; retry later', 1);
      const decoded = await this.decoder.decode(batch.ndjson, 'ndjson', false);
      if (!decoded.ok) throw new ApiError(decoded.code, decoded.message);
      await this.pipeline.deliver({ id: randomUUID(), source: batch.input, sensorId: batch.sender, receivedAt: Date.now(), count: decoded.count, ndjson: decoded.ndjson });
      this.metrics.inputEvents.inc(labels, decoded.count);
      return decoded.count;
    } catch (error) {
      const code = error instanceof ApiError ? error.code : 'internal_error';
      this.metrics.inputRejected.inc({ ...labels, reason: code });
      throw error instanceof ApiError ? error : new ApiError('internal_error', error instanceof Error ? error.message : String(error));
    }
  }
}
