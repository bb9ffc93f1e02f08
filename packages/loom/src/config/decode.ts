import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseListenAddress } from '../net/listen.js';
import { DEFAULT_RISK_WEIGHTS } from '../transforms/risk/rules.js';
import type { TokenSet } from './secrets.js';
import { decodeNetflowConfig } from '../sources/netflow/config.js';
import { decodeTcpJsonInputConfig } from '../sources/tcp-json/config.js';
import { decodeZeekConfig } from '../sources/zeek/config.js';
import { Reader, address, type IntegerRule } from './reader.js';
import { TomlValues, describeValue } from './schema.js';
import type { EnrichmentConfig, LimitsConfig, LogLevel, LoomConfig, OutputConfig, ServerConfig, SharedStateConfig } from './types.js';

/**
 * A config decoded key by key: defaults applied, each value checked on its own.
 * Rules that involve several keys, files or secrets are checked later, in validate.ts.
 */
export interface Draft {
  config: LoomConfig;
  /** output.type as written ("" when absent); validate.ts decides whether it is supported. */
  outputType: string;
  /** Each [outputs.<name>] section or [[outputs]] entry, with its type as written. */
  outputList: { config: OutputConfig; typeWritten: string }[];
  /** Whether an [output] table is written at all. */
  outputWritten: boolean;
  kafkaKeysWritten: boolean;
  inlineTokens: TokenSet;
  errors: string[];
  warnings: string[];
}


const MiB = 1024 * 1024;
/** A body is decoded as one string; V8 strings stop at about 512 MiB, so keep well below. */
const maxBodyBytes = 256 * MiB;

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function decode(v: TomlValues, sourcePath: string | undefined): Draft {
  const warnings: string[] = [];
  const read = new Reader(v, warnings);
  const server = decodeServer(read);
  const auth = { token_file: read.path('auth.token_file'), tokens: new Map<string, string>(), token_origins: new Map<string, string>() };
  const inline = inlineTokens(v, warnings);
  const limits = decodeLimits(read);
  const enrichment = decodeEnrichment(read);
  const outputType = v.string('output.type') ?? '';
  const output = decodeOutput(read, 'output', outputType);
  const outputList = decodeOutputList(read);
  const inputs = {
    netflow: decodeNetflowConfig(read),
    zeek: decodeZeekConfig(read),
    tcp_json: decodeTcpJsonInputConfig(read),
  };
  const kafkaBrokers = v.stringArray('output.kafka_brokers');
  const kafkaTopic = v.string('output.kafka_topic');
  const logging = {
    level: read.choice('logging.level', logLevels, 'info'),
    format: read.choice('logging.format', ['json', 'console'] as const, 'json'),
  };
  const observability = { metrics_enabled: v.boolean('observability.metrics_enabled') ?? false };
  const sharedState = decodeSharedState(read);
  return {
    config: { server, auth, limits, enrichment, output, outputs: [], inputs, logging, observability, shared_state: sharedState, source_path: sourcePath },
    outputType,
    outputList,
    outputWritten: v.has('output'),
    kafkaKeysWritten: kafkaBrokers !== undefined || kafkaTopic !== undefined,
    inlineTokens: inline,
    errors: v.errors,
    warnings,
  };
}


function decodeServer(read: Reader): ServerConfig {
  const listen = address(read, 'server.listen_address', ':8443');
  const certFile = read.path('server.cert_file');
  const keyFile = read.path('server.key_file');
  const tls = decideTls(read.values.boolean('server.tls'), certFile, keyFile, read.warnings);
  const management = address(read, 'server.management_listen_address', '');
  if (management !== '' && sameListener(listen, management)) {
    read.errors.push(`server.management_listen_address: ${JSON.stringify(management)} is the same port as server.listen_address ${JSON.stringify(listen)}`);
  }
  const workers = read.int('server.workers', { fallback: 0, zero: 'value', negative: 'error', max: 1024 });
  const processes = read.int('server.processes', { fallback: 1, zero: 'value', negative: 'error', max: 256 });
  const headerTimeout = read.int('server.header_timeout_seconds', { fallback: 10, zero: 'error', negative: 'error', max: 3600 });
  const requestTimeout = read.int('server.request_timeout_seconds', { fallback: 30, zero: 'error', negative: 'error', max: 3600 });
  if (headerTimeout > requestTimeout) {
    // Node refuses to start an HTTP server whose header timeout exceeds its request timeout.
    read.errors.push(`server.header_timeout_seconds: ${headerTimeout} must not exceed server.request_timeout_seconds (${requestTimeout})`);
  }
  return {
    listen_address: listen,
    tls,
    cert_file: certFile,
    key_file: keyFile,
    management_listen_address: management,
    workers,
    processes,
    header_timeout_seconds: headerTimeout,
    request_timeout_seconds: requestTimeout,
    idle_timeout_seconds: read.int('server.idle_timeout_seconds', { fallback: 120, zero: 'error', negative: 'error', max: 86400 }),
    max_connections: read.int('server.max_connections', { fallback: 4096, zero: 'error', negative: 'error', max: 1_000_000 }),
    shutdown_timeout_seconds: read.int('server.shutdown_timeout_seconds', { fallback: 15, zero: 'error', negative: 'error', max: 3600 }),
  };
}

function decodeSharedState(read: Reader): SharedStateConfig {
  // The URL is checked (scheme, host, no inline password) where the Redis client is made.
  return {
    redis_url: read.values.string('shared_state.redis_url') ?? '',
    redis_password_env: read.values.string('shared_state.redis_password_env') ?? '',
    key_prefix: read.values.string('shared_state.key_prefix') ?? 'loom:',
    timeout_ms: read.int('shared_state.timeout_ms', { fallback: 250, zero: 'error', negative: 'error', max: 60_000 }),
    ca_file: read.path('shared_state.ca_file'),
  };
}

function decodeLimits(read: Reader): LimitsConfig {
  const body = read.int('limits.max_body_size_bytes', { fallback: 2 * MiB, zero: 'default', negative: 'error', max: maxBodyBytes });
  const batch = read.int('limits.max_events_per_batch', { fallback: 500, zero: 'default', negative: 'error', max: 1_000_000 });
  const event = read.int('limits.max_event_size_bytes', { fallback: 128 * 1024, zero: 'default', negative: 'error', max: maxBodyBytes });
  const rps = read.int('limits.per_sensor_rps', { fallback: 50, zero: 'default', negative: 'value' });
  const burst = read.int('limits.per_sensor_burst', { fallback: rps, zero: 'default', negative: 'error' });
  if (rps < 0 && read.values.has('limits.per_sensor_burst') && burst !== rps) {
    read.warnings.push('limits.per_sensor_burst is ignored: limits.per_sensor_rps is negative, which disables the request rate limit');
  }
  // The earlier version read this key but never used it, so any value ran; negative reads as "off" like 0.
  const eventsRps = Math.max(0, read.int('limits.per_sensor_events_rps', { fallback: 0, zero: 'value', negative: 'value' }));
  return {
    max_body_size_bytes: body,
    max_events_per_batch: batch,
    max_event_size_bytes: event,
    per_sensor_rps: rps,
    per_sensor_burst: burst,
    per_sensor_events_rps: eventsRps,
    max_pending_batches: read.int('limits.max_pending_batches', { fallback: 128, zero: 'default', negative: 'error', max: 1_000_000 }),
  };
}

// The risk rules own their defaults; docs/ENRICHMENT.md explains each rule.
const defaultRiskWeights: Readonly<Record<string, number>> = DEFAULT_RISK_WEIGHTS;

function decodeEnrichment(read: Reader): EnrichmentConfig {
  return {
    geoip_db_path: databasePath(read, 'enrichment.geoip_db_path'),
    asn_db_path: databasePath(read, 'enrichment.asn_db_path'),
    fields: enrichedFields(read),
    cache_size: read.int('enrichment.cache_size', { fallback: 100_000, zero: 'value', negative: 'error', max: 10_000_000 }),
    max_db_age_days: read.int('enrichment.max_db_age_days', { fallback: 60, zero: 'value', negative: 'error', max: 3650 }),
    dns: {
      enabled: read.bool('enrichment.dns.enabled', false),
      resolver_addr: resolverAddress(read),
      cache_ttl_seconds: read.int('enrichment.dns.cache_ttl_seconds', { fallback: 300, zero: 'value', negative: 'error', max: 7 * 86400 }),
      max_qps: read.int('enrichment.dns.max_qps', { fallback: 10, zero: 'default', negative: 'value' }),
      timeout_ms: read.int('enrichment.dns.timeout_ms', { fallback: 500, zero: 'error', negative: 'error', max: 30_000 }),
      max_concurrency: read.int('enrichment.dns.max_concurrency', { fallback: 64, zero: 'error', negative: 'error', max: 4096 }),
      negative_ttl_seconds: read.int('enrichment.dns.negative_ttl_seconds', { fallback: 60, zero: 'value', negative: 'error', max: 7 * 86400 }),
      cache_max_entries: read.int('enrichment.dns.cache_max_entries', { fallback: 100_000, zero: 'value', negative: 'error', max: 10_000_000 }),
    },
    intel: intelLists(read),
    risk: riskRules(read),
  };
}

/** Absent means the bundled open data; "" switches the lookup off, as in earlier versions. */
function databasePath(read: Reader, key: string): string | undefined {
  if (!read.values.has(key)) return undefined;
  return read.path(key);
}

function enrichedFields(read: Reader): ('source' | 'destination')[] {
  const written = read.values.stringArray('enrichment.fields');
  if (written === undefined) return ['source'];
  const fields: ('source' | 'destination')[] = [];
  for (const field of written) {
    if (field === 'source' || field === 'destination') {
      if (!fields.includes(field)) fields.push(field);
    } else {
      read.errors.push(`enrichment.fields: ${JSON.stringify(field)} is not an address field (use "source", "destination")`);
    }
  }
  return fields;
}

function intelLists(read: Reader): EnrichmentConfig['intel'] {
  const tables = read.values.tableArray('enrichment.intel') ?? [];
  const names = new Set<string>();
  return tables.map((table, i) => {
    const key = `enrichment.intel[${i}]`;
    const text = (name: string): string | undefined => {
      const value = table[name];
      if (value === undefined) return undefined;
      if (typeof value === 'string') return value;
      read.errors.push(`${key}.${name}: expected a string, got ${describeValue(value)}`);
      return undefined;
    };
    const name = text('name') ?? '';
    const path = text('path') ?? '';
    if (name === '') read.errors.push(`${key}.name: every intel list needs a name`);
    else if (names.has(name)) read.errors.push(`${key}.name: ${JSON.stringify(name)} is used by another list`);
    names.add(name);
    if (path === '') read.errors.push(`${key}.path: every intel list needs a file path`);
    const kind = text('kind') ?? 'auto';
    if (!['auto', 'ip', 'ja4', 'ja3', 'hassh', 'ja4h'].includes(kind)) read.errors.push(`${key}.kind: ${JSON.stringify(kind)} is not one of auto, ip, ja4, ja3, hassh, ja4h`);
    const format = text('format') ?? 'auto';
    if (!['auto', 'plain', 'threats-csv'].includes(format)) read.errors.push(`${key}.format: ${JSON.stringify(format)} is not one of auto, plain, threats-csv`);
    const confidenceValue = table.confidence;
    let confidence = 75;
    if (confidenceValue !== undefined) {
      if (typeof confidenceValue === 'bigint' && confidenceValue >= 0n && confidenceValue <= 100n) confidence = Number(confidenceValue);
      else read.errors.push(`${key}.confidence: expected an integer 0..100, got ${describeValue(confidenceValue)}`);
    }
    return {
      name,
      path: path === '' ? '' : resolve(path),
      kind: kind as EnrichmentConfig['intel'][number]['kind'],
      format: format as EnrichmentConfig['intel'][number]['format'],
      category: text('category') ?? 'malicious',
      confidence,
    };
  });
}

function riskRules(read: Reader): EnrichmentConfig['risk'] {
  const weights: Record<string, number> = { ...defaultRiskWeights };
  for (const [name, value] of read.values.table('enrichment.risk.weights') ?? []) {
    if (!Object.hasOwn(defaultRiskWeights, name)) {
      read.errors.push(`enrichment.risk.weights.${name}: no such rule (rules: ${Object.keys(defaultRiskWeights).join(', ')})`);
    } else if (typeof value === 'bigint' && value >= -100n && value <= 100n) {
      weights[name] = Number(value);
    } else {
      read.errors.push(`enrichment.risk.weights.${name}: expected an integer -100..100, got ${describeValue(value)}`);
    }
  }
  const ports = read.values.integerArray('enrichment.risk.sensitive_ports') ?? [3389, 445];
  for (const port of ports) if (port < 1 || port > 65535) read.errors.push(`enrichment.risk.sensitive_ports: ${port} is not a port`);
  return {
    enabled: read.bool('enrichment.risk.enabled', true),
    weights,
    sensitive_ports: ports,
    scanner_asns: read.values.integerArray('enrichment.risk.scanner_asns') ?? [],
    large_transfer_bytes: read.int('enrichment.risk.large_transfer_bytes', { fallback: 1_000_000, zero: 'error', negative: 'error' }),
  };
}

const networkTypes = new Set(['clickhouse', 'elasticsearch', 'splunk_hec']);
/** Events per request by destination: ClickHouse wants few large inserts; bulk and HEC requests stay moderate. */
const defaultBatchEvents: Record<string, number> = { clickhouse: 10_000, elasticsearch: 2_000, splunk_hec: 1_000 };

/** One output table: [output] (key "output"), [outputs.<name>] (key "outputs.<name>") or an [[outputs]] entry (key "outputs[i]"). */
function decodeOutput(read: Reader, key: string, typeWritten: string): OutputConfig {
  const k = (name: string): string => `${key}.${name}`;
  const network = networkTypes.has(typeWritten);
  const output: OutputConfig = {
    type: 'stdout',
    name: read.string(k('name')),
    key,
    batch_max_events: read.int(k('batch_max_events'), { fallback: defaultBatchEvents[typeWritten] ?? 1000, zero: 'error', negative: 'error', max: 1_000_000 }),
    batch_max_bytes: read.int(k('batch_max_bytes'), { fallback: 16 * MiB, zero: 'error', negative: 'error', max: 256 * MiB }),
    batch_max_wait_ms: read.int(k('batch_max_wait_ms'), { fallback: 1000, zero: 'value', negative: 'error', max: 3_600_000 }),
    request_timeout_ms: read.int(k('request_timeout_ms'), { fallback: 30_000, zero: 'error', negative: 'error', max: 3_600_000 }),
    sync_timeout_ms: read.int(k('sync_timeout_ms'), { fallback: 10_000, zero: 'error', negative: 'error', max: 3_600_000 }),
    // Unset: gzip unless the destination is on this host (see compressesFor in sinks/create.ts).
    compression: read.values.boolean(k('compression')) ?? 'auto',
    ca_file: read.path(k('ca_file')),
    insecure_skip_verify: read.bool(k('insecure_skip_verify'), false),
    dead_letter_max_bytes: read.int(k('dead_letter_max_bytes'), { fallback: 64 * MiB, zero: 'error', negative: 'error' }),
    file_path: read.path(k('file_path')),
    file_max_size_bytes: read.int(k('file_max_size_bytes'), { fallback: 0, zero: 'value', negative: 'error' }),
    file_max_files: read.int(k('file_max_files'), { fallback: 5, zero: 'error', negative: 'error', max: 1000 }),
    file_fsync: read.bool(k('file_fsync'), true),
    format: read.choice(k('format'), ['json', 'plaintext'] as const, 'json'),
    column_order: read.values.stringArray(k('column_order')) ?? [],
    plaintext_field_delimiter: read.values.string(k('plaintext_field_delimiter')) ?? '\t',
    plaintext_entry_delimiter: read.values.string(k('plaintext_entry_delimiter')) ?? '\n',
    elasticsearch_url: read.string(k('elasticsearch_url')),
    elasticsearch_index: read.string(k('elasticsearch_index'), 'loom-events'),
    elasticsearch_user: read.string(k('elasticsearch_user')),
    elasticsearch_pass: read.string(k('elasticsearch_pass')),
    elasticsearch_action: read.choice(k('elasticsearch_action'), ['index', 'create'] as const, 'index'),
    elasticsearch_pipeline: read.string(k('elasticsearch_pipeline')),
    elasticsearch_document_ids: read.bool(k('elasticsearch_document_ids'), true),
    elasticsearch_data_stream: read.bool(k('elasticsearch_data_stream'), false),
    elasticsearch_max_bulk_bytes: read.int(k('elasticsearch_max_bulk_bytes'), { fallback: 5 * MiB, zero: 'error', negative: 'error', max: 256 * MiB }),
    elasticsearch_api_key: '',
    clickhouse_url: read.string(k('clickhouse_url')),
    clickhouse_database: read.string(k('clickhouse_database'), 'default'),
    clickhouse_table: read.string(k('clickhouse_table'), 'loom_events'),
    clickhouse_user: read.string(k('clickhouse_user')),
    clickhouse_password: read.string(k('clickhouse_password')),
    clickhouse_mode: read.choice(k('clickhouse_mode'), ['event_string', 'typed'] as const, 'event_string'),
    clickhouse_dedup_token: read.choice(k('clickhouse_dedup_token'), ['auto', 'on', 'off'] as const, 'auto'),
    splunk_hec_url: read.string(k('splunk_hec_url')),
    splunk_hec_token: '',
    splunk_hec_index: read.string(k('splunk_hec_index')),
    splunk_hec_sourcetype: read.string(k('splunk_hec_sourcetype'), 'loom:ecs'),
    splunk_hec_source: read.string(k('splunk_hec_source')),
    splunk_hec_ack: read.bool(k('splunk_hec_ack'), false),
    splunk_hec_ack_timeout_ms: read.int(k('splunk_hec_ack_timeout_ms'), { fallback: 300_000, zero: 'error', negative: 'error', max: 3_600_000 }),
    splunk_hec_ack_poll_interval_ms: read.int(k('splunk_hec_ack_poll_interval_ms'), { fallback: 1000, zero: 'error', negative: 'error', max: 600_000 }),
    splunk_hec_host: read.string(k('splunk_hec_host')),
    splunk_hec_max_request_bytes: read.int(k('splunk_hec_max_request_bytes'), { fallback: 1_000_000, zero: 'error', negative: 'error', max: 256 * MiB }),
    credential_env: credentialEnv(read, key),
    outbox: {
      // On by default for network outputs: acknowledged then means on disk, whatever the destination does.
      enabled: read.bool(k('outbox.enabled'), network),
      dir: read.path(k('outbox.dir')) || '/var/lib/loom/outbox',
      // Written 0 means unlimited: the earlier version could not express that at all.
      max_bytes: read.int(k('outbox.max_bytes'), { ...outboxRule(256 * MiB, `${key}.outbox: max_bytes must be >= 0`), zero: 'value' }),
      flush_interval_ms: read.int(k('outbox.flush_interval_ms'), outboxRule(10000, `${key}.outbox: flush_interval_ms must be >= 0`)),
      max_batch_size: read.int(k('outbox.max_batch_size'), outboxRule(100, `${key}.outbox: max_batch_size must be >= 0`)),
      retry_backoff_ms: read.int(k('outbox.retry_backoff_ms'), outboxRule(1000, `${key}.outbox: retry backoff values must be >= 0`)),
      retry_max_backoff_ms: read.int(k('outbox.retry_max_backoff_ms'), outboxRule(30000, `${key}.outbox: retry backoff values must be >= 0`)),
      when_full: read.choice(k('outbox.when_full'), ['reject', 'drop_oldest'] as const, 'reject'),
    },
  };
  const { retry_backoff_ms: backoff, retry_max_backoff_ms: maxBackoff } = output.outbox;
  if (maxBackoff < backoff) {
    read.warnings.push(`${key}.outbox.retry_max_backoff_ms (${maxBackoff}) is below ${key}.outbox.retry_backoff_ms (${backoff}): every retry waits ${maxBackoff} ms`);
  }
  if (key === 'output' && read.values.has('output.name')) read.warnings.push('output.name is ignored: [output] is named after its type; outputs named otherwise are [outputs.<name>] sections');
  return output;
}

function credentialEnv(read: Reader, key: string): OutputConfig['credential_env'] {
  const names: OutputConfig['credential_env'] = {};
  for (const secret of ['clickhouse_password', 'elasticsearch_pass', 'elasticsearch_api_key', 'splunk_hec_token'] as const) {
    const name = read.string(`${key}.${secret}_env`);
    if (name === '') continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) read.errors.push(`${key}.${secret}_env: ${JSON.stringify(name)} is not an environment variable name`);
    else names[secret] = name;
  }
  return names;
}

/**
 * The extra outputs: [outputs.<name>] sections (keys named "outputs.<name>.<key>" in
 * messages, the section name is the output's name) or [[outputs]] entries ("outputs[i]").
 */
function decodeOutputList(read: Reader): { config: OutputConfig; typeWritten: string }[] {
  const entries = read.values.namedTables('outputs') ?? [];
  return entries.map(({ id, table }, i) => {
    const key = id === undefined ? `outputs[${i}]` : `outputs.${id}`;
    const values = new TomlValues(id === undefined ? { [key]: table } : { outputs: { [id]: table } }, key);
    const sub = new Reader(values, read.warnings);
    const typeWritten = values.string(`${key}.type`) ?? '';
    const config = decodeOutput(sub, key, typeWritten);
    if (id !== undefined) {
      if (config.name !== '' && config.name !== id) read.errors.push(`${key}.name: ${JSON.stringify(config.name)} differs from the section name ${JSON.stringify(id)}; leave name out of [outputs.<name>] sections`);
      config.name = id;
    }
    read.errors.push(...values.errors);
    return { config, typeWritten };
  });
}

function outboxRule(fallback: number, negativeMessage: string): IntegerRule {
  return { fallback, zero: 'default', negative: 'error', negativeMessage };
}



const wildcardHosts = new Set([undefined, '0.0.0.0', '::']);

function sameListener(a: string, b: string): boolean {
  const x = parseListenAddress(a);
  const y = parseListenAddress(b);
  if (x === undefined || y === undefined || x.port === 0 || x.port !== y.port) return false;
  return x.host === y.host || wildcardHosts.has(x.host) || wildcardHosts.has(y.host);
}

/**
 * The earlier version served HTTPS whenever cert_file and key_file were both set, even with
 * tls = false. A config that does not mention tls keeps getting what it got; one that says
 * tls = false now gets plain HTTP, with a warning because that is a change for it.
 */
function decideTls(written: boolean | undefined, certFile: string, keyFile: string, warnings: string[]): boolean {
  const both = certFile !== '' && keyFile !== '';
  if (written === undefined) {
    if (both) {
      warnings.push('server.tls is not set but server.cert_file and server.key_file are: serving HTTPS as earlier versions did (write tls = true to make this explicit)');
    } else if (certFile !== '' || keyFile !== '') {
      const [set, missing] = certFile !== '' ? ['cert_file', 'key_file'] : ['key_file', 'cert_file'];
      warnings.push(`server.${set} is set without server.${missing}: serving plain HTTP`);
    }
    return both;
  }
  if (!written && both) {
    warnings.push('server.tls = false although server.cert_file and server.key_file are set: serving plain HTTP (earlier versions served HTTPS here; set tls = true for HTTPS or remove the two keys)');
  }
  return written;
}

/**
 * The resolver for PTR lookups. Node's resolver takes IP addresses only, so a host name is
 * an error; a bare IP means port 53. Stored as "ip:port" or "[v6]:port".
 */
function resolverAddress(read: Reader): string {
  const key = 'enrichment.dns.resolver_addr';
  const value = read.string(key);
  if (value === '') return '';
  if (isIP(value) === 4) return `${value}:53`;
  if (isIP(value) === 6) return `[${value}]:53`;
  const parsed = parseListenAddress(value);
  if (parsed?.host !== undefined && isIP(parsed.host) !== 0 && parsed.port !== 0) return value;
  read.errors.push(`${key}: ${JSON.stringify(value)} is not an IP address with an optional port (examples "127.0.0.1:53", "[2001:db8::53]:53", "9.9.9.9")`);
  return '';
}

/**
 * [auth.tokens] (token = "sensor_id"): supported because configs use it, but a secret in a
 * config file tends to end up in backups and repositories, so it earns a warning.
 */
function inlineTokens(v: TomlValues, warnings: string[]): TokenSet {
  const tokens = new Map<string, string>();
  const origins = new Map<string, string>();
  const entries = v.table('auth.tokens') ?? [];
  let skipped = 0;
  for (const [token, sensor] of entries) {
    if (typeof sensor !== 'string') {
      v.errors.push(`auth.tokens: values must be sensor ids (strings), got ${describeValue(sensor)}`);
      continue;
    }
    if (token.trim() === '' || sensor.trim() === '') {
      skipped++;
      continue;
    }
    tokens.set(token, sensor);
    origins.set(token, 'auth.tokens');
  }
  if (skipped > 0) warnings.push(`auth.tokens: ${skipped} entr${skipped === 1 ? 'y has' : 'ies have'} an empty token or sensor id (ignored)`);
  if (tokens.size > 0) {
    warnings.push(`auth.tokens holds ${tokens.size} token${tokens.size === 1 ? '' : 's'} in the config file; secrets belong in LOOM_SENSOR_<sensor_id> env variables or auth.token_file`);
  }
  return { tokens, origins };
}
