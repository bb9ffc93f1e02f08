import { isIPv4, isIPv6 } from 'node:net';

/**
 * The JSON Schema "format" values a message schema may use. Ajv ships none of its own, and
 * an unknown format is a startup error rather than a check that silently never runs. Every
 * pattern here is linear (no nested quantifiers), so a hostile message cannot make
 * validation slow.
 */
export const messageFormats: Readonly<Record<string, (value: string) => boolean>> = {
  'date-time': isDateTime,
  date: isDate,
  time: isTime,
  ipv4: isIPv4,
  ipv6: isIPv6,
  uuid: (value) => /^(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  email: (value) => value.length <= 254 && /^[^\s@"(),:;<>[\\\]]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i.test(value),
  hostname: isHostname,
  uri: isUri,
  regex: isRegex,
};

const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;
const timeRe = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:z|([+-])(\d{2}):(\d{2}))$/i;
const dateTimeRe = /^(\d{4})-(\d{2})-(\d{2})t(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:z|([+-])(\d{2}):(\d{2}))$/i;
// One pattern for the whole name: labels of 1 to 63 letters, digits and inner hyphens.
const hostnameRe = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

// These run for every message whose schema uses them, so they avoid allocations beyond the match.
function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  if (month === 2) return day <= (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28);
  return day <= (month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
}

/** Second 60 is allowed for leap seconds. */
function validTime(hour: number, minute: number, second: number, offsetHour: string | undefined, offsetMinute: string | undefined): boolean {
  if (hour > 23 || minute > 59 || second > 60) return false;
  return offsetHour === undefined || (Number(offsetHour) <= 23 && Number(offsetMinute) <= 59);
}

function isDate(value: string): boolean {
  const m = dateRe.exec(value);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** RFC 3339 full-time: a zone is required. */
function isTime(value: string): boolean {
  const m = timeRe.exec(value);
  return m !== null && validTime(Number(m[1]), Number(m[2]), Number(m[3]), m[5], m[6]);
}

/** RFC 3339 date-time; "T" and "Z" in either case, as the RFC allows. */
function isDateTime(value: string): boolean {
  const m = dateTimeRe.exec(value);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3])) && validTime(Number(m[4]), Number(m[5]), Number(m[6]), m[8], m[9]);
}

function isHostname(value: string): boolean {
  return value.length <= 254 && (value.length <= 253 || value.endsWith('.')) && hostnameRe.test(value);
}

function isUri(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value) && URL.canParse(value);
}

function isRegex(value: string): boolean {
  try {
    new RegExp(value, 'u');
    return true;
  } catch {
    return false;
  }
}
