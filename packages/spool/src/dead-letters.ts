import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogFn } from './types.js';
import { Throttle } from './throttle.js';

export interface DeadLetter {
  record: Buffer;
  reason: string;
  status: number | undefined;
  error: string | undefined;
  message: string | undefined;
}

export const DEAD_LETTER_FILE = 'dead-letter.ndjson';
const PREVIEW_CHARS = 200;

/**
 * Events a destination will never accept, kept with the reason so an operator can see what was
 * refused and send it again by hand. With a spool directory they go to
 * dead-letter.ndjson (rotated once to .1 at `maxFileBytes`); without one, each is logged.
 * Either way the caller has already counted them as dropped.
 */
export class DeadLetters {
  private handle: FileHandle | undefined;
  private size = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly throttle = new Throttle(10_000);

  constructor(
    private readonly dir: string | undefined,
    private readonly maxFileBytes: number,
    private readonly log: LogFn,
    /** Names the component in log messages, e.g. "shipper" or "output clickhouse". */
    private readonly label = 'shipper',
  ) {}

  get file(): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, DEAD_LETTER_FILE);
  }

  /** Resolves once the letters are written and synced: only then may their batch be acknowledged. */
  write(letters: DeadLetter[]): Promise<void> {
    const run = this.chain.then(() => this.writeNow(letters));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async writeNow(letters: DeadLetter[]): Promise<void> {
    const file = this.file;
    const first = letters[0];
    if (first === undefined) return;
    const suppressed = this.throttle.pass(first.reason);
    const summary = { reason: first.reason, events: letters.length, status: first.status, error: first.error, message: first.message };
    if (file === undefined) {
      if (suppressed !== undefined) {
        this.log('warn', `${this.label}: events dead-lettered (no spool directory: they are not kept)`, {
          ...summary, preview: first.record.toString('utf8', 0, Math.min(first.record.length, PREVIEW_CHARS)), ...(suppressed > 0 ? { suppressed } : {}),
        });
      }
      return;
    }
    const time = new Date().toISOString();
    const lines = letters.map((l) => {
      const head = JSON.stringify({ time, reason: l.reason, status: l.status, error: l.error, message: l.message });
      // The event is already JSON: spliced in as is rather than parsed and serialised again.
      return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"event":`), l.record, Buffer.from('}\n')]);
    });
    const data = Buffer.concat(lines);
    try {
      await this.append(file, data);
    } catch (error) {
      this.log('error', `${this.label}: could not write dead letters; they are lost`, { ...summary, file, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (suppressed !== undefined) this.log('warn', `${this.label}: events dead-lettered`, { ...summary, file, ...(suppressed > 0 ? { suppressed } : {}) });
  }

  private async append(file: string, data: Buffer): Promise<void> {
    if (this.handle === undefined) {
      this.size = await stat(file).then((s) => s.size, () => 0);
      this.handle = await open(file, 'a', 0o600);
    }
    if (this.size > 0 && this.size + data.length > this.maxFileBytes) {
      await this.handle.close();
      this.handle = undefined;
      await rename(file, `${file}.1`);
      this.log('info', `${this.label}: dead-letter file rotated`, { file, previous: `${file}.1` });
      this.size = 0;
      this.handle = await open(file, 'a', 0o600);
    }
    await this.handle.write(data);
    await this.handle.datasync();
    this.size += data.length;
  }
}
