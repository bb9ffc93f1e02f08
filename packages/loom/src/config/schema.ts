import { closest } from './suggest.js';

/** What a key holds in TOML. `token-table` is [auth.tokens]: free-form keys (tokens) with sensor ids as values. */
export type Kind = 'string' | 'boolean' | 'integer' | 'string-array' | 'token-table';

export interface TableSpec {
  readonly [key: string]: Kind | TableSpec;
}

/** Every key Loom reads. Keys the earlier Go version read keep their names and meaning. */
export const schema: TableSpec = {
  server: {
    listen_address: 'string',
    tls: 'boolean',
    cert_file: 'string',
    key_file: 'string',
    management_listen_address: 'string',
    workers: 'integer',
    header_timeout_seconds: 'integer',
    request_timeout_seconds: 'integer',
    idle_timeout_seconds: 'integer',
    max_connections: 'integer',
    shutdown_timeout_seconds: 'integer',
  },
  auth: {
    token_file: 'string',
    tokens: 'token-table',
  },
  limits: {
    max_body_size_bytes: 'integer',
    max_events_per_batch: 'integer',
    max_event_size_bytes: 'integer',
    per_sensor_rps: 'integer',
    per_sensor_burst: 'integer',
    per_sensor_events_rps: 'integer',
    max_pending_batches: 'integer',
  },
  enrichment: {
    geoip_db_path: 'string',
    asn_db_path: 'string',
    dns: {
      enabled: 'boolean',
      resolver_addr: 'string',
      cache_ttl_seconds: 'integer',
      max_qps: 'integer',
    },
  },
  output: {
    type: 'string',
    file_path: 'string',
    file_max_size_bytes: 'integer',
    file_max_files: 'integer',
    file_fsync: 'boolean',
    elasticsearch_url: 'string',
    elasticsearch_index: 'string',
    elasticsearch_user: 'string',
    elasticsearch_pass: 'string',
    clickhouse_url: 'string',
    clickhouse_database: 'string',
    clickhouse_table: 'string',
    clickhouse_user: 'string',
    clickhouse_password: 'string',
    kafka_brokers: 'string-array',
    kafka_topic: 'string',
    outbox: {
      enabled: 'boolean',
      dir: 'string',
      max_bytes: 'integer',
      flush_interval_ms: 'integer',
      max_batch_size: 'integer',
      retry_backoff_ms: 'integer',
      retry_max_backoff_ms: 'integer',
    },
  },
  logging: {
    level: 'string',
    format: 'string',
  },
  observability: {
    metrics_enabled: 'boolean',
  },
};

/** Values of these keys are credentials: messages may name the key but never show the value. */
const secretKeys = new Set([
  'auth.tokens',
  'output.elasticsearch_user',
  'output.elasticsearch_pass',
  'output.clickhouse_user',
  'output.clickhouse_password',
]);

export type TomlTable = Record<string, unknown>;

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** How a value reads in an error message: its TOML type, and the value itself when that helps. */
export function describeValue(value: unknown, showValue = true): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return showValue ? `string ${JSON.stringify(shown)}` : 'string';
  }
  if (typeof value === 'bigint') return showValue ? `integer ${value}` : 'integer';
  if (typeof value === 'number') return showValue ? `float ${value}` : 'float';
  if (typeof value === 'boolean') return showValue ? `boolean ${value}` : 'boolean';
  if (value instanceof Date) return 'datetime';
  if (Array.isArray(value)) return 'array';
  return 'table';
}

/**
 * Typed, error-collecting access to a parsed TOML document (parsed with integers as
 * BigInt, so 5 and 5.0 stay distinguishable). A value of the wrong type is reported
 * once, naming its dotted key, and then reads as absent so the default applies and
 * later checks do not pile up follow-on errors.
 */
export class TomlValues {
  readonly errors: string[] = [];
  private readonly reportedContainers = new Set<string>();

  constructor(private readonly root: TomlTable) {}

  /** True when the key is written in the file (whatever its type). */
  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  string(key: string): string | undefined {
    const value = this.lookup(key);
    if (value === undefined || typeof value === 'string') return value;
    return this.wrongType(key, 'a string', value);
  }

  boolean(key: string): boolean | undefined {
    const value = this.lookup(key);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.wrongType(key, 'a boolean (true or false)', value);
  }

  integer(key: string): number | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (typeof value === 'bigint') {
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        this.errors.push(`${key}: ${value} is too large`);
        return undefined;
      }
      return Number(value);
    }
    // 2e6 is a TOML float but an exact whole number; accepting it costs nothing.
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    return this.wrongType(key, 'an integer', value);
  }

  stringArray(key: string): string[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
    return this.wrongType(key, 'an array of strings', value);
  }

  /** Entries of a free-form table; keys are returned as written. */
  table(key: string): [string, unknown][] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (isTable(value)) return Object.entries(value);
    return this.wrongType(key, 'a table', value);
  }

  private wrongType(key: string, expected: string, value: unknown): undefined {
    this.errors.push(`${key}: expected ${expected}, got ${describeValue(value, !secretKeys.has(key))}`);
    return undefined;
  }

  private lookup(key: string): unknown {
    const parts = key.split('.');
    let current: unknown = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (!isTable(current)) {
        this.reportContainer(parts.slice(0, i).join('.'), current);
        return undefined;
      }
      const part = parts[i] as string;
      current = Object.hasOwn(current, part) ? current[part] : undefined;
      if (current === undefined) return undefined;
    }
    return current;
  }

  private reportContainer(key: string, value: unknown): void {
    if (this.reportedContainers.has(key)) return;
    this.reportedContainers.add(key);
    this.errors.push(`${key}: expected a table, got ${describeValue(value)}`);
  }
}

/**
 * Warnings for keys Loom does not read. They are never errors: configs written for other
 * versions must keep starting. The suggestion catches typos (a sibling within a few
 * keystrokes) and keys put in the wrong table (the same name elsewhere).
 */
export function unknownKeyWarnings(root: TomlTable): string[] {
  const warnings: string[] = [];
  const leaves = allKeys(schema, '');
  const walk = (table: TomlTable, spec: TableSpec, prefix: string): void => {
    for (const [name, value] of Object.entries(table)) {
      const key = prefix + name;
      const known = Object.hasOwn(spec, name) ? spec[name] : undefined;
      if (known === undefined) {
        const suggestion = suggest(name, spec, prefix, leaves);
        if (suggestion !== undefined) warnings.push(`unknown key ${JSON.stringify(key)} (ignored; did you mean ${JSON.stringify(suggestion)}?)`);
        // A stray key in [auth] is most likely a token written in the wrong table.
        else if (prefix === 'auth.') warnings.push('unknown key in [auth] (ignored; name not shown because it may be a token; tokens go in [auth.tokens])');
        else warnings.push(`unknown key ${JSON.stringify(key)} (ignored)`);
      } else if (typeof known === 'object' && isTable(value)) {
        walk(value, known, `${key}.`);
      }
    }
  };
  walk(root, schema, '');
  return warnings;
}

function suggest(name: string, siblings: TableSpec, prefix: string, all: string[]): string | undefined {
  const sibling = closest(name, Object.keys(siblings));
  if (sibling !== undefined) return prefix + sibling;
  const lower = name.toLowerCase();
  return all.find((key) => key.slice(key.lastIndexOf('.') + 1).toLowerCase() === lower);
}

function allKeys(spec: TableSpec, prefix: string): string[] {
  return Object.entries(spec).flatMap(([name, kind]) =>
    typeof kind === 'object' ? [prefix + name, ...allKeys(kind, `${prefix}${name}.`)] : [prefix + name],
  );
}
