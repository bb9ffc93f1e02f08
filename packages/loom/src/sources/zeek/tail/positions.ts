import { open, readFile, rename } from 'node:fs/promises';
import { isZeekLog, type ZeekLog } from '../logs.js';

/** How far one file has been delivered. */
export interface Position {
  log: ZeekLog;
  /** Where the file was last seen. */
  path: string;
  /** `dev:ino`: a file keeps it across renames, which is how rotation is followed. */
  id: string;
  /** Bytes delivered: always the start of a line. */
  offset: number;
  /**
   * SHA-256 (base64) of the file's first `head_bytes` bytes: tells a rewritten file, or a new file
   * that got a deleted one's inode number, from the file the offset belongs to.
   */
  head?: string;
  head_bytes?: number;
}

interface PositionFile {
  version: 1;
  files: Position[];
}

/**
 * The position file: small JSON, replaced atomically (write a temporary file, fsync, rename)
 * so that a crash leaves either the old or the new positions, never a torn file.
 */
export class PositionStore {
  private saving: Promise<void> | undefined;
  private pending: (() => Position[]) | undefined;

  constructor(readonly path: string, private readonly key: string) {}

  /** undefined when there is no file yet (first start). */
  async load(): Promise<Position[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${this.key}: cannot read ${JSON.stringify(this.path)}: ${(error as Error).message}`, { cause: error });
    }
    const positions = parsePositions(text);
    if (positions === undefined) {
      throw new Error(`${this.key}: ${JSON.stringify(this.path)} is not a position file written by Loom; move it away to read every file from the start`);
    }
    return positions;
  }

  /**
   * Writes the positions `snapshot` returns when the write starts. Calls made while a write is
   * running are folded into one more write, so bursts of batches cost two writes, not many.
   */
  save(snapshot: () => Position[]): Promise<void> {
    this.pending = snapshot;
    this.saving ??= this.drain().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const snapshot = this.pending;
      this.pending = undefined;
      await this.write({ version: 1, files: snapshot() });
    }
  }

  private async write(content: PositionFile): Promise<void> {
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(content)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }
}

function parsePositions(text: string): Position[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const file = parsed as Partial<PositionFile> | null;
  if (file === null || typeof file !== 'object' || file.version !== 1 || !Array.isArray(file.files)) return undefined;
  const positions: Position[] = [];
  for (const item of file.files as unknown[]) {
    const p = item as Partial<Position> | null;
    if (p === null || typeof p !== 'object' || !isZeekLog(p.log) || typeof p.path !== 'string' || typeof p.id !== 'string') return undefined;
    if (typeof p.offset !== 'number' || !Number.isSafeInteger(p.offset) || p.offset < 0) return undefined;
    const head = typeof p.head === 'string' && typeof p.head_bytes === 'number' ? { head: p.head, head_bytes: p.head_bytes } : {};
    positions.push({ log: p.log, path: p.path, id: p.id, offset: p.offset, ...head });
  }
  return positions;
}
