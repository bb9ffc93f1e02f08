import type { Duplex } from 'node:stream';
import { Deadlines } from './deadlines.js';

export type ReadResult = Buffer | 'end' | 'timeout';

/**
 * Turns a stream's 'data' events into awaitable reads with a deadline each, so that a
 * session can be written as a sequence of steps ("wait up to 10 s for the first byte").
 */
export class ChunkReader {
  private queue: Buffer[] = [];
  private ended = false;
  private waiter: ((result: ReadResult) => void) | undefined;
  private deadline = 0;

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  /** Resolves with the bytes received since the last read, 'end' once the peer is gone, or 'timeout'. */
  next(timeoutMs: number): Promise<ReadResult> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.ended) return Promise.resolve('end');
    this.deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      this.waiter = resolve;
      reads.watch(this);
    });
  }

  get expiresAt(): number {
    return this.deadline;
  }

  /** Called by the sweep once the read's deadline has passed. */
  expire(): void {
    this.settle('timeout');
  }

  /** Stops listening and hands back whatever arrived but was not read yet. */
  detach(): Buffer {
    this.stream.pause();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    this.settle('end');
    return this.queue.length > 0 ? this.take() : Buffer.alloc(0);
  }

  private take(): Buffer {
    const data = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue);
    this.queue = [];
    return data;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    if (this.waiter !== undefined) this.settle(this.take());
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.waiter !== undefined && this.queue.length === 0) this.settle('end');
  };

  private settle(result: ReadResult): void {
    reads.unwatch(this);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(result);
  }
}

// Pending reads share one sweep instead of a timer each; see Deadlines for its granularity.
const reads = new Deadlines<ChunkReader>(250);
