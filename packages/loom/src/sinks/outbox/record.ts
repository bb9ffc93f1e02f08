import type { Batch } from '../types.js';

/**
 * One outbox record is one accepted batch: a header line of JSON, then the batch's NDJSON
 * exactly as the pipeline produced it.
 *
 *   {"v":1,"id":"<batch id>","received_at":<ms>,"sensor":"<id>","source":"<input>","count":<n>}\n
 *   <event>\n<event>\n…
 *
 * Keeping the header apart means that draining reads the count and age without parsing
 * any event, and `loom outbox status` can show where a backlog came from.
 */
export interface OutboxRecordHeader {
  v: 1;
  id: string;
  received_at: number;
  sensor: string;
  source: string;
  count: number;
}

export interface OutboxRecord {
  header: OutboxRecordHeader;
  /** The events, compact JSON, without newlines. */
  events: string[];
}

export function encodeRecord(batch: Batch): Buffer {
  const header: OutboxRecordHeader = { v: 1, id: batch.id, received_at: batch.receivedAt, sensor: batch.sensorId, source: batch.source, count: batch.count };
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  return Buffer.concat([head, batch.ndjson], head.length + batch.ndjson.length);
}

/** The header alone; undefined when the record is not an outbox record (a damaged or foreign file). */
export function readHeader(record: Buffer): OutboxRecordHeader | undefined {
  const end = record.indexOf(0x0a);
  if (end < 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.toString('utf8', 0, end));
  } catch {
    return undefined;
  }
  const header = parsed as Partial<OutboxRecordHeader> | null;
  if (header === null || typeof header !== 'object' || header.v !== 1 || typeof header.id !== 'string' || typeof header.count !== 'number') return undefined;
  return {
    v: 1,
    id: header.id,
    received_at: typeof header.received_at === 'number' ? header.received_at : 0,
    sensor: typeof header.sensor === 'string' ? header.sensor : '',
    source: typeof header.source === 'string' ? header.source : '',
    count: header.count,
  };
}

/** How many events a record holds, for batching by event count (1 for an unreadable header). */
export function eventCount(record: Buffer): number {
  return Math.max(1, readHeader(record)?.count ?? 1);
}

export function decodeRecord(record: Buffer): OutboxRecord | undefined {
  const header = readHeader(record);
  if (header === undefined) return undefined;
  const body = record.toString('utf8', record.indexOf(0x0a) + 1);
  const events: string[] = [];
  let from = 0;
  while (from < body.length) {
    let to = body.indexOf('\n', from);
    if (to < 0) to = body.length;
    if (to > from) events.push(body.slice(from, to));
    from = to + 1;
  }
  return { header, events };
}
