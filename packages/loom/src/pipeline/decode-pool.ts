import { Worker } from 'node:worker_threads';
import type { Logger } from '../logging.js';
import type { BodyFormat, DecodeLimits, DecodeResult } from '../sources/http-ingest/decode.js';
import type { DecodeJob } from './decode-worker.js';

interface Pending {
  resolve: (result: DecodeResult) => void;
  worker: PoolWorker;
}

interface PoolWorker {
  thread: Worker;
  inFlight: number;
}

/**
 * A fixed set of worker threads that decode request bodies. Each job goes to the least busy
 * thread. A thread that dies is replaced; its jobs fail with internal_error rather than hang.
 */
export class DecodePool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;

  constructor(
    private readonly size: number,
    private readonly limits: DecodeLimits,
    private readonly logger: Logger,
  ) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  /** Resolves when every thread has started; surfaces a broken build at startup, not on the first request. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve, reject) => {
      w.thread.once('online', resolve);
      w.thread.once('error', reject);
    })));
  }

  get threads(): number {
    return this.workers.length;
  }

  /** The body's memory is handed over to the worker: the caller must not use it afterwards. */
  decode(body: Uint8Array, format: BodyFormat, gzip: boolean): Promise<DecodeResult> {
    const worker = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    worker.inFlight++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, worker });
      const job: DecodeJob = { id, body, format, gzip };
      const transferable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      worker.thread.postMessage(job, transferable ? [body.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }

  private spawn(): PoolWorker {
    const thread = new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: this.limits });
    const worker: PoolWorker = { thread, inFlight: 0 };
    thread.on('message', (message: { id: number; result: DecodeResult }) => {
      const job = this.pending.get(message.id);
      if (job === undefined) return;
      this.pending.delete(message.id);
      worker.inFlight--;
      job.resolve(message.result);
    });
    thread.on('error', (error) => this.logger.error({ err: error }, 'decode worker failed'));
    thread.on('exit', (code) => {
      if (this.closing) return;
      this.logger.error({ exit_code: code }, 'decode worker exited; starting a new one');
      for (const [id, job] of this.pending) {
        if (job.worker !== worker) continue;
        this.pending.delete(id);
        job.resolve({ ok: false, code: 'internal_error', message: 'the decoder stopped while handling this batch; nothing was delivered' });
      }
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers[index] = this.spawn();
    });
    return worker;
  }
}
