import { isAscii } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import type { ApiErrorCode } from '../../errors.js';
import { writeRendered, type JsonSplices, type RenderedJson } from '../../json/splices.js';

/** Body shapes the ingest API accepts, chosen by Content-Type. */
export type BodyFormat = 'json' | 'ndjson';

export interface DecodeLimits {
  max_body_size_bytes: number;
  max_events_per_batch: number;
  max_event_size_bytes: number;
}

export type DecodeResult =
  | { ok: true; count: number; ndjson: Uint8Array }
  | { ok: false; code: ApiErrorCode; message: string };

export type Event = Record<string, unknown>;

export type ParseResult =
  | { ok: true; events: Event[] }
  | { ok: false; code: ApiErrorCode; message: string };

/**
 * Turns a request body into NDJSON: one compact JSON object per line, in the order received,
 * each object's keys in their original order. Accepts a JSON array of objects, the wrapped
 * {"records":[...]} form, or NDJSON; gzip is detected by its magic bytes whatever the headers
 * say. Never throws: every problem becomes an error code and a message naming the event.
 */
export function decodeBatch(body: Uint8Array, format: BodyFormat, limits: DecodeLimits, gzipDeclared = false): DecodeResult {
  const parsed = parseBatch(body, format, limits, gzipDeclared);
  return parsed.ok ? serialiseBatch(parsed.events) : parsed;
}

/**
 * The first half of decodeBatch: the events as objects, checked (every element an object,
 * batch and event sizes within limits) so that transforms can work on them before
 * serialiseBatch. Event sizes are those of the events as received, so fields that enrichment
 * adds never push an event over the limit.
 */
export function parseBatch(body: Uint8Array, format: BodyFormat, limits: DecodeLimits, gzipDeclared = false): ParseResult {
  try {
    return parse(body, format, limits, gzipDeclared);
  } catch (error) {
    return { ok: false, code: 'invalid_request', message: `body could not be decoded: ${describe(error)}` };
  }
}

function parse(body: Uint8Array, format: BodyFormat, limits: DecodeLimits, gzipDeclared: boolean): ParseResult {
  let bytes = body;
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipDeclared && !gzipped && bytes.length > 0) {
    return invalid('Content-Encoding is gzip but the body does not start with a gzip header');
  }
  if (gzipped) {
    const inflated = gunzip(bytes, limits.max_body_size_bytes);
    if (!inflated.ok) return inflated;
    bytes = inflated.bytes;
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Sensor output is almost always ASCII; decoding it as latin1 is exact for ASCII, about ten
  // times faster than UTF-8 decoding, and yields one-byte strings that V8 parses faster.
  let text = isAscii(buffer) ? buffer.toString('latin1') : buffer.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const events = format === 'ndjson' ? parseNdjson(text, limits) : parseJson(text, limits);
  if (!Array.isArray(events)) return events;
  return check(events, limits, bytes.length);
}

function gunzip(bytes: Uint8Array, limit: number): { ok: true; bytes: Uint8Array } | { ok: false; code: ApiErrorCode; message: string } {
  try {
    // maxOutputLength stops inflation at the limit, so a small bomb never expands in memory.
    return { ok: true, bytes: gunzipSync(bytes, { maxOutputLength: limit }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return { ok: false, code: 'payload_too_large', message: `decompressed body exceeds limits.max_body_size_bytes (${limit} bytes)` };
    }
    return { ok: false, code: 'invalid_request', message: `gzip body is corrupt: ${describe(error)}` };
  }
}

type Failure = { ok: false; code: ApiErrorCode; message: string };


function parseJson(text: string, limits: DecodeLimits): unknown[] | Failure {
  const start = firstNonSpace(text);
  const first = text[start];
  if (first !== '[' && first !== '{') {
    return invalid(start === text.length ? 'body is empty; expected a JSON array of events' : 'body must be a JSON array of events or {"records":[...]}');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Some shippers send NDJSON labelled application/json; accept it rather than lose the batch.
    if (first === '{' && text.indexOf('\n', start) > 0) {
      const lines = parseNdjson(text, limits);
      if (Array.isArray(lines)) return lines;
    }
    return invalid(`body is not valid JSON: ${describe(error)}`);
  }
  if (Array.isArray(parsed)) return checkCount(parsed, limits);
  const records = (parsed as { records?: unknown }).records;
  if (parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'records') && Array.isArray(records)) {
    return checkCount(records, limits);
  }
  return invalid('body must be a JSON array of events or {"records":[...]}');
}

function parseNdjson(text: string, limits: DecodeLimits): unknown[] | Failure {
  const events: unknown[] = [];
  let lineNumber = 0;
  let from = 0;
  while (from <= text.length) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    lineNumber++;
    const line = text.slice(from, to).trim();
    from = to + 1;
    if (line === '') continue;
    if (events.length === limits.max_events_per_batch) return tooMany(`more than ${limits.max_events_per_batch}`, limits);
    try {
      events.push(JSON.parse(line));
    } catch (error) {
      return invalid(`line ${lineNumber} is not valid JSON: ${describe(error)}`);
    }
  }
  return events;
}

function checkCount(events: unknown[], limits: DecodeLimits): unknown[] | Failure {
  return events.length > limits.max_events_per_batch ? tooMany(String(events.length), limits) : events;
}

function check(events: unknown[], limits: DecodeLimits, bodyBytes: number): ParseResult {
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      return invalid(`event ${i} is ${kindOf(event)}; every event must be a JSON object`);
    }
  }
  // An event's compact form is no longer than its text in the body (give or take a few
  // bytes of number formatting), so a body within the event limit needs no per-event count.
  if (bodyBytes > limits.max_event_size_bytes) {
    for (let i = 0; i < events.length; i++) {
      let size: number;
      try {
        size = Buffer.byteLength(JSON.stringify(events[i]));
      } catch (error) {
        return invalid(`event ${i} cannot be serialised: ${describe(error)}`);
      }
      if (size > limits.max_event_size_bytes) {
        return { ok: false, code: 'event_too_large', message: `event ${i} is ${size} bytes; limits.max_event_size_bytes is ${limits.max_event_size_bytes}` };
      }
    }
  }
  return { ok: true, events: events as Event[] };
}

/**
 * One compact JSON object per line, into one exactly sized buffer with its own memory.
 * `splices`: cached JSON text that enrichment left placeholders for in these events.
 */
export function serialiseBatch(events: readonly Event[], splices?: JsonSplices): DecodeResult {
  if (splices !== undefined && splices.size > 0) return serialiseSpliced(events, splices);
  const lines = new Array<string>(events.length);
  const sizes = new Array<number>(events.length);
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    let line: string;
    try {
      line = JSON.stringify(events[i]);
    } catch (error) {
      return invalid(`event ${i} cannot be serialised: ${describe(error)}`);
    }
    const size = Buffer.byteLength(line);
    lines[i] = line;
    sizes[i] = size;
    total += size + 1;
  }
  // No joined intermediate string, and the buffer can be moved to the main thread without copying.
  const ndjson = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    offset += ndjson.write(lines[i] as string, offset, sizes[i] as number, 'utf8');
    ndjson[offset++] = 0x0a;
  }
  return { ok: true, count: lines.length, ndjson };
}

/** serialiseBatch for events with placeholders: the cached text is copied in where they are. */
function serialiseSpliced(events: readonly Event[], splices: JsonSplices): DecodeResult {
  const lines = new Array<RenderedJson>(events.length);
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    let line: RenderedJson;
    try {
      line = splices.render(events[i] as Event, i);
    } catch (error) {
      return invalid(`event ${i} cannot be serialised: ${describe(error)}`);
    }
    lines[i] = line;
    total += line.byteLength + 1;
  }
  const ndjson = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    offset = writeRendered(lines[i] as RenderedJson, ndjson, offset);
    ndjson[offset++] = 0x0a;
  }
  return { ok: true, count: lines.length, ndjson };
}

function tooMany(count: string, limits: DecodeLimits): Failure {
  return { ok: false, code: 'batch_too_large', message: `batch has ${count} events; limits.max_events_per_batch is ${limits.max_events_per_batch}` };
}

function invalid(message: string): Failure {
  return { ok: false, code: 'invalid_request', message };
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function describe(error: unknown): string {
  if (error instanceof RangeError) return 'nested too deeply';
  return error instanceof Error ? error.message : String(error);
}
