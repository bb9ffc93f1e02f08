import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * The sensor's local event stream: one JSON line per connection, to stdout or `log_file`.
 * Writes go through the thread pool, never blocking the accept loop; reopen() after
 * logrotate moved the file (SIGHUP). Diagnostics never go here: they go to stderr.
 */
export class EventLog {
  private stream: WriteStream;
  private dropped = 0;
  /** Lines of this event-loop turn, written together: one write call per turn, not per event. */
  private pending: string[] = [];
  private flushScheduled = false;

  constructor(private readonly path: string) {
    this.stream = this.open();
  }

  /** Appends one event, already serialised as JSON. */
  write(line: string): void {
    // A consumer that stopped reading must not grow the sensor's memory without bound.
    if (this.stream.writableLength > 64 * 1024 * 1024) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
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
