import { constants } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EventQueue } from './event-queue.js';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, frameHeader, readFrame, type FrameRead } from './frame.js';
import type { LogFn } from './types.js';
import { ACK_FILE, closeQuietly, encodeAck, quarantineFile, segmentName, syncDir, writeAll } from './spool-files.js';
import { recoverSpool, type Segment } from './spool-recovery.js';
import { bodySize, type DropHandler, type EventStore, type Position, type Ready, type StoreCounts, type Taken } from './store.js';
import { Throttle } from './throttle.js';

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  memoryMaxEvents: number;
  onDrop: DropHandler;
  log: LogFn;
  /**
   * What happens when new records do not fit under maxBytes: the oldest segments give way
   * (a sensor must keep capturing), or appendDurable refuses them (a receiver that can tell
   * its client to retry later must never drop what it already acknowledged). Default drop_oldest.
   */
  whenFull?: 'drop_oldest' | 'reject';
}

/** appendDurable refused records because the spool is at its size limit. */
export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
  constructor(readonly neededBytes: number, readonly maxBytes: number) {
    super(`spool is full: ${neededBytes} more bytes would exceed its limit of ${maxBytes} bytes`);
  }
}

interface DurableWrite {
  records: Buffer[];
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const READ_CHUNK_BYTES = 256 * 1024;
/** Largest single write: bounds the buffer a burst of events is concatenated into. */
const WRITE_GROUP_BYTES = 4 * 1024 * 1024;
const WRITE_RETRY_MAX_MS = 30_000;
/**
 * Group commit window: a group starts at most this often, so one write and one fdatasync
 * cover every event enqueued meanwhile. It is also the longest an event waits for its
 * group to start when the disk is idle (docs/SHIPPING.md states the guarantee).
 */
const GROUP_WINDOW_MS = 10;

/** Spool directories open in this process: two writers on one spool would interleave frames. */
const openDirs = new Set<string>();

/**
 * Segment size: small enough that dropping the oldest one when the spool is full gives up
 * only a slice of it, large enough that a busy sensor does not churn files.
 */
function segmentTarget(maxBytes: number): number {
  return Math.min(maxBytes, Math.max(4096, Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 8))));
}

/**
 * The durable queue: events are appended to numbered segment files and become readable
 * only once written and fdatasync'ed; the sender reads them back in order, and a segment
 * is deleted once every record in it is acknowledged. The `ack` file remembers the
 * position of the first unacknowledged record, so a restart resends from there.
 *
 * Every operation that touches the segment list runs through one serial lock: appends,
 * reads, acknowledgements and drops never interleave across an await.
 */
export class DiskSpool implements EventStore {
  onReady: () => void = () => undefined;
  private readonly dir: string;
  private readonly target: number;
  private readonly pendingQueue: EventQueue;
  private segments: Segment[] = [];
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private reader: Position = { segment: 0, offset: SEGMENT_HEADER_BYTES, index: 0 };
  private readHandle: { id: number; handle: FileHandle } | undefined;
  private chunk: { id: number; start: number; buf: Buffer } | undefined;
  private acked: Position = { segment: 0, offset: SEGMENT_HEADER_BYTES, index: 0 };
  private ackHandle: FileHandle | undefined;
  private nextId = 1;
  private opened = false;
  private closing = false;
  private flushRun: Promise<void> | undefined;
  private writeFailing = false;
  private writeFailures = 0;
  private writeRetry: NodeJS.Timeout | undefined;
  private readySince: number | undefined;
  private memoryInFlight = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly throttle = new Throttle(60_000);
  private durable: DurableWrite[] = [];
  private durableBytes = 0;
  private lastWriteError: unknown;

  constructor(private readonly options: SpoolOptions) {
    this.dir = resolve(options.dir);
    this.target = segmentTarget(options.maxBytes);
    this.pendingQueue = new EventQueue(options.memoryMaxEvents, options.onDrop);
  }

  async open(): Promise<void> {
    if (openDirs.has(this.dir)) throw new Error(`spool ${this.dir} is already open in this process`);
    await mkdir(this.dir, { recursive: true });
    openDirs.add(this.dir);
    try {
      const recovered = await recoverSpool(this.dir, this.options.log, this.options.onDrop);
      this.segments = recovered.segments;
      this.acked = recovered.acked;
      this.reader = { ...recovered.acked };
      this.nextId = recovered.nextId;
      this.ackHandle = await open(join(this.dir, ACK_FILE), constants.O_RDWR | constants.O_CREAT, 0o600);
      await this.writeAck();
    } catch (error) {
      openDirs.delete(this.dir);
      throw error;
    }
    this.opened = true;
    const counts = this.counts();
    if (counts.spooled > 0) {
      this.readySince = Date.now();
      this.options.log('info', 'spool: resending events left by the previous run', { dir: this.dir, events: counts.spooled, bytes: counts.spooledBytes, segments: this.segments.length });
    }
    this.scheduleFlush();
  }

  push(line: Buffer): void {
    this.pendingQueue.push(line);
    this.scheduleFlush();
  }

  /** Whether records of this many payload bytes would fit now (always true with drop_oldest). */
  hasRoomFor(records: number, payloadBytes: number): boolean {
    if (this.options.whenFull !== 'reject') return true;
    return this.totalBytes() + this.durableBytes + records * FRAME_HEADER_BYTES + payloadBytes + SEGMENT_HEADER_BYTES <= this.options.maxBytes;
  }

  /**
   * Appends records and resolves once they are written and fdatasync'ed, together with
   * whatever else arrived in the same group-commit window. Rejects when the spool is
   * closed, when the write fails (records of the failed write may be on disk already: a
   * retry by the caller's client can then duplicate them, never lose them), or with
   * SpoolFullError when whenFull is 'reject' and they do not fit.
   */
  appendDurable(records: Buffer[]): Promise<void> {
    if (!this.opened || this.closing) return Promise.reject(new Error(`spool ${this.dir} is closed`));
    let bytes = 0;
    for (const record of records) bytes += FRAME_HEADER_BYTES + record.length;
    if (records.length === 0) return Promise.resolve();
    if (this.options.whenFull === 'reject' && this.totalBytes() + this.durableBytes + bytes + SEGMENT_HEADER_BYTES > this.options.maxBytes) {
      return Promise.reject(new SpoolFullError(bytes, this.options.maxBytes));
    }
    return new Promise<void>((resolve, reject) => {
      this.durable.push({ records, bytes, resolve, reject });
      this.durableBytes += bytes;
      this.scheduleFlush();
    });
  }

  ready(): Ready {
    let events = 0;
    let bytes = 0;
    for (const seg of this.segments) {
      if (seg.id > this.reader.segment) {
        events += seg.count;
        bytes += seg.size - SEGMENT_HEADER_BYTES;
      } else if (seg.id === this.reader.segment) {
        events += seg.count - this.reader.index;
        bytes += seg.size - this.reader.offset;
      }
    }
    let since = events > 0 ? this.readySince : undefined;
    // While the disk refuses writes, events are shipped straight from memory.
    if (this.writeFailing && this.pendingQueue.length > 0) {
      events += this.pendingQueue.length;
      bytes += this.pendingQueue.bytes;
      since = Math.min(since ?? Infinity, this.pendingQueue.since ?? Date.now());
    }
    return { events, bytes, since };
  }

  pending(): number {
    return this.writeFailing ? 0 : this.pendingQueue.length;
  }

  /**
   * Reads records in order, up to `maxEvents` and `maxBodyBytes` (always at least one).
   * `weigh` says how many events a record holds when records carry several (default 1).
   */
  take(maxEvents: number, maxBodyBytes: number, weigh?: (record: Buffer) => number): Promise<Taken | undefined> {
    return this.serial(async () => {
      const records: Buffer[] = [];
      const ends: Position[] = [];
      let bytes = 0;
      let events = 0;
      while (events < maxEvents) {
        const seg = this.readerSegment();
        if (seg === undefined) break;
        if (this.reader.offset >= seg.size) {
          const next = this.segments[this.segments.indexOf(seg) + 1];
          if (!seg.sealed || next === undefined) break;
          this.reader = { segment: next.id, offset: SEGMENT_HEADER_BYTES, index: 0 };
          continue;
        }
        const frame = await this.frameAt(seg, this.reader.offset);
        if (frame.kind === 'ok') {
          if (records.length > 0 && bodySize(bytes + frame.payload.length, records.length + 1) > maxBodyBytes) break;
          const weight = weigh === undefined ? 1 : weigh(frame.payload);
          if (records.length > 0 && events + weight > maxEvents) break;
          events += weight;
          records.push(frame.payload);
          bytes += frame.payload.length;
          this.reader = { segment: seg.id, offset: frame.end, index: this.reader.index + 1 };
          ends.push(this.reader);
        } else if (frame.kind === 'bad-payload') {
          this.options.onDrop('corrupt', 1);
          this.options.log('error', 'spool: a record failed its checksum when read back; skipped', { file: this.path(seg.id), offset: this.reader.offset });
          this.reader = { segment: seg.id, offset: frame.end, index: this.reader.index + 1 };
        } else {
          await this.quarantineRest(seg);
        }
      }
      if (records.length > 0) {
        if (this.ready().events === 0) this.readySince = undefined;
        return { records, ends, acked: 0 };
      }
      if (this.writeFailing && this.pendingQueue.length > 0) {
        const direct = this.pendingQueue.take(maxEvents, maxBodyBytes);
        this.memoryInFlight += direct.length;
        return { records: direct, ends: undefined, acked: 0 };
      }
      return undefined;
    });
  }

  ack(taken: Taken, settled: number): Promise<void> {
    return this.serial(async () => {
      if (settled <= taken.acked) return;
      const end = taken.ends?.[settled - 1];
      if (taken.ends === undefined) this.memoryInFlight -= settled - taken.acked;
      taken.acked = settled;
      if (end === undefined || !isAfter(end, this.acked)) return;
      this.acked = end;
      await this.advanceAck();
    });
  }

  release(taken: Taken): Promise<void> {
    return this.serial(async () => {
      if (taken.ends === undefined) {
        this.memoryInFlight -= taken.records.length - taken.acked;
        this.pendingQueue.putBack(taken.records.slice(taken.acked));
      } else {
        // Records whose segment was dropped (spool full) while they were in flight are gone now.
        const gone = taken.ends.slice(taken.acked).filter((end) => !isAfter(end, this.acked)).length;
        if (gone > 0) this.options.onDrop('spool_full', gone);
        this.reader = { ...this.acked };
      }
      taken.acked = taken.records.length;
    });
  }

  counts(): StoreCounts {
    let spooled = 0;
    let spooledBytes = 0;
    for (const seg of this.segments) {
      spooled += seg.count - (seg.id === this.acked.segment ? this.acked.index : 0);
      spooledBytes += seg.size;
    }
    return { queued: this.pendingQueue.length + this.memoryInFlight + spooled, spooled, spooledBytes };
  }

  /** Writes every event still in memory, records the acknowledged position, closes files. */
  async close(): Promise<number> {
    this.closing = true;
    clearTimeout(this.writeRetry);
    this.writeFailing = false;
    await this.flushRun;
    if (!this.opened) return this.pendingQueue.length + this.memoryInFlight;
    while (this.durable.length > 0) await this.flushDurable();
    while (this.pendingQueue.length > 0) {
      const group = this.pendingQueue.drain(WRITE_GROUP_BYTES);
      const written = await this.serial(() => this.append(group));
      if (written < group.length) {
        this.pendingQueue.putBack(group.slice(written));
        break;
      }
    }
    const lost = this.pendingQueue.length + this.memoryInFlight;
    await this.serial(async () => {
      await this.writeAck().then(() => this.ackHandle?.datasync()).catch((error: unknown) => this.reportIo('ack', error));
      await closeQuietly(this.ackHandle);
      await closeQuietly(this.readHandle?.handle);
      await closeQuietly(this.active?.handle);
      if (this.active !== undefined) this.active.segment.sealed = true;
      this.ackHandle = undefined;
      this.readHandle = undefined;
      this.active = undefined;
      this.chunk = undefined;
    });
    this.opened = false;
    openDirs.delete(this.dir);
    return lost;
  }

  // ---- writing ----

  private pendingWritable(): boolean {
    return this.pendingQueue.length > 0 && !this.writeFailing;
  }

  private scheduleFlush(): void {
    if (!this.opened || this.closing || this.flushRun !== undefined) return;
    if (!this.pendingWritable() && this.durable.length === 0) return;
    this.flushRun = (async () => {
      try {
        let started = Date.now();
        for (;;) {
          // A sync per group costs the same for one event as for a thousand: let events gather.
          await new Promise<void>((r) => setTimeout(r, Math.max(0, started + GROUP_WINDOW_MS - Date.now())));
          if (this.closing || (!this.pendingWritable() && this.durable.length === 0)) break;
          started = Date.now();
          if (this.durable.length > 0) await this.flushDurable();
          if (!this.pendingWritable()) {
            this.onReady();
            continue;
          }
          const group = this.pendingQueue.drain(WRITE_GROUP_BYTES);
          const written = await this.serial(() => this.append(group));
          if (written > 0) {
            this.writeFailures = 0;
            this.readySince ??= Date.now();
          }
          if (written < group.length) {
            this.pendingQueue.putBack(group.slice(written));
            this.enterWriteFailing();
          }
          this.onReady();
        }
      } finally {
        this.flushRun = undefined;
      }
    })();
  }

  /** Writes every waiting durable append in one group and settles each waiter. */
  private async flushDurable(): Promise<void> {
    const waiters = this.durable;
    this.durable = [];
    this.durableBytes = 0;
    const records = waiters.flatMap((waiter) => waiter.records);
    let written: number;
    if (this.options.whenFull === 'reject' && this.totalBytes() + waiters.reduce((n, w) => n + w.bytes, 0) + SEGMENT_HEADER_BYTES > this.options.maxBytes) {
      // Checked again: the size changed between the caller's check and this write.
      written = 0;
      this.lastWriteError = new SpoolFullError(waiters.reduce((n, w) => n + w.bytes, 0), this.options.maxBytes);
    } else {
      written = await this.serial(() => this.append(records));
    }
    if (written > 0) this.readySince ??= Date.now();
    let covered = 0;
    for (const waiter of waiters) {
      covered += waiter.records.length;
      if (covered <= written) waiter.resolve();
      else {
        const cause = this.lastWriteError;
        waiter.reject(cause instanceof SpoolFullError ? cause : new Error(`spool write failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }));
      }
    }
  }

  private enterWriteFailing(): void {
    this.writeFailing = true;
    this.writeFailures++;
    const delay = Math.min(WRITE_RETRY_MAX_MS, 500 * 2 ** (this.writeFailures - 1));
    this.writeRetry = setTimeout(() => {
      this.writeFailing = false;
      this.scheduleFlush();
    }, delay);
    this.writeRetry.unref();
  }

  /** Appends records in order; returns how many are written and synced (the rest failed). */
  private async append(group: Buffer[]): Promise<number> {
    let done = 0;
    try {
      while (done < group.length) {
        const first = group[done] as Buffer;
        if (SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES + first.length > this.options.maxBytes) {
          done++;
          this.options.onDrop('spool_full', 1, { bytes: first.length });
          continue;
        }
        const fresh = this.active === undefined || this.active.segment.size >= this.target;
        const base = fresh ? SEGMENT_HEADER_BYTES : (this.active as { segment: Segment }).segment.size;
        const parts: Buffer[] = [];
        let bytes = 0;
        let n = 0;
        for (let i = done; i < group.length; i++) {
          const record = group[i] as Buffer;
          const frameBytes = FRAME_HEADER_BYTES + record.length;
          if (n > 0 && base + bytes + frameBytes > this.target) break;
          parts.push(frameHeader(record), record);
          bytes += frameBytes;
          n++;
        }
        if (this.options.whenFull !== 'reject') await this.makeRoom(bytes);
        if (this.active === undefined || this.active.segment.size >= this.target) await this.startSegment();
        const { segment, handle } = this.active as { segment: Segment; handle: FileHandle };
        await writeAll(handle, Buffer.concat(parts, bytes), segment.size);
        await handle.datasync();
        segment.size += bytes;
        segment.count += n;
        done += n;
      }
    } catch (error) {
      this.lastWriteError = error;
      this.reportIo('write', error);
      await this.abandonActive();
    }
    return done;
  }

  /** Drops the oldest segments until `bytes` more fit under maxBytes. */
  private async makeRoom(bytes: number): Promise<void> {
    const headerFor = (): number => (this.active === undefined || this.active.segment.size >= this.target ? SEGMENT_HEADER_BYTES : 0);
    while (this.segments.length > 0 && this.totalBytes() + bytes + headerFor() > this.options.maxBytes) {
      const oldest = this.segments[0] as Segment;
      if (this.active?.segment === oldest) await this.sealActive();
      await this.dropSegment(oldest);
    }
  }

  private async dropSegment(seg: Segment): Promise<void> {
    const unread = seg.id < this.reader.segment ? 0 : seg.id === this.reader.segment ? seg.count - this.reader.index : seg.count;
    this.forget(seg);
    await unlink(this.path(seg.id)).catch((error: unknown) => this.reportIo('delete', error));
    if (unread > 0) this.options.onDrop('spool_full', unread, { file: this.path(seg.id) });
  }

  /** Takes a segment out of the list and moves the reader and the ack position past it. */
  private forget(seg: Segment): void {
    this.segments = this.segments.filter((s) => s !== seg);
    const next = this.segments.find((s) => s.id > seg.id)?.id ?? seg.id + 1;
    if (this.reader.segment <= seg.id) this.reader = { segment: next, offset: SEGMENT_HEADER_BYTES, index: 0 };
    if (this.acked.segment <= seg.id) this.acked = { segment: next, offset: SEGMENT_HEADER_BYTES, index: 0 };
    if (this.chunk?.id === seg.id) this.chunk = undefined;
    if (this.readHandle?.id === seg.id) {
      void closeQuietly(this.readHandle.handle);
      this.readHandle = undefined;
    }
  }

  private async startSegment(): Promise<void> {
    if (this.active !== undefined) await this.sealActive();
    const id = this.nextId++;
    const handle = await open(this.path(id), 'wx', 0o600);
    try {
      await writeAll(handle, SEGMENT_MAGIC, 0);
      await syncDir(this.dir);
    } catch (error) {
      await closeQuietly(handle);
      throw error;
    }
    const segment: Segment = { id, size: SEGMENT_HEADER_BYTES, count: 0, sealed: false };
    this.segments.push(segment);
    this.active = { segment, handle };
  }

  private async sealActive(): Promise<void> {
    if (this.active === undefined) return;
    const { segment, handle } = this.active;
    this.active = undefined;
    segment.sealed = true;
    await closeQuietly(handle);
  }

  /** After a failed write: cut what the write may have left and start a new segment next time. */
  private async abandonActive(): Promise<void> {
    if (this.active === undefined) return;
    // If the cut fails too, the next start finds the partial write as a torn tail.
    await this.active.handle.truncate(this.active.segment.size).catch(() => undefined);
    await this.sealActive();
  }

  // ---- reading ----

  private readerSegment(): Segment | undefined {
    const seg = this.segments.find((s) => s.id >= this.reader.segment);
    if (seg !== undefined && seg.id !== this.reader.segment) this.reader = { segment: seg.id, offset: SEGMENT_HEADER_BYTES, index: 0 };
    return seg;
  }

  private async frameAt(seg: Segment, offset: number): Promise<FrameRead> {
    let chunk = this.chunk;
    if (chunk === undefined || chunk.id !== seg.id || offset < chunk.start || offset >= chunk.start + chunk.buf.length) {
      chunk = await this.readChunk(seg, offset, READ_CHUNK_BYTES);
    }
    let frame = readFrame(chunk.buf, offset - chunk.start);
    if (frame.kind === 'short') {
      // A frame that claims to run past the synced end was damaged after it was written.
      if (offset + frame.need > seg.size) return { kind: 'bad-header' };
      chunk = await this.readChunk(seg, offset, Math.max(READ_CHUNK_BYTES, frame.need));
      frame = readFrame(chunk.buf, 0);
      if (frame.kind === 'short') return { kind: 'bad-header' };
    }
    if (frame.kind === 'ok' || frame.kind === 'bad-payload') return { ...frame, end: frame.end + chunk.start };
    return frame;
  }

  private async readChunk(seg: Segment, offset: number, length: number): Promise<{ id: number; start: number; buf: Buffer }> {
    if (this.readHandle?.id !== seg.id) {
      await closeQuietly(this.readHandle?.handle);
      this.readHandle = { id: seg.id, handle: await open(this.path(seg.id), 'r') };
    }
    const want = Math.min(length, seg.size - offset);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.readHandle.handle.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.chunk = { id: seg.id, start: offset, buf: buf.subarray(0, got) };
    return this.chunk;
  }

  /** A frame header went bad after it was written: nothing after it in this segment can be framed. */
  private async quarantineRest(seg: Segment): Promise<void> {
    const lost = seg.count - this.reader.index;
    if (this.active?.segment === seg) await this.sealActive();
    this.forget(seg);
    const file = this.path(seg.id);
    const moved = await quarantineFile(this.dir, file, 'move').catch((error: unknown) => {
      this.reportIo('quarantine', error);
      return undefined;
    });
    this.options.onDrop('corrupt', lost);
    this.options.log('error', 'spool: a segment was damaged after it was written; moved to quarantine, its unread records are lost', { file, quarantined: moved, lostRecords: lost });
  }

  // ---- acknowledgement ----

  /** Records the new ack position first, then deletes the segments it has passed. */
  private async advanceAck(): Promise<void> {
    const done: Segment[] = [];
    for (const seg of this.segments) {
      if (seg.id < this.acked.segment || (seg.id === this.acked.segment && seg.sealed && this.acked.offset >= seg.size)) done.push(seg);
      else break;
    }
    const last = done.at(-1);
    if (last !== undefined && this.acked.segment <= last.id) {
      this.acked = { segment: this.segments[done.length]?.id ?? last.id + 1, offset: SEGMENT_HEADER_BYTES, index: 0 };
    }
    await this.writeAck().catch((error: unknown) => this.reportIo('ack', error));
    for (const seg of done) {
      this.forget(seg);
      await unlink(this.path(seg.id)).catch((error: unknown) => this.reportIo('delete', error));
    }
  }

  private async writeAck(): Promise<void> {
    if (this.ackHandle !== undefined) await writeAll(this.ackHandle, encodeAck(this.acked.segment, this.acked.offset), 0);
  }

  // ---- helpers ----

  private totalBytes(): number {
    let total = 0;
    for (const seg of this.segments) total += seg.size;
    return total;
  }

  private path(id: number): string {
    return join(this.dir, segmentName(id));
  }

  private reportIo(what: string, error: unknown): void {
    const suppressed = this.throttle.pass(what);
    if (suppressed === undefined) return;
    const fields: Record<string, unknown> = { dir: this.dir, error: error instanceof Error ? error.message : String(error) };
    if (suppressed > 0) fields.suppressed = suppressed;
    this.options.log('error', `spool: ${what} failed`, fields);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function isAfter(a: Position, b: Position): boolean {
  return a.segment > b.segment || (a.segment === b.segment && a.offset > b.offset);
}
