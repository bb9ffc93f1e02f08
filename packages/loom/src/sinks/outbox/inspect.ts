import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ACK_FILE, DEAD_LETTER_FILE, FRAME_HEADER_BYTES, QUARANTINE_DIR, SEGMENT_NAME, decodeAck, scanSegment } from '@loom/spool';
import { readHeader } from './record.js';

/** What one outbox directory holds, read without opening it for writing (Loom may be running). */
export interface OutboxReport {
  dir: string;
  exists: boolean;
  segments: number;
  /** Size of all segment files. */
  bytes: number;
  /** Records (batches) not yet delivered, and the events in them. */
  records: number;
  events: number;
  /** received_at of the oldest undelivered record (ms), if any. */
  oldestReceivedAt: number | undefined;
  /** Per sensor, undelivered events. */
  bySensor: Record<string, number>;
  /** Events of each undelivered record, oldest first. */
  recordEvents: number[];
  deadLetterBytes: number;
  quarantined: string[];
  /** Found by verify: every problem, one line each. Empty when the outbox is intact. */
  problems: string[];
}

/**
 * Reads an outbox directory: with `verify`, every record's checksum and header is checked
 * (the whole outbox is read); without, only the undelivered part is read for counting.
 */
export async function inspectOutbox(dir: string, verify: boolean): Promise<OutboxReport> {
  const report: OutboxReport = {
    dir, exists: false, segments: 0, bytes: 0, records: 0, events: 0, oldestReceivedAt: undefined, bySensor: {}, recordEvents: [], deadLetterBytes: 0, quarantined: [], problems: [],
  };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return report;
    throw error;
  }
  report.exists = true;
  const ack = await readFile(join(dir, ACK_FILE)).then(decodeAck, () => undefined);
  if (ack === undefined && names.includes(ACK_FILE)) report.problems.push(`${ACK_FILE}: damaged; Loom will resend the whole outbox at its next start`);
  report.deadLetterBytes = await stat(join(dir, DEAD_LETTER_FILE)).then((s) => s.size, () => 0);
  report.quarantined = await readdir(join(dir, QUARANTINE_DIR)).catch(() => []);
  const segments = names.flatMap((name) => {
    const match = SEGMENT_NAME.exec(name);
    return match === null ? [] : [{ name, id: Number(match[1]) }];
  }).sort((a, b) => a.id - b.id);
  report.segments = segments.length;
  for (const segment of segments) {
    const file = join(dir, segment.name);
    const buf = await readFile(file);
    report.bytes += buf.length;
    const done = ack !== undefined && segment.id < ack.segment;
    if (done && !verify) continue;
    const scan = scanSegment(buf);
    if (!scan.magic) {
      report.problems.push(`${segment.name}: not a segment file (bad magic)`);
      continue;
    }
    if (scan.corruptRecords > 0) report.problems.push(`${segment.name}: ${scan.corruptRecords} record(s) fail their checksum`);
    if (scan.unreadableFrom !== undefined) report.problems.push(`${segment.name}: damaged frame header at byte ${scan.unreadableFrom}; the rest of the file is unreadable`);
    if (scan.tornAt !== undefined) report.problems.push(`${segment.name}: incomplete last write at byte ${scan.tornAt} (a crash during a write; cut off at the next start, nothing acknowledged is in it)`);
    for (const [start, end] of scan.frames) {
      const undelivered = !done && (ack === undefined || segment.id > ack.segment || start >= ack.offset);
      const header = readHeader(buf.subarray(start + FRAME_HEADER_BYTES, end));
      if (header === undefined) {
        report.problems.push(`${segment.name}: record at byte ${start} has no valid outbox header`);
        continue;
      }
      if (!undelivered) continue;
      report.records++;
      report.events += header.count;
      report.recordEvents.push(header.count);
      report.bySensor[header.sensor] = (report.bySensor[header.sensor] ?? 0) + header.count;
      if (header.received_at > 0 && (report.oldestReceivedAt === undefined || header.received_at < report.oldestReceivedAt)) report.oldestReceivedAt = header.received_at;
    }
  }
  return report;
}
