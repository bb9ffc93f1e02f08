import type { Socket } from 'node:net';
import { ApiError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Batch } from '../sinks/types.js';
import { ChannelClosedError, type RemoteFailure } from './channel.js';
import { encodeFrame, FrameReader, type Frame } from './frames.js';
import { describeFailure, reviveFailure } from './protocol.js';

/**
 * Batches from an ingest process to the primary, and the primary's answers, on a pipe of
 * their own (see frames.ts for why not the IPC channel).
 */
const kinds = { deliver: 1, delivered: 2, failed: 3 } as const;

/** The batch without its events, which travel as the frame's payload. */
type BatchHeader = Omit<Batch, 'ndjson'>;

/** Frames are batches: far below this unless the stream is broken. */
const maxFrameBytes = 1 << 30;

/** The ingest process's end: deliver() resolves once the primary's outputs took the batch. */
export class BatchSender {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private closed = false;

  constructor(private readonly socket: Socket, logger: Logger) {
    const reader = new FrameReader(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        logger.error({ err: error }, 'the batch pipe from the primary is broken');
        socket.destroy();
        return;
      }
      for (const frame of frames) this.answer(frame);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.close());
  }

  deliver(batch: Batch): Promise<void> {
    if (this.closed) return Promise.reject(new ChannelClosedError('the batch pipe to the primary is closed'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const header: BatchHeader = { id: batch.id, source: batch.source, sensorId: batch.sensorId, receivedAt: batch.receivedAt, count: batch.count };
    const [prefix, payload] = encodeFrame(kinds.deliver, id, header, batch.ndjson);
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.cork();
      this.socket.write(prefix);
      this.socket.write(payload);
      this.socket.uncork();
    });
  }

  private answer(frame: Frame): void {
    const waiter = this.waiting.get(frame.id);
    if (waiter === undefined) return;
    this.waiting.delete(frame.id);
    if (frame.kind === kinds.delivered) waiter.resolve();
    else waiter.reject(reviveFailure(frame.header as RemoteFailure));
  }

  private close(): void {
    this.closed = true;
    for (const { reject } of this.waiting.values()) reject(new ChannelClosedError('the primary went away before answering'));
    this.waiting.clear();
  }
}

/** The primary's end: every batch that arrives is handed to `deliver` and answered. */
export function receiveBatches(socket: Socket, deliver: (batch: Batch) => Promise<void>, logger: Logger): void {
  const reader = new FrameReader(maxFrameBytes);
  const reply = (kind: number, id: number, header: unknown): void => {
    if (socket.destroyed) return;
    const [prefix] = encodeFrame(kind, id, header);
    socket.write(prefix);
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch (error) {
      logger.error({ err: error }, 'the batch pipe from an ingest process is broken; closing it');
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.kind !== kinds.deliver) continue;
      const batch: Batch = { ...(frame.header as BatchHeader), ndjson: frame.payload };
      deliver(batch).then(
        () => reply(kinds.delivered, frame.id, null),
        (error: unknown) => reply(kinds.failed, frame.id, describeFailure(error instanceof Error ? error : new ApiError('internal_error'))),
      );
    }
  });
  socket.on('error', () => undefined);
}
