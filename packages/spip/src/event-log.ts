import { createWriteStream, type WriteStream } from 'node:fs';

/** How long lines may wait to be written together; each write is a thread-pool round trip. */
const COALESCE_MS = 15;
/** Pending text that is written at once rather than at the end of the window. */
const COALESCE_BYTES = 64 * 1024;
/** What may wait in memory, pending and in the stream together, before lines are dropped. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * The sensor's local event stream: one JSON line per connection, to stdout or `log_file`.
 * Writes go through the thread pool, never blocking the accept loop; reopen() after
 * logrotate moved the file (SIGHUP). Diagnostics never go here: they go to stderr.
 */
export class EventLog {
  private stream: WriteStream;
  private dropped = 0;
  /** Lines gathered over up to COALESCE_MS, written in one call: a write per event costs more than the event. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly path: string) {
    this.stream = this.open();
  }

  /** Appends one event, already serialised as JSON. */
  write(line: string): void {
    // A consumer that stopped reading must not grow the sensor's memory without bound.
    if (this.stream.writableLength + this.pendingBytes > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    // String length undercounts multi-byte text, which only makes the flush come later than 64 KiB.
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes >= COALESCE_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.flush, COALESCE_MS);
      // Lines still waiting at exit are written by close(); the window alone keeps nothing alive.
      this.timer.unref();
    }
  }

  private readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(text);
  };

  get droppedEvents(): number {
    return this.dropped;
  }

  reopen(): void {
    if (this.path === '') return;
    this.flush();
    const old = this.stream;
    this.stream = this.open();
    old.end();
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private open(): WriteStream {
    const stream = this.path === '' ? createWriteStream('', { fd: 1, autoClose: false }) : createWriteStream(this.path, { flags: 'a', mode: 0o644 });
    stream.on('error', (error) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'event log write failed', error: error.message })}\n`));
    return stream;
  }
}
