import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Reader } from '../../config/reader.js';
import type { TableSpec } from '../../config/schema.js';
import { zeekLogs, type ZeekLog } from './logs.js';

/**
 * [inputs.zeek]: Zeek JSON logs tailed from files. Lines posted over HTTP
 * (/api/v1/zeek/<log>) need no switch: they are authenticated like the ingest API.
 */
export interface ZeekConfig extends Record<ZeekLog, string[]> {
  enabled: boolean;
  /** conn, dns, ssl, http: paths or globs of each log, absolute after loading. */
  /** Where read positions survive restarts; written atomically after each delivered batch. */
  position_file: string;
  poll_interval_ms: number;
  /** Where to begin in files found when there is no position file yet. */
  start_at: 'beginning' | 'end';
  /** observer.name of the events; "" in the file means this host's name. */
  sensor: string;
}

export const zeekSpec: TableSpec = {
  enabled: 'boolean',
  conn: 'string-array',
  dns: 'string-array',
  ssl: 'string-array',
  http: 'string-array',
  position_file: 'string',
  poll_interval_ms: 'integer',
  start_at: 'string',
  sensor: 'string',
};

export function decodeZeekConfig(read: Reader, key = 'inputs.zeek'): ZeekConfig {
  const enabled = read.bool(`${key}.enabled`, false);
  const files = Object.fromEntries(zeekLogs.map((log) => [log, paths(read, `${key}.${log}`)])) as Record<ZeekLog, string[]>;
  const positionFile = read.path(`${key}.position_file`);
  if (enabled) {
    if (zeekLogs.every((log) => files[log].length === 0)) {
      read.errors.push(`${key}: enabled, but no log files are configured; set ${zeekLogs.map((log) => `${key}.${log}`).join(', ')} (e.g. conn = ["/opt/zeek/logs/current/conn.log"])`);
    }
    if (positionFile === '') read.errors.push(`${key}.position_file: required when ${key}.enabled is true (e.g. "/var/lib/loom/zeek-positions.json")`);
  }
  return {
    enabled,
    ...files,
    position_file: positionFile,
    poll_interval_ms: read.int(`${key}.poll_interval_ms`, { fallback: 1000, zero: 'error', negative: 'error', max: 60_000 }),
    start_at: read.choice(`${key}.start_at`, ['beginning', 'end'] as const, 'beginning'),
    sensor: read.string(`${key}.sensor`, hostname()),
  };
}

function paths(read: Reader, key: string): string[] {
  const list = read.values.stringArray(key) ?? [];
  const out: string[] = [];
  for (const [i, item] of list.entries()) {
    if (item.trim() === '') read.errors.push(`${key}[${i}]: empty path`);
    else if (item.endsWith('.gz')) read.errors.push(`${key}[${i}]: ${JSON.stringify(item)} is compressed; Loom tails the plain-text log Zeek is writing`);
    else out.push(resolve(item));
  }
  return out;
}
