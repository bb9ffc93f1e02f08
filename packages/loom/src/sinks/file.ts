import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { OutputConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import { AppendWriter, describeError, errorCode, type AppendWriterOptions } from './append-writer.js';
import { RecordFormatter } from './record-format.js';
import { SinkUnavailableError, type Batch, type Sink, type SinkHealth } from './types.js';

const open = promisify(fs.open);
const close = promisify(fs.close);
const fstat = promisify(fs.fstat);
const rename = promisify(fs.rename);
const fsyncFd = promisify(fs.fsync);

const FILE_MODE = 0o640;
const RETRY_AFTER_SECONDS = 5;

export type FileSinkConfig = Pick<OutputConfig, 'file_path' | 'file_max_size_bytes' | 'file_max_files' | 'file_fsync'>
  & Partial<Pick<OutputConfig, 'format' | 'column_order' | 'plaintext_field_delimiter' | 'plaintext_entry_delimiter'>>;
export type FileSinkOptions = Pick<AppendWriterOptions, 'maxQueuedBytes'> & { name?: string };

/**
 * Appends NDJSON to output.file_path. A batch counts as delivered once its bytes are in
 * the kernel (file_fsync = false) or on stable storage (file_fsync = true).
 */
export class FileSink implements Sink {
  readonly name: string;
  readonly type = 'file';
  private readonly path: string;
  private readonly formatter: RecordFormatter;
  private readonly writer: AppendWriter;
  private fd: number | undefined;
  /** Rotation renames the path, which must never happen to /dev/null, a FIFO or a device. */
  private regularFile = false;
  private state: SinkHealth = { ok: true };
  private rotationFailing = false;

  constructor(
    private readonly config: FileSinkConfig,
    private readonly logger: Logger,
    options: FileSinkOptions = {},
  ) {
    this.name = options.name ?? 'file';
    this.path = config.file_path;
    const rotating = config.file_max_size_bytes > 0;
    // The real fd arrives with start(); until then write() refuses before reaching the writer.
    this.formatter = new RecordFormatter({
      format: config.format ?? 'json',
      columnOrder: config.column_order ?? [],
      fieldDelimiter: config.plaintext_field_delimiter ?? '\t',
      entryDelimiter: config.plaintext_entry_delimiter ?? '\n',
    });
    this.writer = new AppendWriter(-1, {
      fsync: config.file_fsync,
      rollbackOnFailure: true,
      maxQueuedBytes: options.maxQueuedBytes,
      // A group no larger than the limit lets every file but an oversized batch's stay under it.
      ...(rotating
        ? { maxGroupBytes: config.file_max_size_bytes, beforeGroup: (bytes: number) => this.rotateIfNeeded(bytes) }
        : {}),
    });
  }

  async start(): Promise<void> {
    try {
      this.install(await this.openPath());
    } catch (err) {
      throw new Error(`output.file_path "${this.path}": cannot open for appending: ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  async write(batch: Batch): Promise<void> {
    if (this.fd === undefined) throw new SinkUnavailableError(`file output ${this.path} is not open`);
    try {
      await this.writer.append(this.formatter.format(batch.ndjson));
    } catch (err) {
      if (err instanceof SinkUnavailableError) throw err;
      const reason = `writing ${this.path} failed: ${describeError(err)}`;
      if (this.state.ok) this.logger.error({ path: this.path, code: errorCode(err), reason }, 'file output failing');
      this.state = { ok: false, reason };
      throw new SinkUnavailableError(reason, RETRY_AFTER_SECONDS, { cause: err });
    }
    if (!this.state.ok) {
      this.logger.info({ path: this.path }, 'file output writing again');
      this.state = { ok: true };
    }
  }

  health(): SinkHealth {
    return { ...this.state };
  }

  /**
   * Switches to a fresh file at the configured path (after logrotate moved the old one).
   * Batches accepted before the call land in the old file, later ones in the new file.
   * If the path cannot be opened, writing goes on into the old file and this rejects.
   */
  async reopen(): Promise<void> {
    if (this.fd === undefined) return;
    await this.writer.exclusive(async () => {
      let opened: OpenFile;
      try {
        opened = await this.openPath();
      } catch (err) {
        this.logger.error(
          { path: this.path, reason: describeError(err) },
          'file output reopen failed; still writing to the previous file',
        );
        throw err;
      }
      await this.swap(opened);
      this.logger.info({ path: this.path }, 'file output reopened');
    });
  }

  async close(): Promise<void> {
    await this.writer.close();
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await close(fd);
  }

  private async openPath(): Promise<OpenFile> {
    const fd = await open(this.path, 'a', FILE_MODE);
    try {
      const regular = (await fstat(fd)).isFile();
      // fdatasync covers the file's data, not the directory entry that a create or a rotation just changed.
      if (this.config.file_fsync && regular) await syncDirectory(dirname(this.path));
      return { fd, regular };
    } catch (err) {
      await close(fd).catch(() => undefined);
      throw err;
    }
  }

  private install(opened: OpenFile): void {
    this.fd = opened.fd;
    this.regularFile = opened.regular;
    this.writer.setFd(opened.fd);
  }

  private async swap(opened: OpenFile): Promise<void> {
    const previous = this.fd;
    this.install(opened);
    if (previous === undefined) return;
    try {
      await close(previous);
    } catch (err) {
      // Every byte was already written (and synced when file_fsync is on) before the swap.
      this.logger.warn({ path: this.path, reason: describeError(err) }, 'file output: closing the previous file failed');
    }
  }

  private async rotateIfNeeded(groupBytes: number): Promise<void> {
    if (this.fd === undefined || !this.regularFile) return;
    const size = (await fstat(this.fd)).size;
    if (size === 0 || size + groupBytes <= this.config.file_max_size_bytes) return;
    try {
      await this.rotate();
      this.rotationFailing = false;
      this.logger.info({ path: this.path, size }, 'file output rotated');
    } catch (err) {
      // Exceeding the size limit is better than refusing batches; the next group retries.
      if (!this.rotationFailing) {
        this.logger.error(
          { path: this.path, reason: describeError(err) },
          'file output rotation failed; still writing to the current file',
        );
      }
      this.rotationFailing = true;
    }
  }

  /** Renaming onto path.N replaces the oldest file, so nothing has to be deleted separately. */
  private async rotate(): Promise<void> {
    for (let i = this.config.file_max_files - 1; i >= 1; i--) {
      await renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    await renameIfExists(this.path, `${this.path}.1`);
    await this.swap(await this.openPath());
  }
}

interface OpenFile {
  fd: number;
  regular: boolean;
}

async function syncDirectory(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await close(fd);
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}
