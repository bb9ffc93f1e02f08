import { createHash } from 'node:crypto';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ApiError } from '../../../errors.js';
import { ThrottledLog, type Logger } from '../../../logging.js';
import type { Metrics } from '../../../management/metrics.js';
import { ndjsonOf, type EventLine } from '../../flows/ndjson.js';
import type { Input, InputDeps } from '../../input.js';
import type { EventSubmitter } from '../../submitter.js';
import type { ZeekConfig } from '../config.js';
import { zeekLogs, type ZeekLog } from '../logs.js';
import { mapZeekRecord } from '../map.js';
import { expand, hasMagic } from './glob.js';
import { takeLines } from './lines.js';
import { PositionStore, type Position } from './positions.js';

const key = 'inputs.zeek';
const headBytes = 64;
const minBufferBytes = 1024 * 1024;
const maxRetryMs = 30_000;

/** A file being read: open from discovery until it is finished or replaced. */
interface TailedFile {
  id: string;
  log: ZeekLog;
  path: string;
  handle: FileHandle;
  /** Delivered bytes: the start of the next line to read. */
  offset: number;
  head: { hash: string; bytes: number } | undefined;
  /** No configured path leads to it any more (rotated away or deleted): read it to its end, then close. */
  gone: boolean;
  /** The file rotated away from this one's path; this one waits until that one is finished. */
  after: TailedFile | undefined;
  /** Inside a line longer than the event limit, which is dropped up to its newline. */
  skipping: boolean;
  pumping: Promise<void> | undefined;
}

interface Found {
  log: ZeekLog;
  path: string;
  id: string;
  size: number;
  /** The configured entry was a plain path, not a glob: its rotated files are found by inode. */
  plain: boolean;
}

/**
 * Tails Zeek JSON logs. Every poll it expands the configured paths, follows each file by its
 * inode (so a rotated file is read to its end before its successor at the same path), and
 * delivers complete lines in batches. One batch per file is in flight at a time and nothing
 * is read ahead of it, so a slow output slows reading instead of filling memory. A position
 * moves only after the pipeline accepted the batch (at-least-once).
 */
export class ZeekFileInput implements Input {
  readonly name = 'zeek';
  private readonly config: ZeekConfig;
  private readonly submitter: EventSubmitter;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly throttled: ThrottledLog;
  private readonly store: PositionStore;
  private readonly maxEventBytes: number;
  private readonly bufferBytes: number;
  private readonly files = new Map<string, TailedFile>();
  /** Positions from the position file whose files have not been found yet. */
  private saved = new Map<string, Position>();
  private firstStart = false;
  private firstScan = true;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private readonly sleepers = new Set<() => void>();

  constructor(deps: InputDeps) {
    this.config = deps.config.inputs.zeek;
    this.submitter = deps.submitter;
    this.metrics = deps.metrics;
    this.logger = deps.logger.child({ input: 'zeek' });
    this.throttled = new ThrottledLog(this.logger);
    this.store = new PositionStore(this.config.position_file, `${key}.position_file`);
    this.maxEventBytes = deps.config.limits.max_event_size_bytes;
    // A line of the largest allowed size must fit in one read, with its line break.
    this.bufferBytes = Math.max(minBufferBytes, this.maxEventBytes + 2);
  }

  async start(): Promise<void> {
    const positions = await this.store.load();
    this.firstStart = positions === undefined;
    for (const position of positions ?? []) this.saved.set(position.id, position);
    // Fails now, naming the key, if the position file cannot be written.
    try {
      await this.persist();
    } catch (error) {
      throw new Error(`${key}.position_file: cannot write ${JSON.stringify(this.config.position_file)}: ${(error as Error).message}`, { cause: error });
    }
    await this.scan();
    this.schedule();
    const patterns = zeekLogs.flatMap((log) => this.config[log].map((pattern) => `${log}: ${pattern}`));
    this.logger.info({ patterns, files: [...this.files.values()].map((f) => f.path), position_file: this.config.position_file }, 'tailing Zeek logs');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    for (const wake of this.sleepers) wake();
    await this.scanning;
    await Promise.all([...this.files.values()].map((file) => file.pumping));
    await this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'could not write the Zeek position file'));
    await Promise.all([...this.files.values()].map((file) => file.handle.close().catch(() => undefined)));
    this.files.clear();
  }

  /** SIGHUP: look for new and rotated files now rather than at the next poll. */
  async reload(): Promise<void> {
    if (!this.stopping) await this.scan();
  }

  private schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      void this.scan().finally(() => this.schedule());
    }, this.config.poll_interval_ms);
  }

  private scan(): Promise<void> {
    this.scanning ??= this.scanOnce()
      .catch((error: unknown) => this.logger.error({ err: error }, 'scanning the Zeek log files failed'))
      .finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const found = await this.find();
    const present = new Set(found.map((item) => item.id));
    let added = false;
    for (const file of this.files.values()) {
      if (!present.has(file.id)) file.gone = true;
    }
    for (const item of found) {
      if (this.stopping) return;
      const known = this.files.get(item.id);
      if (known !== undefined) {
        known.path = item.path;
        known.gone = false;
        await this.checkRewritten(known, item.size);
        continue;
      }
      // The file that had this path before: rotated away while running, or while Loom was stopped.
      let predecessor = [...this.files.values()].find((file) => file.gone && file.path === item.path && file.log === item.log);
      if (item.plain) predecessor = (await this.recoverRotated(item)) ?? predecessor;
      const file = await this.track(item);
      if (file === undefined) continue;
      file.after = predecessor;
      added = true;
    }
    if (this.firstScan) this.forgetMissing();
    // A new file's starting point is saved at once: with start_at = "end" it is not 0.
    if (added || this.firstScan) this.persistSoon();
    this.firstScan = false;
    for (const file of this.files.values()) this.pump(file);
  }

  /**
   * Saved positions of files not found at startup are kept only for plain configured paths
   * (such a file may come back, e.g. once a volume is mounted); the rest belonged to rotated
   * files that have since been deleted.
   */
  private forgetMissing(): void {
    const plain = new Set(zeekLogs.flatMap((log) => this.config[log].filter((pattern) => !hasMagic(pattern))));
    for (const [id, position] of this.saved) {
      if (!plain.has(position.path)) this.saved.delete(id);
    }
  }

  /** Every configured path and glob, expanded and stat'ed; the first log to claim a file keeps it. */
  private async find(): Promise<Found[]> {
    const found: Found[] = [];
    const ids = new Set<string>();
    for (const log of zeekLogs) {
      for (const pattern of this.config[log]) {
        for (const path of await expand(pattern)) {
          const identity = await identify(path);
          if (identity === undefined || ids.has(identity.id)) continue;
          ids.add(identity.id);
          found.push({ log, path, ...identity, plain: !hasMagic(pattern) });
        }
      }
    }
    return found;
  }

  /**
   * After a restart, a saved position may belong to a file rotated away while Loom was down.
   * Zeek renames in place, so the file is looked for by inode beside the path it had.
   */
  private async recoverRotated(current: Found): Promise<TailedFile | undefined> {
    let recovered: TailedFile | undefined;
    for (const position of [...this.saved.values()]) {
      if (position.path !== current.path || position.id === current.id) continue;
      this.saved.delete(position.id);
      const dir = dirname(position.path);
      let names: string[] = [];
      try {
        names = await readdir(dir);
      } catch {
        // the directory is gone: so is the file
      }
      for (const name of names) {
        const path = join(dir, name);
        const identity = await identify(path);
        if (identity?.id !== position.id || this.files.has(identity.id)) continue;
        this.saved.set(position.id, { ...position, path });
        recovered = await this.track({ log: position.log, path, ...identity, plain: true });
        if (recovered !== undefined) {
          recovered.gone = true;
          this.logger.info({ path, rotated_from: position.path, offset: recovered.offset }, 'finishing a Zeek log rotated while Loom was stopped');
        }
        break;
      }
    }
    return recovered;
  }

  /** Opens a newly found file at its saved position, at 0, or at its end on a first start with start_at = "end". */
  private async track(item: Found): Promise<TailedFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(item.path, 'r');
    } catch (error) {
      this.throttled.warn(`open:${item.path}`, { path: item.path, err: (error as Error).message }, 'cannot open Zeek log');
      return undefined;
    }
    const file: TailedFile = { id: item.id, log: item.log, path: item.path, handle, offset: 0, head: undefined, gone: false, after: undefined, skipping: false, pumping: undefined };
    const saved = this.saved.get(item.id);
    this.saved.delete(item.id);
    if (saved !== undefined && saved.offset <= item.size && (saved.head === undefined || (await headOf(handle, saved.head_bytes ?? 0)) === saved.head)) {
      file.offset = saved.offset;
      if (saved.head !== undefined) file.head = { hash: saved.head, bytes: saved.head_bytes ?? 0 };
    } else if (saved === undefined && this.firstStart && this.firstScan && this.config.start_at === 'end') {
      file.offset = await lineStartBefore(handle, item.size);
    } else if (saved !== undefined) {
      this.logger.warn({ path: item.path, offset: saved.offset }, 'Zeek log was rewritten since its position was saved; reading it from the start');
    }
    this.files.set(file.id, file);
    return file;
  }

  /** Truncation (copytruncate, or a file rewritten in place): the same inode, other content. */
  private async checkRewritten(file: TailedFile, size: number): Promise<void> {
    if (file.pumping !== undefined) return;
    const rewritten = size < file.offset || (file.head !== undefined && (await headOf(file.handle, file.head.bytes)) !== file.head.hash);
    if (!rewritten) return;
    this.logger.warn({ path: file.path, offset: file.offset, size }, 'Zeek log was truncated; reading it again from the start');
    file.offset = 0;
    file.head = undefined;
    file.skipping = false;
    this.persistSoon();
  }

  private pump(file: TailedFile): void {
    if (file.pumping !== undefined || this.stopping) return;
    file.pumping = this.drain(file)
      .catch((error: unknown) => this.throttled.warn(`read:${file.path}`, { path: file.path, err: (error as Error).message }, 'reading a Zeek log failed; retrying at the next poll'))
      .finally(() => {
        file.pumping = undefined;
      });
  }

  /** Delivers what the file holds now, batch by batch, then closes it if it is finished. */
  private async drain(file: TailedFile): Promise<void> {
    if (file.after !== undefined && this.files.has(file.after.id)) return;
    file.after = undefined;
    while (!this.stopping) {
      if (!this.submitter.hasCapacity()) return;
      const { size } = await file.handle.stat();
      const available = size - file.offset;
      if (available <= 0) break;
      const chunk = Buffer.allocUnsafe(Math.min(available, this.bufferBytes));
      const { bytesRead } = await file.handle.read(chunk, 0, chunk.length, file.offset);
      const taken = takeLines(chunk.subarray(0, bytesRead), {
        offset: file.offset,
        maxEvents: this.submitter.maxEventsPerBatch,
        maxEventBytes: this.maxEventBytes,
        final: file.gone && bytesRead === available,
        skipping: file.skipping,
        map: (record, offset) => mapZeekRecord(file.log, record, { sensor: this.config.sensor, file: { path: file.path, offset } }),
      });
      for (const skip of taken.skipped) {
        this.metrics.inputRejected.inc({ input: 'zeek', reason: skip.reason });
        this.throttled.warn(`skip:${file.path}:${skip.reason}`, { path: file.path, offset: skip.offset, reason: skip.reason, problem: skip.message }, 'skipped a Zeek log line');
      }
      if (taken.consumed === 0) break;
      if (taken.events.length > 0 && !(await this.deliver(file, taken.events))) return;
      file.skipping = taken.skipping;
      await this.advance(file, file.offset + taken.consumed);
    }
    if (file.gone && !this.stopping && (await file.handle.stat()).size <= file.offset) await this.finish(file);
  }

  /** Submits until the pipeline accepts the batch; false when stopping first. */
  private async deliver(file: TailedFile, events: readonly EventLine[]): Promise<boolean> {
    let delay = 500;
    while (!this.stopping) {
      try {
        // A new buffer each attempt: the decode thread takes over the one it is given.
        await this.submitter.submit({ input: 'zeek', sender: this.config.sensor, ndjson: ndjsonOf(events) });
        return true;
      } catch (error) {
        const status = error instanceof ApiError ? error.status : 500;
        if (status < 500 && status !== 429) {
          // Retrying cannot help a batch the pipeline refuses as such; it is logged and counted.
          this.logger.error({ path: file.path, offset: file.offset, events: events.length, err: (error as Error).message }, 'the pipeline refused a batch of Zeek log lines; skipping it');
          return true;
        }
        const retryAfter = error instanceof ApiError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
        this.throttled.warn(`deliver:${file.path}`, { path: file.path, offset: file.offset, err: (error as Error).message }, 'outputs did not accept Zeek log lines; retrying');
        await this.sleep(Math.max(delay, retryAfter));
        delay = Math.min(delay * 2, maxRetryMs);
      }
    }
    return false;
  }

  private async advance(file: TailedFile, offset: number): Promise<void> {
    file.offset = offset;
    if (file.head === undefined && offset > 0) {
      const bytes = Math.min(headBytes, offset);
      file.head = { hash: await headOf(file.handle, bytes), bytes };
    }
    this.persistSoon();
  }

  /** A rotated or deleted file read to its end: closed and forgotten; its successor may start. */
  private async finish(file: TailedFile): Promise<void> {
    this.files.delete(file.id);
    await file.handle.close().catch(() => undefined);
    this.logger.info({ path: file.path, offset: file.offset }, 'finished a rotated Zeek log');
    this.persistSoon();
    for (const other of this.files.values()) if (other.after === file) this.pump(other);
  }

  /** Batches do not wait for the position file: a position written late costs duplicates after a crash, never loss. */
  private persistSoon(): void {
    this.persist().catch((error: unknown) => this.throttled.warn('persist', { path: this.config.position_file, err: (error as Error).message }, 'could not write the Zeek position file; retrying with the next batch'));
  }

  private persist(): Promise<void> {
    return this.store.save(() => [
      ...[...this.files.values()].map((file): Position => ({
        log: file.log,
        path: file.path,
        id: file.id,
        offset: file.offset,
        ...(file.head === undefined ? {} : { head: file.head.hash, head_bytes: file.head.bytes }),
      })),
      // Files not found (yet): kept, so that a file that comes back resumes where it was.
      ...this.saved.values(),
    ]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

async function identify(path: string): Promise<{ id: string; size: number } | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    if (!st.isFile() || basename(path).endsWith('.gz')) return undefined;
    return { id: `${st.dev}:${st.ino}`, size: Number(st.size) };
  } catch {
    return undefined;
  }
}

async function headOf(handle: FileHandle, bytes: number): Promise<string> {
  const buffer = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
  return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('base64');
}

/** The start of the line that `size` falls in: where reading from "the end" begins without cutting a line. */
async function lineStartBefore(handle: FileHandle, size: number): Promise<number> {
  const window = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - window.length);
    const { bytesRead } = await handle.read(window, 0, end - start, start);
    const newline = window.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}
