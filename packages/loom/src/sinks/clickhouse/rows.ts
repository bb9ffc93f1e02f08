import { isIP } from 'node:net';
import { isPlainObject, type EcsEvent, type JsonValue } from '@loom/ecs';

/**
 * Turns events (compact JSON strings) into JSONEachRow lines, one per event, without the
 * trailing newline. Two shapes: the Go original's single `event` column, and typed columns
 * computed here so that the table needs no JSON functions at query time.
 */

export type ClickHouseMode = 'event_string' | 'typed';

/**
 * A lone UTF-16 surrogate cannot be written as UTF-8: ClickHouse refuses the `\ud800` escape
 * JSON.stringify would give it ("missing second part of surrogate pair"), which would cost the
 * whole event. U+FFFD is what any UTF-8 encoder would have made of it anyway.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

function wellFormed(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, '\ufffd') : text;
}

/** `{"event":"<the event JSON as one string>"}`: JSON.stringify of the string is exactly the escape. */
export function eventStringRow(event: string): string {
  return `{"event":${JSON.stringify(wellFormed(event))}}`;
}

/**
 * The typed columns, in order, with the ECS fields each is read from (the first with a
 * usable value wins). Every column but `timestamp` and `event` is left out of a row when
 * the event has no usable value, so the table's default ('' or 0) applies.
 */
export const TYPED_COLUMNS = {
  sensor: ['observer.name', 'observer.id', 'observer.hostname', 'agent.id', 'agent.name', 'host.name'],
  event_id: ['event.id'],
  event_dataset: ['event.dataset'],
  event_kind: ['event.kind'],
  event_action: ['event.action'],
  source_ip: ['source.ip'],
  source_port: ['source.port'],
  destination_ip: ['destination.ip'],
  destination_port: ['destination.port'],
  transport: ['network.transport'],
  protocol: ['network.protocol'],
  source_country: ['source.geo.country_iso_code'],
  source_asn: ['source.as.number'],
  source_as_org: ['source.as.organization.name'],
  // Spip writes both spellings of JA4; the Go sensor only tls.client.hash.ja4.
  ja4: ['tls.client.ja4', 'tls.client.hash.ja4'],
  ja3: ['tls.client.ja3', 'tls.client.hash.ja3'],
  hassh: ['ssh.client.hash.hassh'],
  ja4h: ['http.request.hash.ja4h'],
  risk_score: ['event.risk_score'],
} as const satisfies Record<string, readonly string[]>;

type TypedColumn = keyof typeof TYPED_COLUMNS;

/**
 * A dotted path, split once. Reading it gives what @loom/ecs getPath gives (a literal
 * dotted key such as "source.ip" at any level counts too) without building strings per
 * lookup: typed mode makes some 30 lookups per event, on the event loop.
 */
interface FieldPath {
  segments: string[];
  /** suffixes[i] = segments i… joined with dots: the literal key to try at depth i. */
  suffixes: string[];
}

function fieldPath(path: string): FieldPath {
  const segments = path.split('.');
  return { segments, suffixes: segments.map((_, i) => segments.slice(i).join('.')) };
}

function readPath(doc: EcsEvent, path: FieldPath, depth = 0): JsonValue | undefined {
  const rest = path.suffixes[depth] ?? '';
  if (Object.hasOwn(doc, rest)) return doc[rest];
  const head = path.segments[depth] ?? '';
  if (depth === path.segments.length - 1 || !Object.hasOwn(doc, head)) return undefined;
  const child = doc[head];
  return isPlainObject(child) ? readPath(child, path, depth + 1) : undefined;
}

const COLUMN_PATHS = (Object.keys(TYPED_COLUMNS) as TypedColumn[]).map((column) => ({
  column,
  paths: TYPED_COLUMNS[column].map(fieldPath),
}));
const TIMESTAMP = fieldPath('@timestamp');
const INGESTED = fieldPath('event.ingested');

const IP_COLUMNS: ReadonlySet<TypedColumn> = new Set(['source_ip', 'destination_ip']);
const PORT_COLUMNS: ReadonlySet<TypedColumn> = new Set(['source_port', 'destination_port']);

/**
 * The earliest and latest instants both schemas can hold: DateTime is unsigned 32-bit
 * seconds (1970 to 2106); DateTime64 reaches further, but a date outside this range in a
 * honeypot event is a broken clock or a forged field, not an event time.
 */
const EARLIEST_MS = 0;
const LATEST_MS = Date.UTC(2106, 0, 1);
/** RFC 3339 and the ISO 8601 forms ECS producers write; a zoneless time is taken as UTC. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Milliseconds since the epoch for an ECS `@timestamp`, or undefined when it is missing,
 * unparseable or out of range. Accepts RFC 3339 / ISO 8601 text (with or without fraction
 * and zone) and, as Elasticsearch does, a number of epoch milliseconds.
 */
export function parseEventTime(value: JsonValue | undefined): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = Number.isFinite(value) ? Math.trunc(value) : undefined;
  } else if (typeof value === 'string') {
    ms = parseIsoTime(value.trim());
  }
  if (ms === undefined || ms < EARLIEST_MS || ms >= LATEST_MS) return undefined;
  return ms;
}

function parseIsoTime(text: string): number | undefined {
  const match = ISO_TIME.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match;
  const fields = [Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)] as const;
  const [y, mo, d, h, mi, s] = fields;
  // Date.UTC reads years 0 to 99 as 1900 to 1999; anything before 1970 is out of range anyway.
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  let utc = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms);
  // Date.UTC rolls 31 February over into March; a real date survives the round trip.
  if (new Date(utc).getUTCDate() !== d) return undefined;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    if (offsetMinutes > 18 * 60) return undefined;
    utc -= sign * offsetMinutes * 60_000;
  }
  return utc;
}

/**
 * One typed JSONEachRow line. `timestamp` is the event's own time, or `fallbackMs` (when
 * Loom received or is sending the event) if it has none that can be trusted: the row is
 * never dropped for its time. It is sent as ISO 8601 UTC text, which
 * date_time_input_format=best_effort reads into DateTime and DateTime64 alike.
 */
export function typedRow(event: string, fallbackMs: number): string {
  const raw = wellFormed(event);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const doc: EcsEvent = isPlainObject(parsed) ? parsed : {};
  const ms = parseEventTime(readPath(doc, TIMESTAMP)) ?? parseEventTime(readPath(doc, INGESTED)) ?? fallbackMs;
  const row: Record<string, string | number> = { timestamp: new Date(ms).toISOString() };
  for (const { column, paths } of COLUMN_PATHS) {
    for (const path of paths) {
      const value = convert(column, readPath(doc, path));
      if (value === undefined) continue;
      row[column] = value;
      break;
    }
  }
  row.event = raw;
  return JSON.stringify(row);
}

/** Only values the column's type surely accepts, so that one odd field never costs the row. */
function convert(column: TypedColumn, value: JsonValue | undefined): string | number | undefined {
  if (value === undefined || value === null) return undefined;
  if (PORT_COLUMNS.has(column)) return integerIn(value, 0, 65_535);
  if (column === 'source_asn') return integerIn(value, 0, 4_294_967_295);
  if (column === 'risk_score') {
    const score = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isFinite(score) ? score : undefined;
  }
  if (IP_COLUMNS.has(column)) return typeof value === 'string' ? address(value) : undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function integerIn(value: JsonValue, min: number, max: number): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/**
 * A valid address in a stable spelling: IPv4 dotted, IPv6 lower-case, and an IPv4-mapped
 * IPv6 address (how dual-stack sockets report IPv4 peers) as the IPv4 address it names.
 */
function address(text: string): string | undefined {
  const trimmed = text.trim();
  const version = isIP(trimmed);
  if (version === 4) return trimmed;
  if (version !== 6) return undefined;
  const lower = trimmed.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped?.[1] ?? lower;
}

/** The lines for a batch, in event order. */
export function encodeRows(events: readonly string[], mode: ClickHouseMode, fallbackMs: number): string[] {
  return mode === 'event_string' ? events.map(eventStringRow) : events.map((event) => typedRow(event, fallbackMs));
}
