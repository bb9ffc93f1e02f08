import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { DeadLetters, DiskSpool, Ring, SpoolFullError, type DeadLetter, type LogFn, type Taken } from '@loom/spool';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import type { DeliveryBatch, DeliveryResult, Destination } from './delivery.js';
import { inspectOutbox } from './outbox/inspect.js';
import { importLegacySpool } from './outbox/legacy.js';
import { encodeRecord, eventCount, readHeader } from './outbox/record.js';
import { SinkUnavailableError, type Batch, type OutputState, type Sink, type SinkHealth } from './types.js';

export interface OutboxOptions {
  enabled: boolean;
  /** This output's own directory: segments, ack file, quarantine and dead letters. */
  dir: string;
  /** 0 = unlimited. */
  maxBytes: number;
  /** Full outbox: refuse new batches (clients get 503 and retry) or drop the oldest, counted. */
  whenFull: 'reject' | 'drop_oldest';
  retryBackoffMs: number;
  retryMaxBackoffMs: number;
  /** A directory of the earlier version's `*.ndjson` spool files to take over at startup. */
  importLegacyFrom?: string;
}

export interface DestinationSinkOptions {
  name: string;
  destination: Destination;
  outbox: OutboxOptions;
  /** Most events per request to the destination. */
  batchMaxEvents: number;
  /** Most bytes of events per request to the destination. */
  batchMaxBytes: number;
  /** Longest an event waits in the outbox for a batch to fill. */
  batchMaxWaitMs: number;
  /** Without an outbox: how long an ingest request waits for delivery before it gets 503. */
  syncTimeoutMs: number;
  deadLetterMaxBytes: number;
  metrics: Metrics;
  logger: Logger;
}

/** Snapshot for /ready, the dashboard and `loom outbox status`. */
export interface DestinationStatus {
  name: string;
  type: string;
  target: string;
  outbox: { enabled: boolean; events: number; bytes: number; oldestAgeSeconds: number; maxBytes: number } | undefined;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  deadLetters: number;
  dropped: Record<string, number>;
}

const UNLIMITED_BYTES = Number.MAX_SAFE_INTEGER;
const STATUS_INTERVAL_MS = 1000;
/** Refused batches of a full outbox: a client should come back after about this long. */
const FULL_RETRY_AFTER_SECONDS = 30;

/**
 * A network output: ClickHouse, Elasticsearch or Splunk HEC behind one Destination.
 *
 * With the outbox (the default) a batch is acknowledged once it is appended and synced to
 * this output's segment files; a single drain loop then sends it, in order, in batches of
 * up to batchMaxEvents, and settles every event: delivered, retried with backoff (the
 * destination's Retry-After wins), or written to the dead-letter file when the destination
 * refuses it for good. A record leaves the outbox only when all its events are settled, so
 * a crash at any moment re-sends rather than loses (at-least-once).
 *
 * Without the outbox, each batch is delivered while its request waits, and the request
 * gets 503 if that does not succeed within syncTimeoutMs.
 */
export class DestinationSink implements Sink {
  readonly name: string;
  readonly type: string;
  private readonly destination: Destination;
  private readonly spool: DiskSpool | undefined;
  private readonly deadLetters: DeadLetters;
  private readonly log: LogFn;
  private closing = false;
  private readonly stop = new AbortController();
  /** Ends a wait for new records early (set while the drain loop waits for records). */
  private wakeForRecords: (() => void) | undefined;
  /** Ends any wait early: shutdown. */
  private wakeForStop: (() => void) | undefined;
  private drainRun: Promise<void> | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private inFlightReceivedAt: number | undefined;
  private lastSuccessAt: number | undefined;
  private lastError: string | undefined;
  private deadLettered = 0;
  private readonly dropped: Record<string, number> = {};
  private outboxFull = false;
  /**
   * Events in each outbox record not yet acknowledged, oldest first: the spool counts
   * records (batches), operators want events. Appends push, acknowledgements and drops
   * (always of the oldest records) shift.
   */
  private readonly recordEvents = new Ring<number>();
  private outboxEvents = 0;

  constructor(private readonly options: DestinationSinkOptions) {
    this.name = options.name;
    this.destination = options.destination;
    this.type = options.destination.type;
    const logger = options.logger;
    this.log = (level, msg, fields) => logger[level]({ output: this.name, ...fields }, msg);
    this.deadLetters = new DeadLetters(options.outbox.dir, options.deadLetterMaxBytes, this.log, `output ${this.name}`);
    if (options.outbox.enabled) {
      this.spool = new DiskSpool({
        dir: options.outbox.dir,
        maxBytes: options.outbox.maxBytes === 0 ? UNLIMITED_BYTES : options.outbox.maxBytes,
        // Only the sensor's shipper uses the spool's own memory queue; appends here wait for the disk.
        memoryMaxEvents: 1,
        whenFull: options.outbox.whenFull,
        onDrop: (reason, records) => this.countDrop(reason === 'spool_full' ? 'outbox_full' : reason, this.forgetRecords(records)),
        log: this.log,
      });
      this.spool.onReady = () => this.wakeForRecords?.();
    }
  }

  async start(): Promise<void> {
    await mkdir(this.options.outbox.dir, { recursive: true, mode: 0o750 });
    if (this.spool !== undefined) {
      await this.spool.open();
      if (this.options.outbox.importLegacyFrom !== undefined) {
        await importLegacySpool(this.options.outbox.importLegacyFrom, this.spool, this.log);
      }
      for (const events of (await inspectOutbox(this.options.outbox.dir, false)).recordEvents) this.rememberRecord(events);
    }
    // A destination that is down at startup is reported, not fatal: the outbox holds events meanwhile.
    const probe = await this.destination.probe(AbortSignal.any([this.stop.signal, AbortSignal.timeout(10_000)]));
    if (probe.ok) {
      this.log('info', 'output reachable', { type: this.type, target: this.destination.target, ...(probe.server === undefined ? {} : { server: probe.server.description }) });
    } else {
      this.lastError = probe.reason;
      this.log('warn', this.spool === undefined ? 'output not reachable; batches get 503 until it is' : 'output not reachable; events wait in the outbox until it is', {
        type: this.type, target: this.destination.target, reason: probe.reason,
      });
    }
    if (this.spool !== undefined) this.drainRun = this.drainLoop(this.spool);
    this.statusTimer = setInterval(() => this.publishStatus(), STATUS_INTERVAL_MS);
    this.statusTimer.unref();
    this.publishStatus();
  }

  async write(batch: Batch): Promise<void> {
    if (this.closing) throw new SinkUnavailableError(`output "${this.name}" is shutting down`, 5);
    if (this.spool === undefined) {
      await this.deliverNow(batch);
      return;
    }
    try {
      await this.spool.appendDurable([encodeRecord(batch)]);
      this.rememberRecord(batch.count);
      this.outboxFull = false;
    } catch (error) {
      if (error instanceof SpoolFullError) {
        this.outboxFull = true;
        this.countDrop('outbox_full_refused', batch.count);
        throw this.fullError(error);
      }
      throw new SinkUnavailableError(`outbox of output "${this.name}" could not store the batch: ${error instanceof Error ? error.message : String(error)}`, 5, { cause: error });
    }
  }

  refuses(batch: Batch): SinkUnavailableError | undefined {
    if (this.spool === undefined || this.closing) return undefined;
    // The record adds a header line of about 150 bytes to the events.
    if (this.spool.hasRoomFor(1, batch.ndjson.byteLength + 256)) {
      this.outboxFull = false;
      return undefined;
    }
    this.outboxFull = true;
    this.countDrop('outbox_full_refused', batch.count);
    return this.fullError();
  }

  private fullError(cause?: unknown): SinkUnavailableError {
    return new SinkUnavailableError(
      `outbox of output "${this.name}" is full (outbox.max_bytes ${this.options.outbox.maxBytes}); the destination is behind: ${this.lastError ?? 'no error reported'}`,
      FULL_RETRY_AFTER_SECONDS,
      cause === undefined ? undefined : { cause },
    );
  }

  health(): SinkHealth {
    if (this.spool === undefined) return this.lastError === undefined ? { ok: true } : { ok: false, reason: `${this.type} ${this.destination.target}: ${this.lastError}` };
    if (this.outboxFull) return { ok: false, reason: `outbox full; ${this.type} ${this.destination.target}: ${this.lastError ?? 'behind'}` };
    return { ok: true };
  }

  status(): DestinationStatus {
    let outbox: DestinationStatus['outbox'];
    if (this.spool !== undefined) {
      const counts = this.spool.counts();
      const ready = this.spool.ready();
      const oldest = this.inFlightReceivedAt ?? (ready.events > 0 ? ready.since : undefined);
      outbox = {
        enabled: true,
        events: this.outboxEvents,
        bytes: counts.spooledBytes,
        oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
        maxBytes: this.options.outbox.maxBytes,
      };
    }
    return {
      name: this.name,
      type: this.type,
      target: this.destination.target,
      outbox,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      deadLetters: this.deadLettered,
      dropped: { ...this.dropped },
    };
  }

  details(): Omit<OutputState, 'name' | 'type' | 'ok' | 'reason'> {
    const status = this.status();
    const state: Omit<OutputState, 'name' | 'type' | 'ok' | 'reason'> = { target: status.target, dead_letters: status.deadLetters, dropped: status.dropped };
    if (status.outbox !== undefined) {
      state.outbox = { events: status.outbox.events, bytes: status.outbox.bytes, oldest_age_seconds: Math.round(status.outbox.oldestAgeSeconds * 10) / 10, max_bytes: status.outbox.maxBytes };
    }
    if (status.lastSuccessAt !== undefined) state.last_success_at = status.lastSuccessAt;
    if (status.lastError !== undefined) state.last_error = status.lastError;
    return state;
  }

  async reopen(): Promise<void> {
    // Nothing to reopen: segment files are not rotated by logrotate.
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stop.abort();
    this.wakeForStop?.();
    clearInterval(this.statusTimer);
    await this.drainRun;
    if (this.spool !== undefined) {
      const status = this.status();
      await this.spool.close();
      if (status.outbox !== undefined && status.outbox.events > 0) {
        this.log('info', 'outbox kept for the next start', { events: status.outbox.events, bytes: status.outbox.bytes });
      }
    }
    await this.deadLetters.close();
    await this.destination.close();
  }

  // ---- delivery ----

  private async drainLoop(spool: DiskSpool): Promise<void> {
    const { batchMaxEvents, batchMaxBytes, batchMaxWaitMs } = this.options;
    while (!this.closing) {
      const ready = spool.ready();
      if (ready.events === 0) {
        await this.pause(60_000, true);
        continue;
      }
      // Let a batch fill (ClickHouse wants few, large inserts) unless it is big enough or the oldest event has waited long enough.
      const waited = ready.since === undefined ? batchMaxWaitMs : Date.now() - ready.since;
      if (ready.bytes < batchMaxBytes && waited < batchMaxWaitMs) {
        await this.pause(batchMaxWaitMs - waited, true);
        continue;
      }
      let taken: Taken | undefined;
      try {
        taken = await spool.take(batchMaxEvents, batchMaxBytes, eventCount);
      } catch (error) {
        this.log('error', 'outbox read failed; retrying', { error: error instanceof Error ? error.message : String(error) });
        await this.pause(this.options.outbox.retryMaxBackoffMs);
        continue;
      }
      if (taken === undefined) {
        await this.pause(batchMaxWaitMs, true);
        continue;
      }
      const settled = await this.deliverTaken(taken);
      if (settled) {
        await spool.ack(taken, taken.records.length);
        this.forgetRecords(taken.records.length);
      } else {
        await spool.release(taken);
      }
      this.inFlightReceivedAt = undefined;
    }
  }

  /** Delivers every event of the records; false when shutdown interrupted it (nothing is acknowledged then). */
  private async deliverTaken(taken: Taken): Promise<boolean> {
    const parts: BatchPart[] = [];
    for (const record of taken.records) {
      const header = readHeader(record);
      if (header === undefined) {
        // The checksum matched, so this was written so: not a Loom outbox record. Kept aside, never sent.
        await this.writeDeadLetters([{ record, reason: 'unreadable_record', status: undefined, error: 'the outbox record has no valid header', message: undefined }]);
        continue;
      }
      this.inFlightReceivedAt ??= header.received_at;
      parts.push({ id: header.id, ndjson: record.subarray(record.indexOf(0x0a) + 1) });
    }
    const batch = new NdjsonBatch(parts);
    if (batch.count === 0) return true;
    return this.deliverUntilSettled(batch, batch.count, Infinity);
  }

  /**
   * Sends the batch, then whatever the destination asks to retry, with backoff, until every
   * event is delivered or dead-lettered (true), or shutdown or the deadline comes first (false).
   */
  private async deliverUntilSettled(batch: DeliveryBatch, count: number, deadline: number): Promise<boolean> {
    let pending: number[] = Array.from({ length: count }, (_, i) => i);
    let backoff = this.options.outbox.retryBackoffMs;
    for (;;) {
      const sub = pending.length === count ? batch : subset(batch, pending);
      const result = await this.deliverOnce(sub);
      if (result.rejected.length > 0) {
        await this.writeDeadLetters(result.rejected.map((r) => ({
          record: Buffer.from(sub.events[r.index] ?? ''),
          reason: 'rejected',
          status: undefined,
          error: r.reason,
          message: undefined,
        })));
      }
      const delivered = pending.length - result.retry.length - result.rejected.length;
      if (delivered > 0) this.options.metrics.outputDeliveredEvents.inc({ output: this.name }, delivered);
      if (result.retry.length === 0) {
        this.lastSuccessAt = Date.now();
        this.lastError = undefined;
        return true;
      }
      if (delivered > 0) this.lastSuccessAt = Date.now();
      this.lastError = result.reason ?? 'the destination asked to retry';
      this.options.metrics.outputRetries.inc({ output: this.name });
      pending = result.retry.map((i) => pending[i] as number);
      const wait = Math.max(result.retryAfterMs ?? 0, backoff);
      backoff = Math.min(backoff * 2, Math.max(this.options.outbox.retryMaxBackoffMs, this.options.outbox.retryBackoffMs));
      this.log('warn', 'delivery failed; retrying', { events: pending.length, retry_in_ms: wait, reason: this.lastError });
      if (this.closing || Date.now() + wait > deadline) return false;
      await this.pause(wait);
      if (this.closing) return false;
    }
  }

  private async deliverOnce(batch: DeliveryBatch): Promise<DeliveryResult> {
    try {
      return await this.destination.deliver(batch, this.stop.signal);
    } catch (error) {
      // The contract says deliver() does not throw; if it does, nothing is known to be delivered.
      return { retry: batch.events.map((_, i) => i), rejected: [], reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Without an outbox: deliver while the request waits. */
  private async deliverNow(batch: Batch): Promise<void> {
    const whole = new NdjsonBatch([{ id: batch.id, ndjson: batch.ndjson }]);
    if (whole.count === 0) return;
    const delivered = await this.deliverUntilSettled(whole, whole.count, Date.now() + this.options.syncTimeoutMs);
    if (!delivered) {
      throw new SinkUnavailableError(`output "${this.name}" (${this.type} ${this.destination.target}) did not accept the batch: ${this.lastError ?? 'unknown error'}`, 5);
    }
  }

  private async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    await this.deadLetters.write(letters);
    this.deadLettered += letters.length;
    this.options.metrics.outputDeadLetters.inc({ output: this.name }, letters.length);
  }

  private rememberRecord(events: number): void {
    this.recordEvents.push(events);
    this.outboxEvents += events;
  }

  /** The oldest `records` records left the outbox; returns how many events they held. */
  private forgetRecords(records: number): number {
    let events = 0;
    for (let i = 0; i < records; i++) events += this.recordEvents.shift() ?? 0;
    this.outboxEvents -= events;
    return events;
  }

  private countDrop(reason: string, events: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + events;
    this.options.metrics.outputDropped.inc({ output: this.name, reason }, events);
  }

  /**
   * Sleeps up to `ms`. Shutdown always ends it early; new records only when `forRecords`
   * (waiting for a batch to fill), never during a retry backoff, or a busy sensor fleet
   * would turn the backoff into a retry per appended batch against a dead destination.
   */
  private pause(ms: number, forRecords = false): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeForStop = undefined;
        if (forRecords) this.wakeForRecords = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeForStop = done;
      if (forRecords) this.wakeForRecords = done;
    });
  }

  private publishStatus(): void {
    const status = this.status();
    const labels = { output: this.name };
    const metrics = this.options.metrics;
    if (status.outbox !== undefined) {
      metrics.outboxEvents.set(labels, status.outbox.events);
      metrics.outboxBytes.set(labels, status.outbox.bytes);
      metrics.outboxOldestAge.set(labels, status.outbox.oldestAgeSeconds);
    }
    if (status.lastSuccessAt !== undefined) metrics.outputLastSuccess.set(labels, status.lastSuccessAt / 1000);
  }
}

interface BatchPart {
  /** The id of the accepted batch these events came in. */
  id: string;
  /** Its events, each followed by "\n". */
  ndjson: Uint8Array;
}

/**
 * The events of one or more accepted batches, kept as their NDJSON bytes: a destination
 * that can send those as they are (ClickHouse) never pays for splitting them into strings,
 * and the per-event views are built only when something asks for them.
 */
class NdjsonBatch implements DeliveryBatch {
  readonly id: string;
  readonly ndjson: Uint8Array;
  readonly count: number;
  private split: { events: string[]; eventIds: string[] } | undefined;

  constructor(private readonly parts: readonly BatchPart[]) {
    this.id = parts.length === 1 ? (parts[0] as BatchPart).id : digest(parts.map((part) => part.id).join(','));
    this.ndjson = parts.length === 1 ? (parts[0] as BatchPart).ndjson : Buffer.concat(parts.map((part) => part.ndjson));
    let count = 0;
    for (const part of parts) count += lineCount(part.ndjson);
    this.count = count;
  }

  get events(): readonly string[] {
    return this.lines().events;
  }

  get eventIds(): readonly string[] {
    return this.lines().eventIds;
  }

  private lines(): { events: string[]; eventIds: string[] } {
    if (this.split !== undefined) return this.split;
    const events: string[] = [];
    const eventIds: string[] = [];
    for (const part of this.parts) {
      const text = Buffer.from(part.ndjson.buffer, part.ndjson.byteOffset, part.ndjson.byteLength).toString('utf8');
      let from = 0;
      let n = 0;
      while (from < text.length) {
        let to = text.indexOf('\n', from);
        if (to < 0) to = text.length;
        if (to > from) {
          events.push(text.slice(from, to));
          eventIds.push(`${part.id}-${n++}`);
        }
        from = to + 1;
      }
    }
    this.split = { events, eventIds };
    return this.split;
  }
}

/** Non-empty lines, counted on the bytes (the same lines NdjsonBatch.lines() yields). */
function lineCount(ndjson: Uint8Array): number {
  const bytes = Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength);
  let count = 0;
  let from = 0;
  while (from < bytes.length) {
    let to = bytes.indexOf(0x0a, from);
    if (to < 0) to = bytes.length;
    if (to > from) count++;
    from = to + 1;
  }
  return count;
}

/** The batch restricted to some events, with its own stable id (a retry of the same subset gets the same one). */
function subset(batch: DeliveryBatch, indices: number[]): DeliveryBatch {
  return {
    id: `${batch.id}-${digest(indices.join(',')).slice(0, 12)}`,
    events: indices.map((i) => batch.events[i] as string),
    eventIds: indices.map((i) => batch.eventIds[i] as string),
  };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
