import { DeadLetters, DiskSpool, Throttle, bodySize, type DeadLetter, type EventStore, type Ready, type Taken } from '@loom/spool';
import { encodeBody } from './body.js';
import { MemoryStore } from './memory-store.js';
import { validateOptions, type DropReason, type LogFn, type ShipperOptions, type ShipperStats } from './options.js';
import { decide } from './retry-policy.js';
import { Transport, type PostOutcome } from './transport.js';

const STATUS_INTERVAL_MS = 60_000;
const ERROR_LOG_INTERVAL_MS = 60_000;
const DROP_LOG_INTERVAL_MS = 10_000;
const INTERNAL_ERROR_PAUSE_MS = 1000;
const MIB = 1024 * 1024;

type PartResult =
  | { kind: 'sent' }
  | { kind: 'aborted' }
  | { kind: 'refused'; action: 'split' | 'bisect'; outcome: Extract<PostOutcome, { kind: 'response' }>; bodyBytes: number };

/**
 * Ships events to Loom: enqueue() serialises each event once and hands it to the store
 * (memory queue or disk spool); one sender loop takes batches from the store in order,
 * POSTs them one at a time, and acknowledges them to the store only once Loom answered
 * 2xx (or the events were dead-lettered). See docs/SHIPPING.md.
 */
export class Shipper {
  private readonly options: ShipperOptions;
  private readonly store: EventStore;
  private readonly transport: Transport;
  private readonly deadLetters: DeadLetters;
  private readonly abort = new AbortController();
  private readonly dropped: Record<string, number> = {};
  private readonly errorThrottle = new Throttle(ERROR_LOG_INTERVAL_MS);
  private readonly dropThrottle = new Throttle(DROP_LOG_INTERVAL_MS);
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private waiter: (() => void) | undefined;
  private waiterHasDeadline = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus: string | undefined;
  /** Consecutive failed attempts, for the backoff. */
  private attempt = 0;
  /** Lowered when Loom answers 413 for a batch: its limits are below the configured ones. */
  private batchEvents: number;
  private batchBytes: number;
  private sentEvents = 0;
  private sentBatches = 0;
  private failedAttempts = 0;
  private sentAtLastStatus = 0;
  private lastSuccessAt: number | undefined;
  private lastError: string | undefined;
  private lastHttpStatus: number | undefined;

  constructor(options: ShipperOptions, private readonly log: LogFn) {
    validateOptions(options);
    this.options = { ...options, backoff: { ...options.backoff } };
    this.batchEvents = options.batchSize;
    this.batchBytes = options.maxBodyBytes;
    const onDrop = (reason: DropReason, events: number, detail?: Record<string, unknown>): void => this.drop(reason, events, detail);
    const safeLog: LogFn = (level, msg, fields) => this.safeLog(level, msg, fields);
    this.store = options.spoolDir === undefined
      ? new MemoryStore(options.memoryMaxEvents, onDrop)
      : new DiskSpool({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes, memoryMaxEvents: options.memoryMaxEvents, onDrop, log: safeLog });
    this.store.onReady = () => this.notify();
    this.transport = new Transport(options);
    this.deadLetters = new DeadLetters(options.spoolDir, Math.max(MIB, Math.floor(options.spoolMaxBytes / 8)), safeLog);
  }

  /** Opens the spool (if any); what a previous run left is sent first, in order. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`shipper: start() when ${this.state}`);
    await this.store.open();
    this.state = 'running';
    this.loop = this.run();
    this.statusTimer = setInterval(() => this.statusLine(), STATUS_INTERVAL_MS);
    this.statusTimer.unref();
    this.safeLog('info', 'shipper started', {
      url: redactUrl(this.options.url), spool: this.options.spoolDir ?? null, batchSize: this.options.batchSize, gzip: this.options.gzip,
    });
  }

  /** Never blocks and never throws: a full queue drops its oldest event (counted). */
  /** Queues one event: an object, or the event already serialised as a JSON object. */
  enqueue(event: object | string): void {
    try {
      if (this.state === 'closing' || this.state === 'closed') {
        this.drop('closed', 1);
        return;
      }
      let json: string | undefined;
      try {
        json = typeof event === 'string' ? event : JSON.stringify(event);
      } catch (error) {
        this.drop('unserializable', 1, { error: errorText(error) });
        return;
      }
      if (typeof json !== 'string' || !json.startsWith('{')) {
        this.drop('unserializable', 1, { error: 'not a JSON object' });
        return;
      }
      const line = Buffer.from(json, 'utf8');
      if (bodySize(line.length, 1) > this.options.maxBodyBytes) {
        this.drop('too_large', 1, { bytes: line.length });
        void this.deadLetters.write([{
          record: line, reason: 'too_large', status: undefined, error: undefined,
          message: `event is ${line.length} bytes; maxBodyBytes is ${this.options.maxBodyBytes}`,
        }]);
        return;
      }
      this.store.push(line);
    } catch (error) {
      this.safeLog('error', 'shipper: enqueue failed', { error: errorText(error) });
    }
  }

  stats(): ShipperStats {
    const counts = this.store.counts();
    return {
      queuedEvents: counts.queued,
      spooledEvents: counts.spooled,
      spooledBytes: counts.spooledBytes,
      sentEvents: this.sentEvents,
      sentBatches: this.sentBatches,
      failedAttempts: this.failedAttempts,
      droppedEvents: { ...this.dropped },
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      lastStatus: this.lastHttpStatus,
    };
  }

  /**
   * Stops taking events, keeps sending for up to `deadlineMs` from now, then writes what
   * is left to the spool so the next start() sends it. Without a spool, what is left is
   * lost and counted as dropped ("shutdown").
   */
  close(deadlineMs: number): Promise<void> {
    this.closing ??= this.shutdown(deadlineMs);
    return this.closing;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'closing';
    this.waiter?.();
    if (wasRunning) {
      const timer = setTimeout(() => this.abort.abort(), Math.max(0, deadlineMs));
      await this.loop;
      clearTimeout(timer);
    } else {
      // Never started: open the spool anyway so that events enqueued so far are kept.
      await this.store.open().catch((error: unknown) => this.safeLog('error', 'shipper: cannot open the spool', { error: errorText(error) }));
    }
    this.abort.abort();
    clearInterval(this.statusTimer);
    const lost = await this.store.close();
    if (lost > 0) {
      this.drop('shutdown', lost);
      this.safeLog('warn', this.options.spoolDir === undefined
        ? 'shipper: closed with events not yet sent; without a spool directory they are lost'
        : 'shipper: closed with events that could not be written to the spool; they are lost', { events: lost });
    }
    await this.deadLetters.close();
    this.transport.destroy();
    this.state = 'closed';
    this.statusLine(true);
  }

  // ---- the sender loop ----

  private async run(): Promise<void> {
    for (;;) {
      let taken: Taken | undefined;
      try {
        taken = await this.nextBatch();
        if (taken === undefined) return;
        if (!(await this.deliver(taken))) {
          await this.store.release(taken);
          return;
        }
      } catch (error) {
        this.safeLog('error', 'shipper: internal error; carrying on', { error: errorText(error) });
        if (taken !== undefined) await this.store.release(taken).catch(() => undefined);
        await this.sleep(INTERNAL_ERROR_PAUSE_MS);
      }
    }
  }

  /** Waits until a batch is due: full (events or bytes), old enough, or the shipper is closing. */
  private async nextBatch(): Promise<Taken | undefined> {
    for (;;) {
      if (this.abort.signal.aborted) return undefined;
      const ready = this.store.ready();
      const closing = this.state !== 'running';
      if (ready.events > 0 && (closing || this.isDue(ready))) {
        const taken = await this.store.take(this.batchEvents, this.batchBytes);
        if (taken !== undefined) return taken;
        // Ready records that turned out unreadable were skipped: look again shortly.
        await this.waitForWork(100);
        continue;
      } else if (ready.events === 0 && closing && this.store.pending() === 0) {
        return undefined;
      }
      const waitMs = ready.events > 0 ? Math.max(1, (ready.since ?? Date.now()) + this.options.flushIntervalMs - Date.now()) : undefined;
      await this.waitForWork(waitMs);
    }
  }

  private isDue(ready: Ready): boolean {
    return ready.events >= this.batchEvents
      || bodySize(ready.bytes, ready.events) >= this.batchBytes
      || Date.now() - (ready.since ?? 0) >= this.options.flushIntervalMs;
  }

  private waitForWork(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      if (ms !== undefined) {
        timer = setTimeout(done, ms);
        timer.unref();
      }
      this.abort.signal.addEventListener('abort', done, { once: true });
      this.waiter = done;
      this.waiterHasDeadline = ms !== undefined;
    });
  }

  /** Called by the store when records become ready; wakes the loop only when that changes something. */
  private notify(): void {
    if (this.waiter === undefined) return;
    if (this.waiterHasDeadline && this.state === 'running' && !this.isDue(this.store.ready())) return;
    this.waiter();
  }

  /**
   * Sends a taken batch; 413 and 400 split it into halves, sent in order, so what is
   * settled is always a prefix and is acknowledged as such. False: aborted by close().
   */
  private async deliver(taken: Taken): Promise<boolean> {
    const parts: [number, number][] = [[0, taken.records.length]];
    while (parts.length > 0) {
      const [start, end] = parts[0] as [number, number];
      const records = taken.records.slice(start, end);
      const result = await this.sendPart(records);
      if (result.kind === 'aborted') return false;
      parts.shift();
      if (result.kind === 'sent') {
        this.sentEvents += records.length;
        this.sentBatches++;
      } else if (records.length > 1) {
        if (result.action === 'split') this.shrinkLimits(result.outcome, records.length, result.bodyBytes);
        const middle = start + Math.ceil(records.length / 2);
        parts.unshift([start, middle], [middle, end]);
        continue;
      } else {
        const reason: DropReason = result.action === 'split' ? 'too_large' : 'rejected';
        this.drop(reason, 1);
        const { status, errorCode, message } = result.outcome;
        await this.deadLetters.write(records.map((record): DeadLetter => ({ record, reason, status, error: errorCode, message })));
      }
      await this.store.ack(taken, end);
    }
    return true;
  }

  /** One body, sent until Loom takes it, refuses it for good, or close() runs out of time. */
  private async sendPart(records: Buffer[]): Promise<PartResult> {
    const body = await encodeBody(records, this.options.gzip);
    const bodyBytes = bodySize(records.reduce((n, r) => n + r.length, 0), records.length);
    for (;;) {
      if (this.abort.signal.aborted) return { kind: 'aborted' };
      const outcome = await this.transport.post(body, this.abort.signal);
      if (outcome.kind === 'failure' && outcome.aborted) return { kind: 'aborted' };
      if (outcome.kind === 'response') this.lastHttpStatus = outcome.status;
      const decision = decide(outcome, this.attempt, this.options.backoff);
      if (decision.action === 'ok') {
        if (this.attempt > 0) this.safeLog('info', 'shipper: Loom accepts batches again', { failedAttempts: this.attempt });
        this.attempt = 0;
        this.lastSuccessAt = Date.now();
        return { kind: 'sent' };
      }
      this.failedAttempts++;
      this.lastError = describe(outcome);
      if (outcome.kind === 'response' && (decision.action === 'split' || decision.action === 'bisect')) {
        return { kind: 'refused', action: decision.action, outcome, bodyBytes };
      }
      this.attempt++;
      const delayMs = 'delayMs' in decision ? decision.delayMs : 0;
      this.reportFailure(decision.action === 'hold', outcome, delayMs);
      await this.sleep(delayMs);
    }
  }

  /** After a 413 for a whole batch: send smaller batches from now on instead of splitting each one. */
  private shrinkLimits(outcome: Extract<PostOutcome, { kind: 'response' }>, events: number, bodyBytes: number): void {
    if (outcome.errorCode === 'event_too_large') return;
    const before = { batchEvents: this.batchEvents, batchBytes: this.batchBytes };
    if (outcome.errorCode === 'batch_too_large') this.batchEvents = Math.max(1, Math.min(this.batchEvents, Math.floor(events / 2)));
    else this.batchBytes = Math.max(1, Math.min(this.batchBytes, Math.floor(bodyBytes / 2)));
    if (before.batchEvents !== this.batchEvents || before.batchBytes !== this.batchBytes) {
      this.safeLog('warn', 'shipper: Loom refused a batch as too large; sending smaller batches (check batchSize and maxBodyBytes against Loom\'s limits)', {
        error: outcome.errorCode, message: outcome.message, batchEvents: this.batchEvents, batchBytes: this.batchBytes,
      });
    }
  }

  private reportFailure(hold: boolean, outcome: PostOutcome, delayMs: number): void {
    const key = hold ? `hold-${outcome.kind === 'response' ? outcome.status : 0}` : 'retry';
    const suppressed = this.errorThrottle.pass(key);
    if (suppressed === undefined) return;
    const counts = this.store.counts();
    const fields: Record<string, unknown> = { error: this.lastError, retryInMs: delayMs, attempt: this.attempt, queued: counts.queued };
    if (suppressed > 0) fields.suppressed = suppressed;
    if (hold) {
      this.safeLog('error', 'shipper: Loom refuses this sensor\'s requests (check url, token and sensor id); events are kept and retried', fields);
    } else {
      this.safeLog('warn', 'shipper: POST to Loom failed; retrying', fields);
    }
  }

  // ---- bookkeeping ----

  private drop(reason: DropReason, events: number, detail?: Record<string, unknown>): void {
    if (events <= 0) return;
    this.dropped[reason] = (this.dropped[reason] ?? 0) + events;
    const suppressed = this.dropThrottle.pass(reason);
    if (suppressed === undefined) return;
    this.safeLog('warn', `shipper: dropped events (${reason})`, {
      reason, events, total: this.dropped[reason], ...detail, ...(suppressed > 0 ? { suppressed } : {}),
    });
  }

  /** A line a minute while anything happens: sent, queued, spooled, dropped, last success age, last error. */
  private statusLine(final = false): void {
    const stats = this.stats();
    const droppedTotal = Object.values(stats.droppedEvents).reduce((a, b) => a + b, 0);
    const key = JSON.stringify([stats.sentEvents, stats.queuedEvents, droppedTotal, stats.failedAttempts]);
    const idle = stats.queuedEvents === 0 && key === this.lastStatus;
    this.lastStatus = key;
    if (idle && !final) return;
    this.safeLog('info', final ? 'shipper closed' : 'shipper status', {
      sent: stats.sentEvents,
      sentSinceLast: stats.sentEvents - this.sentAtLastStatus,
      batches: stats.sentBatches,
      queued: stats.queuedEvents,
      spooled: stats.spooledEvents,
      spooledBytes: stats.spooledBytes,
      dropped: stats.droppedEvents,
      failedAttempts: stats.failedAttempts,
      lastSuccessAgeS: stats.lastSuccessAt === undefined ? null : Math.round((Date.now() - stats.lastSuccessAt) / 1000),
      lastError: stats.lastError ?? null,
    });
    this.sentAtLastStatus = stats.sentEvents;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private safeLog(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    try {
      this.log(level, msg, fields);
    } catch {
      // A broken logger must not stop shipping, nor make enqueue() throw.
    }
  }
}

function describe(outcome: PostOutcome): string {
  if (outcome.kind === 'failure') return outcome.error;
  const parts = [`status ${outcome.status}`];
  if (outcome.errorCode !== undefined) parts.push(outcome.errorCode);
  if (outcome.message !== undefined) parts.push(outcome.message);
  return parts.join(': ');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Credentials in a URL's userinfo are secrets too. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = 'redacted';
    parsed.password = '';
  }
  return parsed.toString();
}
