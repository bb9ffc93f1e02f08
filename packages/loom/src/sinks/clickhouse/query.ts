import type { ClickHouseMode } from './rows.js';

/**
 * The URL of one insert: the statement and its settings travel in the query string (the
 * body is the data), which is also how ClickHouse 18.16 takes them. No server-side query
 * parameters: 18.16 has none, so the only values written into SQL are identifiers, quoted here.
 */

export type DedupTokenMode = 'auto' | 'on' | 'off';

/** insert_deduplication_token appeared in ClickHouse 22.2 (pull request 32304); older servers reject it as an unknown setting. */
export const DEDUP_TOKEN_SINCE: readonly [major: number, minor: number] = [22, 2];

/** A backtick-quoted identifier: the database and table names come from the config, never from events, but are quoted all the same. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/**
 * event_string names its one column, as the Go original did. typed names none, so that with
 * input_format_skip_unknown_fields a table with fewer (or more, defaulted) columns still works.
 */
export function insertStatement(database: string, table: string, mode: ClickHouseMode): string {
  const target = `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
  return mode === 'event_string' ? `INSERT INTO ${target} (event) FORMAT JSONEachRow` : `INSERT INTO ${target} FORMAT JSONEachRow`;
}

/**
 * The one-column insert as TabSeparated: the body is the events' NDJSON with backslashes
 * doubled (compact JSON has no raw tab or newline, the only other bytes TSV escapes), so a
 * batch needs no per-event encoding at all. Every ClickHouse version reads it.
 */
export function eventStringTsvPath(database: string, table: string, dedupToken?: string): string {
  const settings: [string, string][] = [['query', `INSERT INTO ${quoteIdentifier(database)}.${quoteIdentifier(table)} (event) FORMAT TabSeparated`]];
  if (dedupToken !== undefined) settings.push(['insert_deduplication_token', dedupToken]);
  return `/?${settings.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`;
}

/** NDJSON as a one-column TabSeparated body: every backslash doubled; the buffer itself when it has none. */
export function tsvFromNdjson(ndjson: Uint8Array): Uint8Array {
  const input = Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength);
  let at = input.indexOf(0x5c);
  if (at < 0) return ndjson;
  let count = 0;
  for (let i = at; i >= 0; i = input.indexOf(0x5c, i + 1)) count++;
  const out = Buffer.allocUnsafe(input.length + count);
  let from = 0;
  let to = 0;
  while (at >= 0) {
    to += input.copy(out, to, from, at + 1);
    out[to++] = 0x5c;
    from = at + 1;
    at = input.indexOf(0x5c, from);
  }
  input.copy(out, to, from);
  return out;
}

export interface InsertTarget {
  database: string;
  table: string;
  mode: ClickHouseMode;
}

/** Path and query string for one insert; `dedupToken` only when the server is known to accept it. */
export function insertPath(target: InsertTarget, dedupToken?: string): string {
  const settings: [string, string][] = [
    ['query', insertStatement(target.database, target.table, target.mode)],
    // RFC 3339 "…T…Z" times are refused by the default parser (basic) even into DateTime64.
    ['date_time_input_format', 'best_effort'],
  ];
  if (target.mode === 'typed') settings.push(['input_format_skip_unknown_fields', '1']);
  if (dedupToken !== undefined) settings.push(['insert_deduplication_token', dedupToken]);
  return `/?${settings.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`;
}

/** `/?query=…` for a read-only statement (version, probe). */
export function selectPath(statement: string): string {
  return `/?query=${encodeURIComponent(statement)}`;
}

/** Major and minor of a `SELECT version()` answer ("18.16.1", "24.8.4.13"), or undefined. */
export function parseVersion(text: string): [number, number] | undefined {
  const match = /^\s*(\d+)\.(\d+)/.exec(text);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

export function supportsDedupToken(version: string): boolean {
  const parsed = parseVersion(version);
  if (parsed === undefined) return false;
  const [major, minor] = parsed;
  const [sinceMajor, sinceMinor] = DEDUP_TOKEN_SINCE;
  return major > sinceMajor || (major === sinceMajor && minor >= sinceMinor);
}

/**
 * The token for rows [start, end) of a batch: the batch id for the whole batch, and for a
 * part (while isolating a bad row) the id with the range, so that each part deduplicates on
 * its own and a retried part finds its earlier twin.
 */
export function dedupTokenFor(batchId: string, start: number, end: number, size: number): string {
  return start === 0 && end === size ? batchId : `${batchId}:${start}-${end}`;
}
