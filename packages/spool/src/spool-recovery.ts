import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, scanSegment } from './frame.js';
import type { LogFn } from './types.js';
import { ACK_FILE, SEGMENT_NAME, decodeAck, quarantineFile, replaceFile, segmentName } from './spool-files.js';
import type { DropHandler, Position } from './store.js';

export interface Segment {
  id: number;
  /** Bytes known to be written and synced: the reader never reads past this. */
  size: number;
  count: number;
  /** No more appends: the reader may move past its end. */
  sealed: boolean;
}

export interface RecoveredSpool {
  /** Every segment with records, oldest first, all sealed. */
  segments: Segment[];
  /** The first unacknowledged record. */
  acked: Position;
  nextId: number;
}

type AckInSegment = { offset: number; index: number };

/**
 * Reads what a previous run left: checks every segment frame by frame, repairs or sets
 * aside what is damaged, and finds where sending resumes. It never refuses to start
 * because of the spool's contents; only an unreadable directory stops it.
 */
export async function recoverSpool(dir: string, log: LogFn, onDrop: DropHandler): Promise<RecoveredSpool> {
  const names = await readdir(dir);
  for (const name of names) if (name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
  const ids = names.flatMap((n) => {
    const m = SEGMENT_NAME.exec(n);
    return m === null ? [] : [Number(m[1])];
  }).sort((a, b) => a - b);
  const saved = await readAck(dir, log);
  const segments: Segment[] = [];
  let ackInFirst: AckInSegment | undefined;
  for (const id of ids) {
    const file = join(dir, segmentName(id));
    let loaded: { segment: Segment; ack: AckInSegment | undefined } | undefined;
    try {
      if (saved !== undefined && id < saved.segment) {
        await unlink(file);
        continue;
      }
      loaded = await loadSegment(dir, file, id, saved !== undefined && id === saved.segment ? saved.offset : undefined, log, onDrop);
    } catch (error) {
      const moved = await quarantineFile(dir, file, 'move').catch(() => undefined);
      log('error', 'spool: cannot read a segment; moved to quarantine', { file, quarantined: moved ?? null, error: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (loaded === undefined) continue;
    if (segments.length === 0) ackInFirst = loaded.ack;
    segments.push(loaded.segment);
  }
  // Past every name seen, loaded or not: a file left in place must not collide with a new segment.
  const nextId = Math.max((ids.at(-1) ?? 0) + 1, saved?.segment ?? 1);
  const first = segments[0];
  let acked: Position;
  if (first === undefined) acked = { segment: nextId, offset: SEGMENT_HEADER_BYTES, index: 0 };
  else if (saved?.segment === first.id && ackInFirst !== undefined) acked = { segment: first.id, ...ackInFirst };
  else acked = { segment: first.id, offset: SEGMENT_HEADER_BYTES, index: 0 };
  return { segments, acked, nextId };
}

/**
 * One segment: a torn tail is cut; damage inside the file sends a copy of it to
 * quarantine/ and keeps every intact record; a file that is not a segment at all is moved
 * to quarantine/. `ackOffset`, for the segment the ack file points into, is translated
 * into a record index (and an offset in the repaired file).
 */
async function loadSegment(
  dir: string, file: string, id: number, ackOffset: number | undefined, log: LogFn, onDrop: DropHandler,
): Promise<{ segment: Segment; ack: AckInSegment | undefined } | undefined> {
  const buf = await readFile(file);
  const scan = scanSegment(buf);
  if (!scan.magic) {
    if (buf.length < SEGMENT_HEADER_BYTES && SEGMENT_MAGIC.subarray(0, buf.length).equals(buf)) {
      // Created just before a crash, before its header was complete: it never held a record.
      await unlink(file);
      return undefined;
    }
    const moved = await quarantineFile(dir, file, 'move');
    log('error', 'spool: a segment file has no valid header; moved to quarantine', { file, quarantined: moved, bytes: buf.length });
    return undefined;
  }
  let ackIndex: number | undefined;
  if (ackOffset !== undefined) {
    ackIndex = ackOffset === SEGMENT_HEADER_BYTES ? 0 : scan.frames.findIndex(([, end]) => end === ackOffset) + 1;
    if (ackIndex === 0 && ackOffset !== SEGMENT_HEADER_BYTES) {
      ackIndex = undefined;
      log('warn', 'spool: the acknowledged position is not at a record boundary; resending that segment from its start', { file });
    }
  }
  const corrupt = scan.corruptRecords > 0 || scan.unreadableFrom !== undefined;
  let size = buf.length;
  if (corrupt) {
    const salvaged = Buffer.concat([SEGMENT_MAGIC, ...scan.frames.map(([start, end]) => buf.subarray(start, end))]);
    size = salvaged.length;
    const moved = await quarantineFile(dir, file, 'copy');
    if (scan.frames.length > 0) await replaceFile(dir, file, salvaged);
    if (scan.corruptRecords > 0) onDrop('corrupt', scan.corruptRecords);
    log('error', 'spool: a segment is damaged; a copy is in quarantine and its intact records are kept', {
      file, quarantined: moved, keptRecords: scan.frames.length, corruptRecords: scan.corruptRecords,
      unreadableBytes: scan.unreadableFrom === undefined ? 0 : buf.length - scan.unreadableFrom,
    });
  } else if (scan.tornAt !== undefined) {
    size = scan.tornAt;
    const handle = await open(file, 'r+');
    try {
      await handle.truncate(scan.tornAt);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    log('warn', 'spool: cut an unfinished write at the end of a segment (left by a crash)', { file, bytes: buf.length - scan.tornAt });
  }
  if (scan.frames.length === 0) {
    await unlink(file);
    return undefined;
  }
  let ack: AckInSegment | undefined;
  if (ackIndex !== undefined) {
    let offset = SEGMENT_HEADER_BYTES;
    for (const [start, end] of scan.frames.slice(0, ackIndex)) offset += end - start;
    ack = { offset, index: ackIndex };
  }
  return { segment: { id, size, count: scan.frames.length, sealed: true }, ack };
}

async function readAck(dir: string, log: LogFn): Promise<{ segment: number; offset: number } | undefined> {
  const file = join(dir, ACK_FILE);
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const ack = decodeAck(buf);
  if (ack === undefined && buf.length > 0) log('warn', 'spool: the ack file is damaged; resending the whole spool (the receiver may see some events twice)', { file });
  return ack;
}
