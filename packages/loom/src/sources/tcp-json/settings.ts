import { parseNetwork } from '../../net/allow-list.js';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { describeFsError } from '../../config/files.js';
import { AddressList } from './addresses.js';
import { compileMessageSchema, SERVER_FIELDS, type MessageSchema } from './message-schema.js';

/** The schema config.json must satisfy; it ships with the package, next to an example config.json. */
export const CONFIG_SCHEMA_PATH = fileURLToPath(new URL('../../../../tcp-json/config_schema.json', import.meta.url));

export class TcpJsonConfigError extends Error {
  override name = 'TcpJsonConfigError';
}

export interface LogfileSettings {
  path: string;
  format: 'json' | 'plaintext';
  fieldDelimiter: string;
  entryDelimiter: string;
  columnOrder: string[];
  fsync: boolean;
  maxSizeBytes: number;
  maxFiles: number;
}

/** config.json, checked, with defaults applied and relative paths resolved. */
export interface TcpJsonSettings {
  /** Absolute path of config.json. */
  file: string;
  server: {
    host: string;
    port: number;
    maxConnections: number;
    maxConnectionsPerIp: number;
    /** Client networks whose connections are accepted. */
    allowedNetworks: string[];
    idleTimeoutSeconds: number;
  };
  /** undefined: no logfile (only allowed in Loom with forward = true). */
  logfile: LogfileSettings | undefined;
  protocol: {
    schemaPath: string;
    schema: MessageSchema;
    messagesPerMinute: number;
    strikeThreshold: number;
    blacklist: AddressList;
    permanent: boolean;
    durationSeconds: number;
    maxMessageBytes: number;
    maxTrackedIps: number;
  };
  errorHandling: {
    invalidMessage: 'redirect_to_error_log' | 'ignore';
    /** Set when invalidMessage is redirect_to_error_log. */
    errorLogPath: string | undefined;
  };
}

/** config.json as the schema describes it, after the schema filled in the defaults. */
interface RawConfig {
  server_settings: { IP: string; Port: number; allowed_networks: string[]; max_connections: number; max_connections_per_ip: number; idle_timeout_seconds: number };
  logfile_settings?: {
    path: string;
    format: 'json' | 'plaintext';
    plaintext_field_delimiter: string;
    plaintext_entry_delimiter: string;
    column_order: string[];
    fsync: boolean;
    max_size_bytes: number;
    max_files: number;
  };
  protocol_settings: {
    incoming_json_schema: string;
    messages_per_ip_per_minute: number;
    bad_message_blacklist_threshold: number;
    blacklisted_ips: string[];
    blacklist_permanent: boolean;
    blacklist_duration_seconds: number;
    max_message_bytes: number;
    max_tracked_ips: number;
  };
  error_handling: { invalid_message: 'redirect_to_error_log' | 'ignore'; error_log_path?: string };
}

let configSchema: { schema: Record<string, unknown>; validate: ValidateFunction } | undefined;

async function configValidator(): Promise<{ schema: Record<string, unknown>; validate: ValidateFunction }> {
  if (configSchema === undefined) {
    const schema = JSON.parse(await readFile(CONFIG_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
    // useDefaults: the defaults are written once, in the schema operators read.
    const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, strictRequired: false });
    configSchema = { schema, validate: ajv.compile(schema) };
  }
  return configSchema;
}

/**
 * Reads and checks config.json: the shipped config_schema.json first (every problem
 * listed, each naming its key), then what a schema cannot say: the message schema must
 * load and compile, column_order may only name its properties and the server fields, and
 * blacklisted_ips must be addresses or ranges. Throws TcpJsonConfigError.
 */
export async function loadTcpJsonSettings(configPath: string): Promise<TcpJsonSettings> {
  const file = resolve(configPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TcpJsonConfigError(`${file}: cannot read: ${describeFsError(error)}`, { cause: error });
  }
  const raw = parseJson(text, file);
  const { schema, validate } = await configValidator();
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).filter((error) => error.keyword !== 'if').map((error) => describeConfigError(error, schema));
    throw new TcpJsonConfigError([...new Set(problems)].map((problem) => `${file}: ${problem}`).join('\n'));
  }
  const config = raw as RawConfig;
  const base = dirname(file);
  const errors: string[] = [];

  const { IP } = config.server_settings;
  if (isIP(IP) === 0 && !/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i.test(IP)) {
    errors.push(`server_settings.IP: ${JSON.stringify(IP)} is not an IP address or host name`);
  }

  const protocol = config.protocol_settings;
  const schemaPath = resolve(base, protocol.incoming_json_schema);
  let messageSchema: MessageSchema | undefined;
  try {
    messageSchema = compileMessageSchema(parseJson(await readSchema(schemaPath), schemaPath));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    errors.push(`protocol_settings.incoming_json_schema: ${reason.startsWith(schemaPath) ? reason : `${schemaPath}: ${reason}`}`);
  }

  const blacklist = new AddressList();
  protocol.blacklisted_ips.forEach((entry, i) => {
    const problem = blacklist.add(entry);
    if (problem !== undefined) errors.push(`protocol_settings.blacklisted_ips[${i}]: ${problem}`);
  });

  const logfile = config.logfile_settings;
  if (logfile !== undefined) {
    if (logfile.format === 'plaintext' && logfile.column_order.length === 0) {
      errors.push('logfile_settings.column_order: required with format "plaintext" (the fields to write, in order)');
    }
    if (messageSchema !== undefined) {
      const known = messageSchema.properties;
      logfile.column_order.forEach((column, i) => {
        if (!known.has(column) && !(SERVER_FIELDS as readonly string[]).includes(column)) {
          errors.push(`logfile_settings.column_order[${i}]: "${column}" is neither a property of incoming_json_schema (${schemaPath}) nor a server field (${SERVER_FIELDS.join(', ')})`);
        }
      });
    }
  }

  const handling = config.error_handling;
  const errorLogPath = handling.invalid_message === 'redirect_to_error_log' && handling.error_log_path !== undefined ? resolve(base, handling.error_log_path) : undefined;
  const logfilePath = logfile === undefined ? undefined : resolve(base, logfile.path);
  if (errorLogPath !== undefined && errorLogPath === logfilePath) errors.push('error_handling.error_log_path: must not be the same file as logfile_settings.path');

  (config.server_settings.allowed_networks ?? []).forEach((network, i) => {
    if (parseNetwork(network.trim()) === undefined) errors.push(`server_settings.allowed_networks[${i}]: ${JSON.stringify(network)} is not an IP address or CIDR network (examples "10.0.0.0/8", "192.0.2.7", "2001:db8::/32")`);
  });
  if (errors.length > 0 || messageSchema === undefined) throw new TcpJsonConfigError(errors.map((problem) => `${file}: ${problem}`).join('\n'));
  const server = config.server_settings;
  return {
    file,
    server: {
      host: IP,
      port: server.Port,
      maxConnections: server.max_connections,
      maxConnectionsPerIp: server.max_connections_per_ip,
      allowedNetworks: server.allowed_networks,
      idleTimeoutSeconds: server.idle_timeout_seconds,
    },
    logfile: logfile === undefined || logfilePath === undefined ? undefined : {
      path: logfilePath,
      format: logfile.format,
      fieldDelimiter: logfile.plaintext_field_delimiter,
      entryDelimiter: logfile.plaintext_entry_delimiter,
      columnOrder: logfile.column_order,
      fsync: logfile.fsync,
      maxSizeBytes: logfile.max_size_bytes,
      maxFiles: logfile.max_files,
    },
    protocol: {
      schemaPath,
      schema: messageSchema,
      messagesPerMinute: protocol.messages_per_ip_per_minute,
      strikeThreshold: protocol.bad_message_blacklist_threshold,
      blacklist,
      permanent: protocol.blacklist_permanent,
      durationSeconds: protocol.blacklist_duration_seconds,
      maxMessageBytes: protocol.max_message_bytes,
      maxTrackedIps: protocol.max_tracked_ips,
    },
    errorHandling: { invalidMessage: handling.invalid_message, errorLogPath },
  };
}

async function readSchema(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read: ${describeFsError(error)}`, { cause: error });
  }
}

/** JSON.parse with the position turned into a line and column, which is what an editor shows. */
function parseJson(text: string, file: string): unknown {
  const clean = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(clean) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /at position (\d+)/.exec(message);
    let where = '';
    if (at?.[1] !== undefined) {
      const before = clean.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      where = ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new TcpJsonConfigError(`${file}: not valid JSON${where}: ${message}`, { cause: error });
  }
}

/** One schema violation as "key: problem", with the value found where it helps. */
function describeConfigError(error: ErrorObject, schema: Record<string, unknown>): string {
  const path = error.instancePath.slice(1).split('/').filter((part) => part !== '').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const key = keyOf(path);
  const params = error.params as Record<string, unknown>;
  const got = `got ${describeValue(error.data)}`;
  switch (error.keyword) {
    case 'required':
      return `${keyOf([...path, String(params.missingProperty)])}: required`;
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const hint = closest(name, knownKeys(schema, path));
      return `${keyOf([...path, name])}: unknown key${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
    }
    case 'enum':
      return `${key}: must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}, ${got}`;
    case 'type':
      return `${key}: must be ${String(params.type)}, ${got}`;
    case 'uniqueItems':
      return `${key}: lists ${describeValue((error.data as unknown[])[Number(params.i)])} twice`;
    default:
      return `${key}: ${error.message ?? 'is invalid'}, ${got}`;
  }
}

function keyOf(path: readonly string[]): string {
  let key = '';
  for (const part of path) key += /^\d+$/.test(part) ? `[${part}]` : key === '' ? part : `.${part}`;
  return key === '' ? '(the whole file)' : key;
}

function knownKeys(schema: Record<string, unknown>, path: readonly string[]): string[] {
  let node: unknown = schema;
  for (const part of path) node = ((node as { properties?: Record<string, unknown> }).properties ?? {})[part];
  return Object.keys((node as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
}

/** The known key a typo most likely meant: at most two edits away, or differing only in case. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Damerau-Levenshtein (optimal string alignment): a swap of two letters is one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const up = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = value;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
