import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'smol-toml';
import { TomlValues, unknownKeyWarnings, type TableSpec, type TomlTable } from '@loom/toml-config';
import { parseGoDuration } from './duration.js';
import { SpipConfigError, type SpipConfig } from './types.js';

/** Every key the sensor reads. The Go sensor's keys keep their names, meaning and defaults. */
export const schema: TableSpec = {
  name: 'string',
  ip: 'string',
  port: 'integer',
  ports: 'integer-or-string-array',
  cert_path: 'string',
  key_path: 'string',
  tls_self_signed: 'boolean',
  log_file: 'string',
  log_level: 'string',
  read_timeout_seconds: 'integer',
  write_timeout_seconds: 'integer',
  first_byte_timeout_seconds: 'integer',
  handshake_timeout_seconds: 'integer',
  max_connection_seconds: 'integer',
  max_payload_bytes: 'integer',
  max_connections: 'integer',
  max_connections_per_ip: 'integer',
  rate_limit_per_second: 'integer',
  rate_limit_burst: 'integer',
  community_id_seed: 'integer',
  shutdown_timeout_seconds: 'integer',
  metrics_listen_address: 'string',
  http: { status: 'integer', content_type: 'string', body: 'string', server: 'string' },
  ssh: { banner: 'string' },
  loom: {
    enabled: 'boolean',
    url: 'string',
    sensor_id: 'string',
    token: 'string',
    token_env: 'string',
    batch_size: 'integer',
    flush_interval: 'string',
    insecure_skip_verify: 'boolean',
    spool_dir: 'string',
    spool_max_bytes: 'integer',
    memory_max_events: 'integer',
    gzip: 'boolean',
    max_body_bytes: 'integer',
    request_timeout_seconds: 'integer',
  },
};

const secretKeys = new Set(['loom.token']);

export interface SpipLoadResult {
  config: SpipConfig;
  warnings: string[];
}

export async function loadSpipConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<SpipLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SpipConfigError(`read config: ${(error as Error).message}`);
  }
  return loadSpipConfigText(text, resolve(path), env);
}

/** Parses, applies defaults and validates; every problem is reported together, naming its key. */
export function loadSpipConfigText(text: string, sourcePath: string, env: NodeJS.ProcessEnv): SpipLoadResult {
  let root: TomlTable;
  try {
    root = parse(text, { integersAsBigInt: true }) as TomlTable;
  } catch (error) {
    const e = error as { line?: number; column?: number; message: string };
    throw new SpipConfigError(`parse config: ${e.line !== undefined ? `line ${e.line}, column ${e.column}: ` : ''}${e.message.split('\n')[0]}`);
  }
  const warnings = unknownKeyWarnings(root, schema);
  const read = new TomlValues(root, secretKeys);
  const errors = read.errors;
  const baseDir = dirname(sourcePath);
  // The Go sensor resolved certificate paths against the config file's directory; keep that.
  const path = (value: string | undefined): string => (value === undefined || value === '' ? '' : isAbsolute(value) ? value : resolve(baseDir, value));
  // As in the Go sensor, 0 (unset) means the default; a value below `min` is an error.
  // The Go sensor treated any value <= 0 of these keys as "use the default".
  const goDefaulted = (key: string, fallback: number): number => {
    const value = read.integer(key);
    return value === undefined || value <= 0 ? fallback : value;
  };
  const positive = (key: string, fallback: number, { min = 1 } = {}): number => {
    const value = read.integer(key);
    if (value === undefined || value === 0) return fallback;
    if (value < min) {
      errors.push(`${key}: must be >= ${min}, got ${value}`);
      return fallback;
    }
    return value;
  };

  const name = read.string('name') ?? '';
  if (name === '') errors.push('name is required in configuration');
  const ip = read.string('ip') ?? '';
  if (ip === '') errors.push('IP address is required');
  const ports = readPorts(read, errors);
  const certPath = path(read.string('cert_path'));
  const keyPath = path(read.string('key_path'));
  if ((certPath === '') !== (keyPath === '')) errors.push('both cert_path and key_path must be provided for TLS');

  const seed = read.integer('community_id_seed') ?? 0;
  if (seed < 0 || seed > 65535) errors.push(`community_id_seed: must be 0..65535, got ${seed}`);
  const logLevel = read.string('log_level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) errors.push(`log_level: must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  const status = read.integer('http.status') ?? 200;
  if (status < 100 || status > 599) errors.push(`http.status: must be 100..599, got ${status}`);
  const banner = read.string('ssh.banner') ?? 'SSH-2.0-spip';
  if (!banner.startsWith('SSH-') || /[\r\n]/.test(banner) || banner.length > 253) {
    errors.push('ssh.banner: must start with "SSH-", fit on one line and be at most 253 characters (RFC 4253 §4.2)');
  }

  const loomEnabled = read.boolean('loom.enabled') ?? false;
  const url = read.string('loom.url') ?? '';
  const sensorId = read.string('loom.sensor_id') ?? '';
  const token = readToken(read, env, errors);
  const flushText = read.string('loom.flush_interval');
  let flushMs = 10_000;
  if (flushText !== undefined) {
    const parsed = parseGoDuration(flushText);
    if (parsed === undefined || parsed <= 0) errors.push('loom.flush_interval must be a positive duration (e.g. 10s)');
    else flushMs = parsed;
  }
  if (loomEnabled) {
    if (url === '') errors.push('loom.url is required when loom.enabled is true');
    else if (!/^https?:\/\//i.test(url)) errors.push(`loom.url: must start with http:// or https://, got ${JSON.stringify(url)}`);
    if (sensorId === '') errors.push('loom.sensor_id is required when loom.enabled is true');
    if (token.value === '') errors.push('loom.token is required when loom.enabled is true (set it in the file, or in SPIP_LOOM_TOKEN or the variable named by loom.token_env)');
  }
  const spoolDir = read.string('loom.spool_dir');

  const config: SpipConfig = {
    source_path: sourcePath,
    name,
    ip,
    ports,
    cert_path: certPath,
    key_path: keyPath,
    tls_self_signed: read.boolean('tls_self_signed') ?? false,
    log_file: path(read.string('log_file')),
    log_level: logLevel as SpipConfig['log_level'],
    read_timeout_seconds: goDefaulted('read_timeout_seconds', 30),
    write_timeout_seconds: goDefaulted('write_timeout_seconds', 10),
    first_byte_timeout_seconds: positive('first_byte_timeout_seconds', 10),
    handshake_timeout_seconds: positive('handshake_timeout_seconds', 10),
    max_connection_seconds: positive('max_connection_seconds', 300),
    max_payload_bytes: positive('max_payload_bytes', 65536, { min: 1024 }),
    max_connections: positive('max_connections', 20_000),
    max_connections_per_ip: positive('max_connections_per_ip', 64),
    rate_limit_per_second: positive('rate_limit_per_second', 20),
    rate_limit_burst: positive('rate_limit_burst', 50_000),
    community_id_seed: seed,
    shutdown_timeout_seconds: positive('shutdown_timeout_seconds', 15),
    metrics_listen_address: read.string('metrics_listen_address') ?? '',
    http: {
      status,
      content_type: read.string('http.content_type') ?? 'text/plain',
      body: read.string('http.body') ?? '{source.ip}',
      server: read.string('http.server') ?? '',
    },
    ssh: { banner },
    loom: {
      enabled: loomEnabled,
      url,
      sensor_id: sensorId,
      token: token.value,
      token_origin: token.origin,
      batch_size: goDefaulted('loom.batch_size', 50),
      flush_interval_ms: flushMs,
      insecure_skip_verify: read.boolean('loom.insecure_skip_verify') ?? false,
      spool_dir: spoolDir === undefined ? resolve(baseDir, 'spool') : path(spoolDir),
      spool_max_bytes: positive('loom.spool_max_bytes', 1 << 30, { min: 1 << 20 }),
      memory_max_events: positive('loom.memory_max_events', 100_000, { min: 100 }),
      gzip: read.boolean('loom.gzip') ?? true,
      max_body_bytes: positive('loom.max_body_bytes', 2 * 1024 * 1024, { min: 64 * 1024 }),
      request_timeout_seconds: positive('loom.request_timeout_seconds', 15),
    },
  };
  if (errors.length > 0) throw new SpipConfigError(errors.join('\n'));
  if (config.loom.token !== '' && config.loom.token_origin === 'loom.token') {
    warnings.push('loom.token is written in the config file; prefer SPIP_LOOM_TOKEN or loom.token_env so the file holds no secret');
  }
  return { config, warnings };
}

/** `port` (Go) plus `ports`: integers or "start-end" ranges, so one process can cover many ports. */
function readPorts(read: TomlValues, errors: string[]): number[] {
  const ports = new Set<number>();
  const add = (key: string, port: number): void => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) errors.push(`${key}: ${port} is not a TCP port (1..65535)`);
    else ports.add(port);
  };
  const port = read.integer('port');
  if (port !== undefined && port !== 0) add('port', port);
  const list = read.integerOrStringArray('ports');
  for (const item of list ?? []) {
    if (typeof item === 'number') {
      add('ports', item);
      continue;
    }
    const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(item);
    if (range === null) {
      errors.push(`ports: ${JSON.stringify(item)} is neither a port nor a range like "8000-8100"`);
      continue;
    }
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from > to || to - from > 4096) {
      errors.push(`ports: range ${JSON.stringify(item)} must go upwards and span at most 4096 ports`);
      continue;
    }
    for (let p = from; p <= to; p++) add('ports', p);
  }
  if (ports.size === 0 && !errors.some((e) => e.startsWith('port'))) errors.push('port is required');
  return [...ports].sort((a, b) => a - b);
}

function readToken(read: TomlValues, env: NodeJS.ProcessEnv, errors: string[]): { value: string; origin: string } {
  const tokenEnv = read.string('loom.token_env');
  if (tokenEnv !== undefined && tokenEnv !== '') {
    const value = env[tokenEnv];
    if (value === undefined || value === '') errors.push(`loom.token_env: the environment variable ${tokenEnv} is not set or empty`);
    return { value: value ?? '', origin: `env ${tokenEnv}` };
  }
  const fromEnv = env.SPIP_LOOM_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, origin: 'env SPIP_LOOM_TOKEN' };
  const inFile = read.string('loom.token') ?? '';
  return { value: inFile, origin: inFile === '' ? 'none' : 'loom.token' };
}
