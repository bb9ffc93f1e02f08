import { Worker } from 'node:worker_threads';
import { ApiError, type ApiErrorCode } from '../../errors.js';
import type { Logger } from '../../logging.js';
import type { BodyFormat } from '../http-ingest/decode.js';
import type { MapLimits, MappedBatch, RecordKind } from './map-body.js';
import type { MapJob } from './map-worker.js';
import { InputRefusal, InvalidRecordsError, type RecordProblem, type RejectReason } from './refusal.js';

export type MapReply =
  | { id: number; ok: true; count: number; ndjson: Uint8Array }
  | { id: number; ok: false; code: ApiErrorCode; reason: RejectReason | undefined; message: string; problems: readonly RecordProblem[] | undefined };

interface Thread {
  worker: Worker;
  pending: Map<number, (reply: MapReply) => void>;
}

/**
 * Threads that parse posted flow records and Zeek lines and map them to ECS, so that a large
 * body never stalls the ingest server's event loop. The events then go through the decode
 * threads like any input's. Threads start on first use (most installations post no records)
 * and are unref'd: they hold no state, so they never keep the process from exiting.
 */
export class MapPool {
  private readonly threads: (Thread | undefined)[];
  private nextId = 1;
  private nextThread = 0;

  constructor(size: number, private readonly limits: MapLimits, private readonly logger: Logger) {
    this.threads = new Array<Thread | undefined>(Math.max(1, size)).fill(undefined);
  }

  /** Resolves with the events, or rejects with the InputRefusal (or ApiError) the body earned. The body is handed over. */
  map(what: RecordKind, body: Uint8Array, format: BodyFormat, gzip: boolean, sensor: string): Promise<MappedBatch> {
    const index = this.nextThread;
    this.nextThread = (index + 1) % this.threads.length;
    const thread = this.threads[index] ?? this.spawn(index);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, (reply) => {
        if (reply.ok) resolve({ count: reply.count, ndjson: reply.ndjson });
        else if (reply.problems !== undefined) reject(new InvalidRecordsError(reply.problems, reply.reason));
        else if (reply.reason !== undefined) reject(new InputRefusal(reply.code, reply.reason, reply.message));
        else reject(new ApiError(reply.code, reply.message));
      });
      const job: MapJob = { id, what, body, format, gzip, sensor };
      const transferable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      thread.worker.postMessage(job, transferable ? [body.buffer as ArrayBuffer] : []);
    });
  }

  private spawn(index: number): Thread {
    const worker = new Worker(new URL('./map-worker.js', import.meta.url), { workerData: this.limits });
    const thread: Thread = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (reply: MapReply) => {
      const settle = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      settle?.(reply);
    });
    worker.on('error', (error) => this.logger.error({ err: error }, 'record mapping thread failed'));
    worker.on('exit', () => {
      if (this.threads[index] === thread) this.threads[index] = undefined;
      for (const [id, settle] of thread.pending) {
        settle({ id, ok: false, code: 'internal_error', reason: undefined, message: 'the mapping thread stopped while handling this batch; nothing was delivered', problems: undefined });
      }
      thread.pending.clear();
    });
    this.threads[index] = thread;
    return thread;
  }
}
