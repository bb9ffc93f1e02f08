import { ApiError } from '../errors.js';
import type { BatchDelivery } from '../pipeline/pipeline.js';
import type { Batch } from '../sinks/types.js';
import type { BatchSender } from './batch-link.js';
import { ChannelClosedError } from './channel.js';

/**
 * The pipeline as an ingest process sees it: batches go to the primary, which owns the
 * outputs and outboxes, and the client is answered only when the primary says every output
 * accepted the batch, exactly as in a single process.
 */
export class RemotePipeline implements BatchDelivery {
  private pending = 0;

  /** @param maxPending this process's share of limits.max_pending_batches */
  constructor(
    private readonly sender: BatchSender,
    private readonly maxPending: number,
  ) {}

  hasCapacity(): boolean {
    return this.pending < this.maxPending;
  }

  async deliver(batch: Batch): Promise<void> {
    this.pending++;
    try {
      await this.sender.deliver(batch);
    } catch (error) {
      // The primary may already have stored the batch; the client retries either way, as
      // after any lost answer.
      if (error instanceof ChannelClosedError) throw new ApiError('output_unavailable', 'the Loom primary process is not reachable; nothing of the batch is acknowledged, retry later', 1);
      throw error;
    } finally {
      this.pending--;
    }
  }
}
