import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logging.js';
import { ThrottledLog } from '../../logging.js';
import { describeError } from '../../sinks/append-writer.js';
import { FileSink } from '../../sinks/file.js';
import type { EventSubmitter } from '../submitter.js';
import type { LogfileSettings } from './settings.js';
import type { TcpJsonStats } from './metrics.js';
import { clip } from './responses.js';

/** Messages of one read from one connection that passed every check. */
export interface AcceptedBatch {
  /** Logfile records, without line ends. */
  records: string[];
  /** The same messages as ECS events, when they are forwarded into Loom's pipeline. */
  events: string[];
  /** The client address. */
  sender: string;
  receivedAt: number;
}

/**
 * Where accepted messages go: the logfile, Loom's pipeline, or both. A batch is stored once
 * every destination has durably accepted it; only then does its client hear "success".
 */
export class MessageStore {
  constructor(
    private readonly input: string,
    private readonly logfile: FileSink | undefined,
    private readonly forward: EventSubmitter | undefined,
  ) {}

  get forwarding(): boolean {
    return this.forward !== undefined;
  }

  async store(batch: AcceptedBatch): Promise<void> {
    const writes: Promise<unknown>[] = [];
    if (this.logfile !== undefined) {
      writes.push(this.logfile.write({ id: randomUUID(), source: this.input, sensorId: batch.sender, receivedAt: batch.receivedAt, count: batch.records.length, ndjson: lines(batch.records) }));
    }
    const forward = this.forward;
    if (forward !== undefined) {
      const size = Math.max(1, forward.maxEventsPerBatch);
      for (let from = 0; from < batch.events.length; from += size) {
        writes.push(forward.submit({ input: this.input, sender: batch.sender, ndjson: lines(batch.events.slice(from, from + size)) }));
      }
    }
    await Promise.all(writes);
  }
}

function lines(items: readonly string[]): Buffer {
  return Buffer.from(`${items.join('\n')}\n`);
}

/** The longest part of a refused message kept in the error log (UTF-16 units). */
export const ERROR_LOG_MAX_RAW = 4096;

/**
 * error_handling.invalid_message = "redirect_to_error_log": one JSON line per malformed
 * message. Best effort by design: the client's answer never waits for it, and a line that
 * cannot be written is counted (loom_tcp_json_error_log_dropped_total) and logged, not retried.
 */
export class ErrorLog {
  private readonly throttled: ThrottledLog;

  constructor(
    private readonly sink: FileSink,
    private readonly path: string,
    private readonly stats: TcpJsonStats,
    logger: Logger,
  ) {
    this.throttled = new ThrottledLog(logger);
  }

  line(time: string, address: string, port: number, reason: string, raw: string | undefined, rawBytes: number | undefined): string {
    const record: Record<string, unknown> = { time, source_ip: address, source_port: port, reason };
    if (raw !== undefined) {
      record.raw_message = clip(raw, ERROR_LOG_MAX_RAW);
      record.raw_bytes = rawBytes;
      record.truncated = raw.length > ERROR_LOG_MAX_RAW;
    }
    return JSON.stringify(record);
  }

  write(records: string[], sender: string): void {
    const batch = { id: randomUUID(), source: 'tcp_json_errors', sensorId: sender, receivedAt: Date.now(), count: records.length, ndjson: lines(records) };
    this.sink.write(batch).catch((error: unknown) => {
      this.stats.errorLogDropped += records.length;
      this.throttled.warn('error-log', { path: this.path, reason: describeError(error) }, 'tcp-json: writing the error log failed; malformed messages were not recorded');
    });
  }
}

/** Opens a FileSink, reporting a failure under the config key that named the file. */
export async function openFile(sink: FileSink, key: string, path: string): Promise<void> {
  try {
    await sink.start();
  } catch (error) {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    throw new Error(`${key}: cannot open ${path} for appending: ${describeError(cause)}`, { cause: error });
  }
}

export function logfileSink(settings: LogfileSettings, logger: Logger): FileSink {
  return new FileSink({
    file_path: settings.path,
    file_max_size_bytes: settings.maxSizeBytes,
    file_max_files: settings.maxFiles,
    file_fsync: settings.fsync,
    format: settings.format,
    column_order: settings.columnOrder,
    plaintext_field_delimiter: settings.fieldDelimiter,
    plaintext_entry_delimiter: settings.entryDelimiter,
  }, logger, { name: 'tcp_json_logfile' });
}

export function errorLogSink(path: string, logger: Logger): FileSink {
  return new FileSink({ file_path: path, file_max_size_bytes: 0, file_max_files: 1, file_fsync: false }, logger, { name: 'tcp_json_error_log' });
}
