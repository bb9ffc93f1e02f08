import type { MapResult } from '../../flows/map.js';
import { eventLine, type EventLine } from '../../flows/ndjson.js';
import type { RejectReason } from '../../flows/refusal.js';

/** A line that was not delivered, and why. */
export interface SkippedLine {
  offset: number;
  reason: RejectReason;
  message: string;
}

export interface TakenLines {
  events: EventLine[];
  /** Bytes of the chunk used up: complete lines (delivered or skipped), or an oversized line's bytes. */
  consumed: number;
  skipped: SkippedLine[];
  /** Still inside an oversized line: its rest, up to the next newline, is dropped too. */
  skipping: boolean;
}

export interface TakeOptions {
  /** File offset of the chunk's first byte. */
  offset: number;
  maxEvents: number;
  maxEventBytes: number;
  /** The file will not grow any more (rotated away): a last line without a newline is complete. */
  final: boolean;
  skipping: boolean;
  map: (record: unknown, offset: number) => MapResult;
}

/**
 * Turns the complete lines at the start of a chunk into events, up to maxEvents. A line still
 * being written is left for later; a line longer than maxEventBytes is skipped as soon as that
 * is certain, so that no line can make the reader hold more than one buffer.
 */
export function takeLines(chunk: Buffer, options: TakeOptions): TakenLines {
  const events: EventLine[] = [];
  const skipped: SkippedLine[] = [];
  let skipping = options.skipping;
  let pos = 0;
  const take = (start: number, end: number): void => {
    if (end > start && chunk[end - 1] === 0x0d) end--;
    if (end === start) return;
    const offset = options.offset + start;
    if (end - start > options.maxEventBytes) {
      skipped.push({ offset, reason: 'event_too_large', message: `line of ${end - start} bytes exceeds limits.max_event_size_bytes (${options.maxEventBytes})` });
      return;
    }
    let record: unknown;
    try {
      record = JSON.parse(chunk.toString('utf8', start, end));
    } catch (error) {
      const hint = chunk[start] === 0x23 ? ' (a "#" header: Zeek writes TSV unless its JSON writer is on, see docs/INPUTS.md)' : '';
      skipped.push({ offset, reason: 'invalid_json', message: `not JSON${hint}: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    const mapped = options.map(record, offset);
    if (!mapped.ok) {
      skipped.push({ offset, reason: 'invalid_record', message: mapped.problems.map((p) => p.message).join('; ') });
      return;
    }
    const line = eventLine(mapped.event);
    if (line.bytes > options.maxEventBytes) {
      skipped.push({ offset, reason: 'event_too_large', message: `event of ${line.bytes} bytes exceeds limits.max_event_size_bytes (${options.maxEventBytes})` });
      return;
    }
    events.push(line);
  };
  while (events.length < options.maxEvents) {
    const newline = chunk.indexOf(0x0a, pos);
    if (newline < 0) {
      const rest = chunk.length - pos;
      if (rest === 0) break;
      if (skipping) {
        pos = chunk.length;
      } else if (rest > options.maxEventBytes + 1) {
        skipped.push({ offset: options.offset + pos, reason: 'event_too_large', message: `line longer than limits.max_event_size_bytes (${options.maxEventBytes})` });
        skipping = true;
        pos = chunk.length;
      } else if (options.final) {
        take(pos, chunk.length);
        pos = chunk.length;
      }
      break;
    }
    if (skipping) skipping = false;
    else take(pos, newline);
    pos = newline + 1;
  }
  return { events, consumed: pos, skipped, skipping };
}
