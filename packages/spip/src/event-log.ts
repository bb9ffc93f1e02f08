import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * The sensor's local event stream: one JSON line per connection, to stdout or `log_file`.
 * Writes go through the thread pool, never blocking the accept loop; reopen() after
 * logrotate moved the file (SIGHUP). Diagnostics never go here: they go to stderr.
 */
export class EventLog {
  private stream: WriteStream;
  private dropped = 0;

  constructor(private readonly path: string) {
    this.stream = this.open();
  }

  write(event: Record<string, unknown>): void {
    // A consumer that stopped reading must not grow the sensor's memory without bound.
    if (this.stream.writableLength > 64 * 1024 * 1024) {
      this.dropped++;
      return;
    }
    this.stream.write(`${JSON.stringify(event)}\n`);
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  reopen(): void {
    if (this.path === '') return;
    const old = this.stream;
    this.stream = this.open();
    old.end();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private open(): WriteStream {
    const stream = this.path === '' ? createWriteStream('', { fd: 1, autoClose: false }) : createWriteStream(this.path, { flags: 'a', mode: 0o644 });
    stream.on('error', (error) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'event log write failed', error: error.message })}\n`));
    return stream;
  }
}
