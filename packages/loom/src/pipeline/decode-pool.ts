import { Worker } from 'node:worker_threads';
import type { Logger } from '../logging.js';
import type { BodyFormat, DecodeLimits, DecodeResult } from '../sources/http-ingest/decode.js';
import type { EnricherStats, EnrichmentData, EnrichmentSettings } from '../transforms/enricher.js';
import type { DecodeJob, DecodeWorkerData, SwapMessage } from './decode-worker.js';

type WorkerMessage =
  | { type: 'result'; id: number; result: DecodeResult }
  | { type: 'stats'; stats: EnricherStats }
  | { type: 'warning'; message: string };

interface Pending {
  resolve: (result: DecodeResult) => void;
  worker: PoolWorker;
}

interface PoolWorker {
  thread: Worker;
  inFlight: number;
  stats: EnricherStats | undefined;
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

  private enrichment: { settings: EnrichmentSettings; data: EnrichmentData } | undefined;

  constructor(
    private readonly size: number,
    private readonly limits: DecodeLimits,
    private readonly logger: Logger,
    enrichment?: { settings: EnrichmentSettings; data: EnrichmentData },
  ) {
    this.enrichment = enrichment;
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
      const job: DecodeJob = { type: 'decode', id, body, format, gzip };
      const transferable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      worker.thread.postMessage(job, transferable ? [body.buffer as ArrayBuffer] : []);
    });
  }

  /** Sends reloaded enrichment data to every thread (and to threads started later). */
  swapEnrichment(data: EnrichmentData): void {
    if (this.enrichment === undefined) return;
    this.enrichment = { settings: this.enrichment.settings, data };
    const message: SwapMessage = { type: 'swap', data };
    for (const worker of this.workers) worker.thread.postMessage(message);
  }

  /** Enrichment counters summed over the threads (as of their last report). */
  enricherStats(): EnricherStats[] {
    return this.workers.flatMap((w) => (w.stats === undefined ? [] : [w.stats]));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }

  private spawn(): PoolWorker {
    const data: DecodeWorkerData = { limits: this.limits, enrichment: this.enrichment, statsIntervalMs: 5000 };
    const thread = new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: data });
    const worker: PoolWorker = { thread, inFlight: 0, stats: undefined };
    thread.on('message', (message: WorkerMessage) => {
      if (message.type === 'stats') {
        worker.stats = message.stats;
        return;
      }
      if (message.type === 'warning') {
        this.logger.warn(message.message);
        return;
      }
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
