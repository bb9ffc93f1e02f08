import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { BodyFormat } from '../http-ingest/decode.js';
import { InputRefusal } from './refusal.js';
import { describeType } from './timestamp.js';

const inflate = promisify(gunzip);

export interface BodyLimits {
  max_body_size_bytes: number;
  max_events_per_batch: number;
}

/** The records of a request body, and the fields around them in the {"records":[...]} form. */
export interface RecordsBody {
  records: unknown[];
  envelope: Record<string, unknown> | undefined;
}

/**
 * Reads a body of records: a JSON array, the wrapped {"records":[...]} form, a single JSON
 * object, or NDJSON (one object per line, also when labelled application/json). gzip is
 * recognised by Content-Encoding or by its magic bytes; inflation stops at
 * limits.max_body_size_bytes and runs on the thread pool, not the event loop.
 */
export async function readRecords(body: Uint8Array, format: BodyFormat, gzipDeclared: boolean, limits: BodyLimits): Promise<RecordsBody> {
  const text = await bodyText(body, gzipDeclared, limits.max_body_size_bytes);
  const start = text.search(/\S/);
  if (start < 0) return { records: [], envelope: undefined };
  const records = text[start] === '[' || format === 'json' ? parseDocument(text, start, limits) : parseLines(text, limits);
  if (records.records.length > limits.max_events_per_batch) {
    throw new InputRefusal('batch_too_large', 'batch_too_large', `batch has ${records.records.length} records; limits.max_events_per_batch is ${limits.max_events_per_batch}`);
  }
  return records;
}

async function bodyText(body: Uint8Array, gzipDeclared: boolean, limit: number): Promise<string> {
  let bytes = body;
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipDeclared && !gzipped && bytes.length > 0) {
    throw new InputRefusal('invalid_request', 'invalid_request', 'Content-Encoding is gzip but the body does not start with a gzip header');
  }
  if (gzipped) {
    try {
      bytes = await inflate(bytes, { maxOutputLength: limit });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new InputRefusal('payload_too_large', 'payload_too_large', `decompressed body exceeds limits.max_body_size_bytes (${limit} bytes)`);
      }
      throw new InputRefusal('invalid_request', 'invalid_request', `gzip body is corrupt: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseDocument(text: string, start: number, limits: BodyLimits): RecordsBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // NDJSON labelled application/json (common with log shippers) is read line by line.
    if (text[start] === '{' && text.indexOf('\n', start) > 0) return parseLines(text, limits);
    throw notJson(`body is not valid JSON: ${describe(error)}`);
  }
  if (Array.isArray(parsed)) return { records: parsed, envelope: undefined };
  if (parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'records')) {
    const { records, ...envelope } = parsed as Record<string, unknown>;
    if (!Array.isArray(records)) throw new InputRefusal('invalid_request', 'invalid_request', `"records" is ${describeType(records)}; expected an array of records`);
    return { records, envelope };
  }
  if (parsed !== null && typeof parsed === 'object') return { records: [parsed], envelope: undefined };
  throw new InputRefusal('invalid_request', 'invalid_request', `body is ${describeType(parsed)}; expected a JSON array of records, {"records":[...]} or NDJSON`);
}

function parseLines(text: string, limits: BodyLimits): RecordsBody {
  const records: unknown[] = [];
  let line = 0;
  let from = 0;
  while (from < text.length) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    line++;
    const content = text.slice(from, to).trim();
    from = to + 1;
    if (content === '') continue;
    // Stop early: parsing the rest of an oversized batch would only cost time.
    if (records.length === limits.max_events_per_batch) {
      throw new InputRefusal('batch_too_large', 'batch_too_large', `batch has more than ${limits.max_events_per_batch} records; limits.max_events_per_batch is ${limits.max_events_per_batch}`);
    }
    try {
      records.push(JSON.parse(content));
    } catch (error) {
      throw notJson(`line ${line} is not valid JSON: ${describe(error)}`);
    }
  }
  return { records, envelope: undefined };
}

function notJson(message: string): InputRefusal {
  return new InputRefusal('invalid_request', 'invalid_json', message);
}

function describe(error: unknown): string {
  if (error instanceof RangeError) return 'nested too deeply';
  return error instanceof Error ? error.message : String(error);
}
