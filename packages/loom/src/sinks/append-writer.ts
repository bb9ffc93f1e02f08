import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { SinkUnavailableError } from './types.js';

const writev = promisify(fs.writev);
const fdatasync = promisify(fs.fdatasync);
const fstat = promisify(fs.fstat);
const ftruncate = promisify(fs.ftruncate);

const NEWLINE = 0x0a;
const NEWLINE_BYTES = new Uint8Array([NEWLINE]);
const MAX_STALL_DELAY_MS = 64;

export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_GROUP_BYTES = 8 * 1024 * 1024;
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

export interface AppendWriterOptions {
  /** fdatasync once per group before any append of the group resolves. */
  fsync?: boolean;
  /** Bytes accepted but not yet written beyond which append() refuses new data. */
  maxQueuedBytes?: number;
  /** Upper bound of one group; an append larger than this still forms a group of its own. */
  maxGroupBytes?: number;
  /** How long a full non-blocking pipe (EAGAIN) may hold up a group before the group fails. */
  stallTimeoutMs?: number;
  /**
   * For regular files: when a group fails after part of it reached the file, cut the file
   * back to where the group started so no fragment of an unacknowledged batch stays behind.
   */
  rollbackOnFailure?: boolean;
  /**
   * Runs before each group is written, while nothing is in flight; it may call setFd()
   * (size rotation). If it throws, the group fails.
   */
  beforeGroup?: (groupBytes: number) => Promise<void> | void;
}

export interface AppendWriterStats {
  /** Groups committed or failed. */
  groups: number;
  /** writev calls that moved at least one byte. */
  writeCalls: number;
  /** writev calls that moved fewer bytes than asked for. */
  partialWrites: number;
  /** Retries after EAGAIN or a zero-byte write. */
  stalls: number;
  /** fdatasync calls. */
  syncs: number;
}

interface DataEntry {
  kind: 'data';
  data: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface BarrierEntry {
  kind: 'barrier';
  run: () => Promise<void>;
}

type Entry = DataEntry | BarrierEntry;

/**
 * Appends byte chunks to a file descriptor with group commit: while one writev is in
 * flight, later appends queue up and are then written (and optionally synced) together,
 * so throughput does not depend on one syscall per batch and no chunk is ever
 * interleaved with another. The fd is neither opened nor closed here.
 */
export class AppendWriter {
  private fd: number;
  private readonly fsync: boolean;
  private readonly maxQueuedBytes: number;
  private readonly maxGroupBytes: number;
  private readonly stallTimeoutMs: number;
  private readonly rollbackOnFailure: boolean;
  private readonly beforeGroup: ((groupBytes: number) => Promise<void> | void) | undefined;
  private readonly queue: Entry[] = [];
  private pendingBytes = 0;
  private running = false;
  private closed = false;
  /** A failed group left a partial line that could not be removed; the next group terminates it first. */
  private torn = false;
  private readonly counters: AppendWriterStats = { groups: 0, writeCalls: 0, partialWrites: 0, stalls: 0, syncs: 0 };

  constructor(fd: number, options: AppendWriterOptions = {}) {
    this.fd = fd;
    this.fsync = options.fsync ?? false;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.maxGroupBytes = options.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.rollbackOnFailure = options.rollbackOnFailure ?? false;
    this.beforeGroup = options.beforeGroup;
  }

  /** Bytes accepted by append() whose promise has not settled yet (queued or in flight). */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  stats(): AppendWriterStats {
    return { ...this.counters };
  }

  /** Only from beforeGroup or exclusive(), when no write can be in flight. */
  setFd(fd: number): void {
    this.fd = fd;
  }

  /**
   * Resolves once data has been handed to the kernel (and synced, with fsync). Rejects
   * with SinkUnavailableError without queueing when the writer is closed or too much is
   * already waiting, and with the I/O error when the group holding data failed.
   */
  append(data: Uint8Array): Promise<void> {
    if (this.closed) {
      return Promise.reject(new SinkUnavailableError('output is closed'));
    }
    // An empty queue always takes the chunk, so one oversized batch cannot be refused forever.
    if (this.pendingBytes > 0 && this.pendingBytes + data.byteLength > this.maxQueuedBytes) {
      return Promise.reject(
        new SinkUnavailableError(
          `output is behind: ${this.pendingBytes} bytes waiting to be written (limit ${this.maxQueuedBytes})`,
          1,
        ),
      );
    }
    this.pendingBytes += data.byteLength;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'data', data, resolve, reject });
      this.kick();
    });
  }

  /**
   * Runs fn after every append queued before this call has settled and before any append
   * queued after it is written: the point at which a file can be swapped (reopen).
   */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'barrier',
        run: async () => {
          try {
            resolve(await fn());
          } catch (err) {
            reject(err);
          }
        },
      });
      this.kick();
    });
  }

  /** Refuses further appends and resolves once everything already queued has settled. */
  close(): Promise<void> {
    this.closed = true;
    return this.exclusive(() => undefined);
  }

  private kick(): void {
    if (!this.running) {
      this.running = true;
      // Starting on the next microtask lets appends made in the same tick share the first group.
      queueMicrotask(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
        if (head.kind === 'barrier') {
          this.queue.shift();
          await head.run();
        } else {
          await this.commit(this.takeGroup());
        }
      }
    } finally {
      this.running = false;
    }
  }

  private takeGroup(): DataEntry[] {
    const group: DataEntry[] = [];
    let bytes = 0;
    for (const entry of this.queue) {
      if (entry.kind !== 'data') break;
      if (group.length > 0 && bytes + entry.data.byteLength > this.maxGroupBytes) break;
      group.push(entry);
      bytes += entry.data.byteLength;
    }
    this.queue.splice(0, group.length);
    return group;
  }

  private async commit(group: DataEntry[]): Promise<void> {
    const chunks = group.map((entry) => entry.data);
    const groupBytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const progress = { written: 0 };
    this.counters.groups++;
    try {
      await this.beforeGroup?.(groupBytes);
      if (this.torn) chunks.unshift(NEWLINE_BYTES);
      await this.writeAll(chunks, progress);
      if (this.fsync) {
        this.counters.syncs++;
        await fdatasync(this.fd);
      }
      this.torn = false;
      for (const entry of group) entry.resolve();
    } catch (err) {
      const failure = progress.written > 0 ? await this.afterPartialFailure(chunks, progress.written, err) : err;
      for (const entry of group) entry.reject(failure);
    } finally {
      this.pendingBytes -= groupBytes;
    }
  }

  private async afterPartialFailure(chunks: Uint8Array[], written: number, err: unknown): Promise<unknown> {
    if (this.rollbackOnFailure) {
      try {
        const stat = await fstat(this.fd);
        if (stat.isFile() && stat.size >= written) {
          await ftruncate(this.fd, stat.size - written);
          return err;
        }
      } catch (rollbackErr) {
        this.torn ||= byteAt(chunks, written - 1) !== NEWLINE;
        return new Error(
          `${describeError(err)}; removing the ${written} bytes already written also failed: ${describeError(rollbackErr)}`,
          { cause: err },
        );
      }
    }
    this.torn ||= byteAt(chunks, written - 1) !== NEWLINE;
    return err;
  }

  /** Loops until every byte is written: pipes and sockets accept only part of a large writev. */
  private async writeAll(chunks: Uint8Array[], progress: { written: number }): Promise<void> {
    let pending = chunks.filter((chunk) => chunk.byteLength > 0);
    let stalledSince: number | undefined;
    let delay = 1;
    while (pending.length > 0) {
      let n = 0;
      try {
        n = (await writev(this.fd, pending)).bytesWritten;
      } catch (err) {
        if (errorCode(err) !== 'EAGAIN') throw err;
      }
      if (n > 0) {
        this.counters.writeCalls++;
        progress.written += n;
        pending = advance(pending, n);
        if (pending.length > 0) this.counters.partialWrites++;
        stalledSince = undefined;
        delay = 1;
        continue;
      }
      const now = performance.now();
      stalledSince ??= now;
      if (now - stalledSince >= this.stallTimeoutMs) {
        throw new SinkUnavailableError(
          `output has accepted no data for ${this.stallTimeoutMs} ms (reader too slow)`,
          1,
        );
      }
      this.counters.stalls++;
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_STALL_DELAY_MS);
    }
  }
}

function advance(chunks: Uint8Array[], bytes: number): Uint8Array[] {
  let skip = bytes;
  let index = 0;
  while (index < chunks.length && skip >= chunks[index]!.byteLength) {
    skip -= chunks[index]!.byteLength;
    index++;
  }
  const rest = chunks.slice(index);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}

function byteAt(chunks: Uint8Array[], offset: number): number | undefined {
  let remaining = offset;
  for (const chunk of chunks) {
    if (remaining < chunk.byteLength) return chunk[remaining];
    remaining -= chunk.byteLength;
  }
  return undefined;
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An error as an operator reads it: Node's messages already start with the errno code. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
