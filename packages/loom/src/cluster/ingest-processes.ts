import cluster, { type Worker } from 'node:cluster';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { RateAuthority } from '../auth/rate-authority.js';
import type { TokenStore } from '../auth/token-store.js';
import type { LoomConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import type { BatchDelivery } from '../pipeline/pipeline.js';
import type { Batch } from '../sinks/types.js';
import { Channel, type Endpoint } from './channel.js';
import { batchPipeFd, describeFailure, notes, requests, reviveFailure, type GrantBody, type StartBody } from './protocol.js';
import { receiveBatches } from './batch-link.js';

export interface IngestProcessesOptions {
  config: LoomConfig;
  /** How many ingest processes, and decode threads in each. */
  processes: number;
  threads: number;
  tokens: TokenStore;
  pipeline: BatchDelivery;
  authorities: { request: RateAuthority; event: RateAuthority };
  metrics: Metrics;
  logger: Logger;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  channel: Channel | undefined;
  listening: boolean;
  /** Crashes in a row without a minute of healthy running: the restart delay grows with them. */
  crashes: number;
  startedAt: number;
  restartTimer: NodeJS.Timeout | undefined;
}

const workerEntry = fileURLToPath(new URL('./ingest-process.js', import.meta.url));
const metricsTimeoutMs = 2000;

/**
 * The primary's side of a multi-process Loom: forks the ingest processes, which share the
 * ingest listener through the cluster module, answers their deliveries with the one
 * pipeline and their rate-limit grants with the one set of buckets, pushes token reloads to
 * them, restarts one that dies, and stops them before the outputs close.
 */
export class IngestProcesses {
  private readonly slots: Slot[];
  private stopping = false;
  private inFlight = 0;

  constructor(private readonly options: IngestProcessesOptions) {
    this.slots = Array.from({ length: options.processes }, (_, i) => ({ index: i + 1, worker: undefined, channel: undefined, listening: false, crashes: 0, startedAt: 0, restartTimer: undefined }));
    options.metrics.includeRemote(() => this.remoteMetrics());
  }

  /** True while at least one ingest process accepts connections. */
  get listening(): boolean {
    return this.slots.some((slot) => slot.listening);
  }

  get listeningProcesses(): number {
    return this.slots.filter((slot) => slot.listening).length;
  }

  /** Batches the ingest processes handed over that the outputs have not answered yet. */
  get inFlightRequests(): number {
    return this.inFlight;
  }

  /** Forks every process; rejects (after stopping the others) if any cannot listen. */
  async start(): Promise<void> {
    // fd 3 is the IPC channel (control messages), fd 4 the pipe batches travel on.
    cluster.setupPrimary({ exec: workerEntry, args: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] });
    const results = await Promise.allSettled(this.slots.map((slot) => this.fork(slot, true)));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) {
      await this.stop();
      throw failure.reason;
    }
    this.options.logger.info({ processes: this.slots.length, threads_each: this.options.threads, pids: this.slots.map((slot) => slot.worker?.process.pid) }, 'ingest processes listening');
  }

  /** Pushes the current token set (as digests) to every process. */
  tokensChanged(): void {
    const digests = this.options.tokens.digests();
    for (const slot of this.slots) slot.channel?.note(notes.tokens, digests);
  }

  /** SIGHUP: each process reloads its enrichment databases. */
  reload(): void {
    for (const slot of this.slots) slot.channel?.note(notes.reload);
  }

  /** Each process stops accepting and finishes its in-flight requests; resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map(async (slot) => {
      clearTimeout(slot.restartTimer);
      const { worker, channel } = slot;
      if (worker === undefined || channel === undefined) return;
      const exited = new Promise<void>((resolve) => {
        if (worker.isDead()) resolve();
        else worker.once('exit', () => resolve());
      });
      await channel.request(requests.stop, undefined).catch(() => undefined);
      slot.listening = false;
      if (worker.isConnected()) worker.disconnect();
      await exited;
    }));
  }

  /** After the shutdown deadline: every process closes its connections now. */
  destroy(): void {
    for (const slot of this.slots) slot.channel?.note(notes.destroy);
  }

  /**
   * Starts the process of a slot; resolves when it listens. A restarted one (not `initial`)
   * that dies before listening is tried again later, like one that dies while serving.
   */
  private async fork(slot: Slot, initial: boolean): Promise<void> {
    const { config, logger } = this.options;
    const worker = cluster.fork();
    const channel = new Channel(worker as unknown as Endpoint, reviveFailure, describeFailure);
    slot.worker = worker;
    slot.channel = channel;
    slot.startedAt = Date.now();
    const pipe = worker.process.stdio[batchPipeFd];
    if (!(pipe instanceof Socket)) throw new Error('the ingest process has no batch pipe');
    receiveBatches(pipe, (batch) => this.deliver(batch), logger);
    channel.handle<GrantBody, unknown>(requests.grant, ({ limiter, key, min, max }) => this.options.authorities[limiter].grant(key, min, max));
    const start: StartBody = {
      index: slot.index,
      // Tokens never leave the primary; the processes get their digests.
      config: { ...config, auth: { ...config.auth, tokens: new Map() } },
      tokens: this.options.tokens.digests(),
      threads: this.options.threads,
      maxPendingBatches: Math.max(1, Math.ceil(config.limits.max_pending_batches / this.slots.length)),
      maxConnections: Math.max(1, Math.ceil(config.server.max_connections / this.slots.length)),
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let listened = false;
      channel.onNote<number | undefined>(notes.listening, () => {
        slot.listening = true;
        listened = true;
        settled = true;
        resolve();
      });
      channel.onNote<string>(notes.failed, (message) => {
        if (settled) return;
        settled = true;
        reject(new Error(message));
      });
      channel.onNote(notes.hello, () => channel.note(notes.start, start));
      worker.once('exit', (code, signal) => {
        slot.listening = false;
        channel.close();
        if (!settled) {
          settled = true;
          reject(new Error(`ingest process ${slot.index} exited during startup (${signal ?? `code ${code}`})`));
        }
        // A first start that fails fails Loom's startup; later ones are tried again.
        if (!this.stopping && !(initial && !listened)) this.restartLater(slot, code, signal);
      });
      logger.info({ process: slot.index, pid: worker.process.pid }, 'ingest process forked');
    });
  }

  private restartLater(slot: Slot, code: number | null, signal: string | null): void {
    const { logger, metrics } = this.options;
    slot.crashes = Date.now() - slot.startedAt > 60_000 ? 1 : slot.crashes + 1;
    const delayMs = Math.min(30_000, 500 * 2 ** (slot.crashes - 1));
    metrics.ingestProcessRestarts.inc();
    logger.error({ process: slot.index, code, signal, restart_in_ms: delayMs }, 'ingest process died; the others go on serving, restarting it');
    slot.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.fork(slot, false).catch((error: unknown) => {
        // Its exit, if it died, has scheduled the next attempt already.
        logger.error({ process: slot.index, err: error }, 'ingest process did not restart');
      });
    }, delayMs);
  }

  private async deliver(batch: Batch): Promise<void> {
    this.inFlight++;
    try {
      await this.options.pipeline.deliver(batch);
    } finally {
      this.inFlight--;
    }
  }

  private async remoteMetrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
    const answers = await Promise.all(this.slots.map(async (slot) => {
      if (!slot.listening || slot.channel === undefined) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), metricsTimeoutMs)));
      // A process that does not answer in time is left out of this scrape, not waited for.
      const answer = await Promise.race([slot.channel.request<MetricObjectWithValues<MetricValue<string>>[]>(requests.metrics, undefined).catch(() => undefined), timeout]);
      clearTimeout(timer);
      return answer;
    }));
    return answers.filter((answer) => answer !== undefined);
  }
}
