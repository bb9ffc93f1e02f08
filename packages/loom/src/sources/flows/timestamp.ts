/**
 * Timestamps of flow records and Zeek logs, turned into ECS `@timestamp` strings (RFC 3339,
 * UTC). Sub-millisecond digits are kept: Zeek logs microseconds, and events of one
 * connection often fall within the same millisecond.
 */

/** 10000-01-01T00:00:00Z: later values are not RFC 3339 dates. */
const maxSeconds = 253_402_300_800;

export type TimestampResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Seconds since the epoch (fractions allowed), or an RFC 3339 string. `millisAbove`: numbers
 * above it are milliseconds (Zeek's JSON::TS_MILLIS); seconds that large would be past 5000 AD.
 */
export function parseTimestamp(value: unknown, millisAbove?: number): TimestampResult {
  if (typeof value === 'number') {
    const seconds = millisAbove !== undefined && value > millisAbove ? value / 1000 : value;
    return fromSeconds(seconds, value);
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return parseTimestamp(Number(trimmed), millisAbove);
    return fromRfc3339(trimmed);
  }
  return { ok: false, reason: `is ${describeType(value)}; expected seconds since the epoch or an RFC 3339 date` };
}

function fromSeconds(seconds: number, original: number): TimestampResult {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= maxSeconds) {
    return { ok: false, reason: `${original} is not a time in seconds since 1970 before the year 10000` };
  }
  let whole = Math.floor(seconds);
  let micros = Math.round((seconds - whole) * 1e6);
  if (micros === 1_000_000) {
    whole++;
    micros = 0;
  }
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  const fraction = micros % 1000 === 0 ? String(micros / 1000).padStart(3, '0') : String(micros).padStart(6, '0');
  return { ok: true, value: `${base}.${fraction}Z` };
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function fromRfc3339(text: string): TimestampResult {
  const m = rfc3339.exec(text);
  const bad: TimestampResult = { ok: false, reason: `${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not an RFC 3339 date (e.g. 2024-08-10T12:00:00Z) or seconds since the epoch` };
  if (m === null) return bad;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return bad;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return bad;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // A leap second is stored as the last second of its minute, as most systems do.
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) - offsetMinutes * 60_000;
  if (!Number.isFinite(ms) || ms < 0 || ms >= maxSeconds * 1000) return bad;
  const digits = fraction.length <= 3 ? fraction.padEnd(3, '0') : fraction.length <= 6 ? fraction.padEnd(6, '0') : fraction.padEnd(9, '0');
  return { ok: true, value: `${new Date(ms).toISOString().slice(0, 19)}.${digits}Z` };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
