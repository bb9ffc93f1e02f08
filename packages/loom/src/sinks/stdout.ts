import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../logging.js';
import { AppendWriter, describeError, errorCode, type AppendWriterOptions } from './append-writer.js';
import { SinkUnavailableError, type Batch, type Sink, type SinkHealth } from './types.js';

const fstat = promisify(fs.fstat);

const STDOUT_FD = 1;
const RETRY_AFTER_SECONDS = 5;

export type StdoutSinkOptions = Pick<AppendWriterOptions, 'maxQueuedBytes' | 'stallTimeoutMs'> & { name?: string };

/**
 * Writes NDJSON to fd 1. process.stdout is bypassed on purpose: for files and pipes it
 * writes synchronously on Linux and would stall the event loop behind a slow reader.
 * A batch counts as delivered once the kernel has accepted all of its bytes.
 */
export class StdoutSink implements Sink {
  readonly name: string;
  readonly type = 'stdout';
  private readonly writer: AppendWriter;
  private state: SinkHealth = { ok: true };

  constructor(
    private readonly logger: Logger,
    options: StdoutSinkOptions = {},
  ) {
    this.name = options.name ?? 'stdout';
    this.writer = new AppendWriter(STDOUT_FD, options);
  }

  async start(): Promise<void> {
    try {
      await fstat(STDOUT_FD);
    } catch (err) {
      throw new Error(`output.type "stdout": standard output is not open (${describeError(err)})`, { cause: err });
    }
  }

  async write(batch: Batch): Promise<void> {
    try {
      await this.writer.append(batch.ndjson);
    } catch (err) {
      if (err instanceof SinkUnavailableError) throw err;
      const reason =
        errorCode(err) === 'EPIPE'
          ? 'stdout: the reading process has gone away (EPIPE)'
          : `stdout: write failed: ${describeError(err)}`;
      if (this.state.ok) this.logger.error({ reason }, 'stdout output failing');
      this.state = { ok: false, reason };
      throw new SinkUnavailableError(reason, RETRY_AFTER_SECONDS, { cause: err });
    }
    if (!this.state.ok) {
      this.logger.info('stdout output writing again');
      this.state = { ok: true };
    }
  }

  health(): SinkHealth {
    return { ...this.state };
  }

  async reopen(): Promise<void> {}

  async close(): Promise<void> {
    await this.writer.close();
  }
}
