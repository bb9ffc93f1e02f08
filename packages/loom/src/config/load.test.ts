import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfigFile, loadConfigText } from './load.js';
import { ConfigError, type OutputConfig } from './types.js';

const env = { LOOM_SENSOR_spip01: 'test-token' };

/** The message of the ConfigError that loading `text` throws. */
function loadError(text: string, environment: NodeJS.ProcessEnv = env, tokenFileText?: string): string {
  try {
    loadConfigText(text, { env: environment, ...(tokenFileText === undefined ? {} : { tokenFileText }) });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected loading to fail');
}

function errorLines(text: string, environment: NodeJS.ProcessEnv = env): string[] {
  return loadError(text, environment).split('\n').filter((line) => !line.startsWith('warning: '));
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'loom-config-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The Go test suite's assertions (config_test).

test('a minimal config with an env token loads and maps the token to its sensor', () => {
  const { config, warnings } = loadConfigText(
    '[server]\nlisten_address = ":8080"\ntls = false\n[limits]\nmax_events_per_batch = 100\n[output]\ntype = "stdout"\n',
    { env },
  );
  assert.equal(config.auth.tokens.get('test-token'), 'spip01');
  assert.equal(config.server.listen_address, ':8080');
  assert.equal(config.limits.max_events_per_batch, 100);
  assert.deepEqual(warnings, []);
});

test('a missing config file is a read error naming the file', async () => {
  const missing = join(tmpdir(), 'loom-does-not-exist', 'loom.toml');
  await assert.rejects(loadConfigFile(missing, env), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `read config: open ${missing}: no such file or directory`);
    return true;
  });
});

test('invalid TOML is a parse error with line and column', () => {
  assert.equal(loadError('[server]\nlisten_address = = ":8080"\n'), 'parse config: line 2, column 18: invalid value');
});

test('a parse error never shows the text around it, which could hold a token', () => {
  const message = loadError('[auth.tokens]\n"s3cr3t-t0ken" = spip01\n');
  assert.match(message, /^parse config: line 2/);
  assert.doesNotMatch(message, /s3cr3t/);
});

test('no tokens at all fails validation', () => {
  assert.deepEqual(errorLines('', {}), ['auth: no tokens configured (use token_file or LOOM_SENSOR_* env)']);
});

test('tls with nonexistent cert and key files fails, naming each file', () => {
  const lines = errorLines('[server]\ntls = true\ncert_file = "/nonexistent/tls.crt"\nkey_file = "/nonexistent/tls.key"\n');
  assert.deepEqual(lines, [
    'server: cert_file "/nonexistent/tls.crt" not readable: no such file or directory',
    'server: key_file "/nonexistent/tls.key" not readable: no such file or directory',
  ]);
});

test('the outbox with stdout output fails', () => {
  assert.deepEqual(errorLines('[output]\ntype = "stdout"\n[output.outbox]\nenabled = true\n'), [
    'output: outbox requires type=clickhouse, type=elasticsearch or type=splunk_hec (output.type is "stdout")',
  ]);
});

test('outbox defaults are usable: dir set, max_bytes and flush interval positive', () => {
  const { outbox } = loadConfigText('', { env }).config.output;
  assert.equal(outbox.dir, '/var/lib/loom/outbox');
  assert.equal(outbox.max_bytes, 268435456);
  assert.equal(outbox.flush_interval_ms, 10000);
  assert.equal(outbox.enabled, false);
});

// The configs of the setup guide must keep working unchanged.

const setupGuideDevelopment = `[server]
listen_address = ":8080"
tls = false
management_listen_address = ":9080"

[limits]
max_body_size_bytes = 2097152
max_events_per_batch = 500
max_event_size_bytes = 131072
per_sensor_rps = 100

[enrichment.dns]
enabled = false

[output]
type = "stdout"

[logging]
level = "info"
format = "console"

[observability]
metrics_enabled = true
`;

const setupGuideProduction = `[server]
listen_address = ":8443"
tls = true
cert_file = "/etc/loom/tls.crt"
key_file = "/etc/loom/tls.key"
management_listen_address = ":9080"

[limits]
max_body_size_bytes = 2097152
max_events_per_batch = 500
max_event_size_bytes = 131072
per_sensor_rps = 50

[enrichment]
# Optional: download GeoLite2-City.mmdb and GeoLite2-ASN.mmdb from MaxMind
# geoip_db_path = "/var/lib/loom/GeoLite2-City.mmdb"
# asn_db_path = "/var/lib/loom/GeoLite2-ASN.mmdb"

[enrichment.dns]
enabled = false

[output]
type = "stdout"
# Or ClickHouse:
# type = "clickhouse"
# clickhouse_url = "http://localhost:8123"
# clickhouse_database = "default"
# clickhouse_table = "loom_events"
# (set LOOM_CLICKHOUSE_USER / LOOM_CLICKHOUSE_PASSWORD in env if required)
# Or Elasticsearch:
# type = "elasticsearch"
# elasticsearch_url = "https://localhost:9200"
# elasticsearch_index = "loom-events"
# (set LOOM_ELASTICSEARCH_USER / LOOM_ELASTICSEARCH_PASS in env if needed)

[logging]
level = "info"
format = "json"

[observability]
metrics_enabled = true
`;

test('the setup guide development config loads with every value and no warnings', () => {
  const { config, warnings } = loadConfigText(setupGuideDevelopment, { env: { LOOM_SENSOR_spip01: 'dev-token-please-change' } });
  assert.deepEqual(warnings, []);
  assert.equal(config.server.listen_address, ':8080');
  assert.equal(config.server.tls, false);
  assert.equal(config.server.management_listen_address, ':9080');
  assert.equal(config.limits.max_body_size_bytes, 2097152);
  assert.equal(config.limits.max_events_per_batch, 500);
  assert.equal(config.limits.max_event_size_bytes, 131072);
  assert.equal(config.limits.per_sensor_rps, 100);
  assert.equal(config.limits.per_sensor_burst, 100);
  assert.equal(config.enrichment.dns.enabled, false);
  assert.equal(config.output.type, 'stdout');
  assert.deepEqual(config.logging, { level: 'info', format: 'console' });
  assert.equal(config.observability.metrics_enabled, true);
  assert.equal(config.auth.tokens.get('dev-token-please-change'), 'spip01');
});

test('the setup guide production config is understood key by key; only its certificate paths are checked', () => {
  // Unchanged, it fails only because /etc/loom holds no certificate on this machine.
  const lines = errorLines(setupGuideProduction);
  assert.deepEqual(lines, [
    'server: cert_file "/etc/loom/tls.crt" not readable: no such file or directory',
    'server: key_file "/etc/loom/tls.key" not readable: no such file or directory',
  ]);
});

test('the setup guide production config loads with readable certificate files and no warnings', async () => {
  await withTempDir(async (dir) => {
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    await writeFile(cert, 'certificate');
    await writeFile(key, 'key');
    const text = setupGuideProduction.replace('/etc/loom/tls.crt', cert).replace('/etc/loom/tls.key', key);
    const { config, warnings } = loadConfigText(text, { env: { LOOM_SENSOR_spip01: 'your-secure-token' } });
    assert.deepEqual(warnings, []);
    assert.equal(config.server.listen_address, ':8443');
    assert.equal(config.server.tls, true);
    assert.equal(config.server.cert_file, cert);
    assert.equal(config.server.key_file, key);
    assert.equal(config.limits.per_sensor_rps, 50);
    // The guide's paths are commented out: the bundled data applies, as for any config without them.
    assert.equal(config.enrichment.geoip_db_path, undefined);
    assert.deepEqual(config.logging, { level: 'info', format: 'json' });
  });
});

// Defaults.

test('an empty config gets every default of the earlier version and of the new keys', () => {
  const { config, warnings } = loadConfigText('', { env });
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.server, {
    listen_address: ':8443',
    tls: false,
    cert_file: '',
    key_file: '',
    management_listen_address: '',
    workers: 0,
    processes: 1,
    header_timeout_seconds: 10,
    request_timeout_seconds: 30,
    idle_timeout_seconds: 120,
    max_connections: 4096,
    shutdown_timeout_seconds: 15,
  });
  assert.deepEqual(config.limits, {
    max_body_size_bytes: 2097152,
    max_events_per_batch: 500,
    max_event_size_bytes: 131072,
    per_sensor_rps: 50,
    per_sensor_burst: 50,
    per_sensor_events_rps: 0,
    max_pending_batches: 128,
  });
  assert.deepEqual(config.enrichment, {
    geoip_db_path: undefined,
    asn_db_path: undefined,
    fields: ['source'],
    cache_size: 100_000,
    max_db_age_days: 60,
    dns: {
      enabled: false, resolver_addr: '', cache_ttl_seconds: 300, max_qps: 10,
      timeout_ms: 500, max_concurrency: 64, negative_ttl_seconds: 60, cache_max_entries: 100_000,
    },
    intel: [],
    risk: {
      enabled: true,
      weights: { base: 10, intel_match: 60, sensitive_port: 10, large_transfer: 10, bad_fingerprint: 20, exploit_payload: 20, scanner_asn: 5 },
      sensitive_ports: [3389, 445],
      scanner_asns: [],
      large_transfer_bytes: 1_000_000,
    },
  });
  const { outbox, ...output } = config.output;
  assert.deepEqual(output, {
    type: 'stdout',
    name: 'stdout',
    key: 'output',
    batch_max_events: 1000,
    batch_max_bytes: 16777216,
    batch_max_wait_ms: 1000,
    request_timeout_ms: 30000,
    sync_timeout_ms: 10000,
    compression: 'auto',
    ca_file: '',
    insecure_skip_verify: false,
    dead_letter_max_bytes: 67108864,
    elasticsearch_action: 'index',
    elasticsearch_pipeline: '',
    elasticsearch_document_ids: true,
    elasticsearch_data_stream: false,
    elasticsearch_api_key: '',
    clickhouse_mode: 'event_string',
    clickhouse_dedup_token: 'auto',
    splunk_hec_url: '',
    splunk_hec_token: '',
    splunk_hec_index: '',
    splunk_hec_sourcetype: 'loom:ecs',
    splunk_hec_source: '',
    splunk_hec_ack: false,
    splunk_hec_ack_timeout_ms: 300000,
    splunk_hec_ack_poll_interval_ms: 1000,
    splunk_hec_host: '',
    splunk_hec_max_request_bytes: 1000000,
    elasticsearch_max_bulk_bytes: 5242880,
    credential_env: {},
    format: 'json',
    column_order: [],
    plaintext_field_delimiter: '\t',
    plaintext_entry_delimiter: '\n',
    file_path: '',
    file_max_size_bytes: 0,
    file_max_files: 5,
    file_fsync: true,
    elasticsearch_url: '',
    elasticsearch_index: 'loom-events',
    elasticsearch_user: '',
    elasticsearch_pass: '',
    clickhouse_url: '',
    clickhouse_database: 'default',
    clickhouse_table: 'loom_events',
    clickhouse_user: '',
    clickhouse_password: '',
  });
  assert.deepEqual(outbox, {
    enabled: false,
    dir: '/var/lib/loom/outbox',
    max_bytes: 268435456,
    flush_interval_ms: 10000,
    max_batch_size: 100,
    retry_backoff_ms: 1000,
    retry_max_backoff_ms: 30000,
    when_full: 'reject',
  });
  assert.deepEqual(config.outputs, [config.output], 'with nothing written, [output] is the one output');
  assert.deepEqual(config.logging, { level: 'info', format: 'json' });
  assert.deepEqual(config.observability, { metrics_enabled: false });
  assert.equal(config.source_path, undefined);
});

test('empty strings take the defaults, as in the earlier version', () => {
  const { config } = loadConfigText(
    '[server]\nlisten_address = ""\n[output]\ntype = ""\nelasticsearch_index = ""\nclickhouse_database = ""\nclickhouse_table = ""\n[output.outbox]\ndir = ""\n',
    { env },
  );
  assert.equal(config.server.listen_address, ':8443');
  assert.equal(config.output.type, 'stdout');
  assert.equal(config.output.elasticsearch_index, 'loom-events');
  assert.equal(config.output.clickhouse_database, 'default');
  assert.equal(config.output.clickhouse_table, 'loom_events');
  assert.equal(config.output.outbox.dir, '/var/lib/loom/outbox');
});

test('source_path is the absolute path of the config file', () => {
  assert.equal(loadConfigText('', { env, path: 'conf/loom.toml' }).config.source_path, resolve('conf/loom.toml'));
});

// Zero versus absent.

test('0 means the default for the keys where the earlier version did so', () => {
  const { config } = loadConfigText(
    '[limits]\nmax_body_size_bytes = 0\nmax_events_per_batch = 0\nmax_event_size_bytes = 0\nper_sensor_rps = 0\nper_sensor_burst = 0\nmax_pending_batches = 0\n' +
      '[enrichment.dns]\nmax_qps = 0\n[output.outbox]\nflush_interval_ms = 0\nmax_batch_size = 0\nretry_backoff_ms = 0\nretry_max_backoff_ms = 0\n',
    { env },
  );
  assert.equal(config.limits.max_body_size_bytes, 2097152);
  assert.equal(config.limits.max_events_per_batch, 500);
  assert.equal(config.limits.max_event_size_bytes, 131072);
  assert.equal(config.limits.per_sensor_rps, 50);
  assert.equal(config.limits.per_sensor_burst, 50);
  assert.equal(config.limits.max_pending_batches, 128);
  assert.equal(config.enrichment.dns.max_qps, 10);
  assert.equal(config.output.outbox.flush_interval_ms, 10000);
  assert.equal(config.output.outbox.max_batch_size, 100);
  assert.equal(config.output.outbox.retry_backoff_ms, 1000);
  assert.equal(config.output.outbox.retry_max_backoff_ms, 30000);
});

test('a written 0 keeps its own meaning where it has one', () => {
  const { config } = loadConfigText(
    '[server]\nworkers = 0\n[limits]\nper_sensor_events_rps = 0\n[enrichment.dns]\ncache_ttl_seconds = 0\n[output]\nfile_max_size_bytes = 0\n[output.outbox]\nmax_bytes = 0\n',
    { env },
  );
  assert.equal(config.output.outbox.max_bytes, 0, 'written 0 = unlimited outbox');
  assert.equal(config.enrichment.dns.cache_ttl_seconds, 0, 'written 0 = no DNS cache');
  assert.equal(config.server.workers, 0);
  assert.equal(config.limits.per_sensor_events_rps, 0);
  assert.equal(config.output.file_max_size_bytes, 0);
});

test('negative values that mean "no limit" are kept', () => {
  const { config } = loadConfigText('[limits]\nper_sensor_rps = -1\nper_sensor_events_rps = -1\n[enrichment.dns]\nmax_qps = -1\n', { env });
  assert.equal(config.limits.per_sensor_rps, -1);
  assert.equal(config.limits.per_sensor_burst, -1);
  assert.equal(config.limits.per_sensor_events_rps, 0);
  assert.equal(config.enrichment.dns.max_qps, -1);
});

test('per_sensor_burst defaults to per_sensor_rps and can be set on its own', () => {
  assert.equal(loadConfigText('[limits]\nper_sensor_rps = 7\n', { env }).config.limits.per_sensor_burst, 7);
  const { config } = loadConfigText('[limits]\nper_sensor_rps = 7\nper_sensor_burst = 20\n', { env });
  assert.equal(config.limits.per_sensor_burst, 20);
});

test('a burst next to a disabled rate limit is accepted with a warning', () => {
  const { warnings } = loadConfigText('[limits]\nper_sensor_rps = -1\nper_sensor_burst = 20\n', { env });
  assert.deepEqual(warnings, ['limits.per_sensor_burst is ignored: limits.per_sensor_rps is negative, which disables the request rate limit']);
});

// Error messages name the key.

test('type errors name the full key, the expected type and what was written', () => {
  assert.deepEqual(
    errorLines('[server]\ntls = "true"\nworkers = 1.5\n[limits]\nmax_body_size_bytes = "2MB"\n[output]\nkafka_brokers = [1]\n[observability]\nmetrics_enabled = 1\n'),
    [
      'server.tls: expected a boolean (true or false), got string "true"',
      'server.workers: expected an integer, got float 1.5',
      'limits.max_body_size_bytes: expected an integer, got string "2MB"',
      'output.kafka_brokers: expected an array of strings, got array',
      'observability.metrics_enabled: expected a boolean (true or false), got integer 1',
    ],
  );
});

test('a table written as a value is reported once, by its key', () => {
  assert.deepEqual(errorLines('server = "x"\n'), ['server: expected a table, got string "x"']);
  assert.deepEqual(errorLines('[output]\noutbox = 5\n'), ['output.outbox: expected a table, got integer 5']);
});

test('a wrongly typed credential is reported without its value', () => {
  const message = loadError('[output]\nclickhouse_password = 987654321\n');
  assert.match(message, /^output\.clickhouse_password: expected a string, got integer$/m);
  assert.doesNotMatch(message, /987654321/);
});

test('whole-number floats are accepted, out-of-range integers are reported by key', () => {
  assert.equal(loadConfigText('[limits]\nmax_body_size_bytes = 1e6\n', { env }).config.limits.max_body_size_bytes, 1000000);
  assert.deepEqual(errorLines('[limits]\nmax_events_per_batch = 99999999999999999999\n'), [
    'limits.max_events_per_batch: 99999999999999999999 is too large',
  ]);
});

test('range errors name the key and the value', () => {
  assert.deepEqual(
    errorLines(
      '[server]\nworkers = -2\nheader_timeout_seconds = 0\nmax_connections = -1\n' +
        '[limits]\nmax_body_size_bytes = -1\nmax_events_per_batch = -5\nmax_event_size_bytes = 300000000\nper_sensor_burst = -3\n' +
        '[enrichment.dns]\ncache_ttl_seconds = -1\n[output]\nfile_max_files = 0\nfile_max_size_bytes = -1\n',
    ),
    [
      'server.workers: must be >= 0, got -2',
      'server.header_timeout_seconds: must be > 0, got 0',
      'server.max_connections: must be > 0, got -1',
      'limits.max_body_size_bytes: must be > 0, got -1',
      'limits.max_events_per_batch: must be > 0, got -5',
      'limits.max_event_size_bytes: must be at most 268435456, got 300000000',
      'limits.per_sensor_burst: must be > 0, got -3',
      'enrichment.dns.cache_ttl_seconds: must be >= 0, got -1',
      'output.file_max_size_bytes: must be >= 0, got -1',
      'output.file_max_files: must be > 0, got 0',
    ],
  );
});

test('negative outbox values keep the earlier wording', () => {
  assert.deepEqual(
    errorLines(
      '[output]\ntype = "clickhouse"\nclickhouse_url = "http://localhost:8123"\n[output.outbox]\nmax_bytes = -1\nflush_interval_ms = -1\nmax_batch_size = -1\nretry_backoff_ms = -1\nretry_max_backoff_ms = -2\n',
    ),
    [
      'output.outbox: max_bytes must be >= 0, got -1',
      'output.outbox: flush_interval_ms must be >= 0, got -1',
      'output.outbox: max_batch_size must be >= 0, got -1',
      'output.outbox: retry backoff values must be >= 0, got retry_backoff_ms = -1',
      'output.outbox: retry backoff values must be >= 0, got retry_max_backoff_ms = -2',
    ],
  );
});

test('a header timeout longer than the request timeout is an error', () => {
  assert.deepEqual(errorLines('[server]\nheader_timeout_seconds = 40\n'), [
    'server.header_timeout_seconds: 40 must not exceed server.request_timeout_seconds (30)',
  ]);
});

test('listen addresses must be host:port', () => {
  assert.deepEqual(errorLines('[server]\nlisten_address = "8080"\nmanagement_listen_address = "::1:9080"\n'), [
    'server.listen_address: "8080" is not host:port (examples ":8443", "127.0.0.1:8080", "[::1]:8080")',
    'server.management_listen_address: "::1:9080" is not host:port (examples ":8443", "127.0.0.1:8080", "[::1]:8080")',
  ]);
  for (const good of [':8443', '127.0.0.1:8080', '[::1]:8080', 'localhost:0']) {
    assert.equal(loadConfigText(`[server]\nlisten_address = "${good}"\n`, { env }).config.server.listen_address, good);
  }
});

test('the management server cannot share the ingest port', () => {
  assert.deepEqual(errorLines('[server]\nlisten_address = ":8080"\nmanagement_listen_address = "127.0.0.1:8080"\n'), [
    'server.management_listen_address: "127.0.0.1:8080" is the same port as server.listen_address ":8080"',
  ]);
  const { config } = loadConfigText('[server]\nlisten_address = "127.0.0.1:8080"\nmanagement_listen_address = "127.0.0.2:8080"\n', { env });
  assert.equal(config.server.management_listen_address, '127.0.0.2:8080');
});

test('the DNS resolver takes an IP with an optional port', () => {
  const resolver = (value: string): string =>
    loadConfigText(`[enrichment.dns]\nresolver_addr = "${value}"\n`, { env }).config.enrichment.dns.resolver_addr;
  assert.equal(resolver('127.0.0.1:53'), '127.0.0.1:53');
  assert.equal(resolver('9.9.9.9'), '9.9.9.9:53');
  assert.equal(resolver('2001:db8::53'), '[2001:db8::53]:53');
  assert.equal(resolver('[2001:db8::53]:5353'), '[2001:db8::53]:5353');
  assert.deepEqual(errorLines('[enrichment.dns]\nresolver_addr = "dns.example:53"\n'), [
    'enrichment.dns.resolver_addr: "dns.example:53" is not an IP address with an optional port (examples "127.0.0.1:53", "[2001:db8::53]:53", "9.9.9.9")',
  ]);
});

test('every problem is reported at once, in the order of the checks', () => {
  const lines = errorLines(
    '[server]\ntls = true\n[limits]\nmax_events_per_batch = -5\n[output]\ntype = "clickhouse"\n[output.outbox]\nenabled = true\n',
    {},
  );
  assert.deepEqual(lines, [
    'limits.max_events_per_batch: must be > 0, got -5',
    'server: tls enabled but cert_file or key_file missing',
    'auth: no tokens configured (use token_file or LOOM_SENSOR_* env)',
    'output: clickhouse_url required when type=clickhouse',
  ]);
});

// Output types.

test('output types: unknown, kafka and the per-type requirements', () => {
  assert.deepEqual(errorLines('[output]\ntype = "mongodb"\n'), ['output: unknown type "mongodb" (use stdout, file, clickhouse, elasticsearch or splunk_hec)']);
  assert.deepEqual(errorLines('[output]\ntype = "kafka"\nkafka_brokers = ["k:9092"]\nkafka_topic = "t"\n'), [
    'output.type: "kafka" is not supported (use stdout, file, clickhouse, elasticsearch or splunk_hec)',
  ]);
  assert.deepEqual(errorLines('[output]\ntype = "file"\n'), ['output: file_path required when type=file']);
  assert.deepEqual(errorLines('[output]\ntype = "elasticsearch"\n'), ['output: elasticsearch_url required when type=elasticsearch']);
  assert.deepEqual(errorLines('[output]\ntype = "clickhouse"\n'), ['output: clickhouse_url required when type=clickhouse']);
});

test('output URLs must be http(s), and an invalid one is shown without its credentials', () => {
  const lines = errorLines('[output]\ntype = "clickhouse"\nclickhouse_url = "ftp://admin:hunter2@db:8123"\n');
  assert.deepEqual(lines, ['output.clickhouse_url: "ftp://<redacted>@db:8123" is not an http:// or https:// URL']);
  assert.deepEqual(errorLines('[output]\ntype = "elasticsearch"\nelasticsearch_url = "localhost:9200"\n'), [
    'output.elasticsearch_url: "localhost:9200" is not an http:// or https:// URL',
  ]);
});

test('an invalid Elasticsearch index name is an error', () => {
  assert.deepEqual(errorLines('[output]\ntype = "elasticsearch"\nelasticsearch_url = "http://es:9200"\nelasticsearch_index = "Loom Events"\n'), [
    'output.elasticsearch_index: "Loom Events" is not a valid index name (lowercase; none of \\ / * ? " < > | , # : or spaces; not starting with -, _ or +)',
  ]);
});

test('the file output resolves its path and keeps its rotation settings', () => {
  const { config } = loadConfigText('[output]\ntype = "file"\nfile_path = "events/loom.ndjson"\nfile_max_size_bytes = 1048576\nfile_max_files = 3\nfile_fsync = false\n', { env });
  assert.equal(config.output.type, 'file');
  assert.equal(config.output.file_path, resolve('events/loom.ndjson'));
  assert.equal(config.output.file_max_size_bytes, 1048576);
  assert.equal(config.output.file_max_files, 3);
  assert.equal(config.output.file_fsync, false);
});

test('ClickHouse with the outbox loads, with its defaults and env credentials', () => {
  const { config } = loadConfigText(
    '[output]\ntype = "clickhouse"\nclickhouse_url = "http://localhost:8123"\nclickhouse_user = "file-user"\n[output.outbox]\nenabled = true\ndir = "spool"\n',
    { env: { ...env, LOOM_CLICKHOUSE_USER: 'env-user', LOOM_CLICKHOUSE_PASSWORD: 'env-pass' } },
  );
  assert.equal(config.output.clickhouse_database, 'default');
  assert.equal(config.output.clickhouse_table, 'loom_events');
  assert.equal(config.output.clickhouse_user, 'env-user');
  assert.equal(config.output.clickhouse_password, 'env-pass');
  assert.equal(config.output.outbox.enabled, true);
  assert.equal(config.output.outbox.dir, resolve('spool'));
});

test('empty credential variables do not override the file', () => {
  const { config } = loadConfigText(
    '[output]\ntype = "elasticsearch"\nelasticsearch_url = "https://es:9200"\nelasticsearch_user = "u"\nelasticsearch_pass = "p"\n',
    { env: { ...env, LOOM_ELASTICSEARCH_USER: '', LOOM_ELASTICSEARCH_PASS: 'env-pass' } },
  );
  assert.equal(config.output.elasticsearch_user, 'u');
  assert.equal(config.output.elasticsearch_pass, 'env-pass');
  assert.equal(config.output.elasticsearch_index, 'loom-events');
});

test('Elasticsearch with only a user warns that no basic auth is sent', () => {
  const { warnings } = loadConfigText('[output]\ntype = "elasticsearch"\nelasticsearch_url = "https://es:9200"\nelasticsearch_user = "u"\n', { env });
  assert.deepEqual(warnings, ['output.elasticsearch_user and output.elasticsearch_pass: only one is set, so requests are sent without basic auth (both are needed)']);
});

test('the outbox works with Elasticsearch too', () => {
  const { config } = loadConfigText('[output]\ntype = "elasticsearch"\nelasticsearch_url = "https://es:9200"\n[output.outbox]\nenabled = true\n', { env });
  assert.equal(config.output.outbox.enabled, true);
});

test('kafka keys next to another output are ignored with a warning', () => {
  const { warnings } = loadConfigText('[output]\nkafka_brokers = ["k:9092"]\nkafka_topic = "events"\n', { env });
  assert.deepEqual(warnings, ['output.kafka_brokers and output.kafka_topic are ignored: there is no kafka output']);
});

// Logging.

test('an unknown log level or format falls back with a warning naming the key', () => {
  const { config, warnings } = loadConfigText('[logging]\nlevel = "verbose"\nformat = "xml"\n', { env });
  assert.deepEqual(config.logging, { level: 'info', format: 'json' });
  assert.deepEqual(warnings, [
    'logging.level: "verbose" is not one of debug, info, warn, error; using "info"',
    'logging.format: "xml" is not one of json, console; using "json"',
  ]);
});

test('log level and format are case-insensitive', () => {
  const { config, warnings } = loadConfigText('[logging]\nlevel = "DEBUG"\nformat = "Console"\n', { env });
  assert.deepEqual(config.logging, { level: 'debug', format: 'console' });
  assert.deepEqual(warnings, []);
});

// Unknown keys.

test('unknown keys are warnings with a suggestion, never errors', () => {
  const { warnings } = loadConfigText(
    '[server]\nlisten_adress = ":8080"\nmax_body_size_bytes = 5\n[limit]\nx = 1\n[enrichment.dns]\nenable = true\n[whatever]\nfoo = 1\n',
    { env },
  );
  assert.deepEqual(warnings, [
    'unknown key "server.listen_adress" (ignored; did you mean "server.listen_address"?)',
    'unknown key "server.max_body_size_bytes" (ignored; did you mean "limits.max_body_size_bytes"?)',
    'unknown key "limit" (ignored; did you mean "limits"?)',
    'unknown key "enrichment.dns.enable" (ignored; did you mean "enrichment.dns.enabled"?)',
    'unknown key "whatever" (ignored)',
  ]);
});

test('an unknown-key warning comes with the error it may explain', () => {
  const message = loadError('[output]\ntype = "clickhouse"\nclickhouse_ur = "http://localhost:8123"\n');
  assert.equal(
    message,
    'output: clickhouse_url required when type=clickhouse\nwarning: unknown key "output.clickhouse_ur" (ignored; did you mean "output.clickhouse_url"?)',
  );
});

// TLS.

test('tls with readable files loads; a directory is not a readable file', async () => {
  await withTempDir(async (dir) => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await writeFile(cert, 'c');
    await writeFile(key, 'k');
    const { config } = loadConfigText(`[server]\ntls = true\ncert_file = "${cert}"\nkey_file = "${key}"\n`, { env });
    assert.equal(config.server.tls, true);
    assert.deepEqual(errorLines(`[server]\ntls = true\ncert_file = "${dir}"\nkey_file = "${key}"\n`), [
      `server: cert_file "${dir}" not readable: is a directory`,
    ]);
  });
});

test('tls = true needs both files', () => {
  assert.deepEqual(errorLines('[server]\ntls = true\ncert_file = "/x/cert.pem"\n'), ['server: tls enabled but cert_file or key_file missing']);
});

test('tls absent with cert and key set means HTTPS, as those configs got before', async () => {
  await withTempDir(async (dir) => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await writeFile(cert, 'c');
    await writeFile(key, 'k');
    const { config, warnings } = loadConfigText(`[server]\ncert_file = "${cert}"\nkey_file = "${key}"\n`, { env });
    assert.equal(config.server.tls, true);
    assert.deepEqual(warnings, [
      'server.tls is not set but server.cert_file and server.key_file are: serving HTTPS as earlier versions did (write tls = true to make this explicit)',
    ]);
  });
});

test('tls absent with cert and key set still requires the files to be readable', () => {
  assert.deepEqual(errorLines('[server]\ncert_file = "/nonexistent/c.pem"\nkey_file = "/nonexistent/k.pem"\n'), [
    'server: cert_file "/nonexistent/c.pem" not readable: no such file or directory',
    'server: key_file "/nonexistent/k.pem" not readable: no such file or directory',
  ]);
});

test('tls = false written with cert and key set means plain HTTP, with a warning naming the keys', () => {
  const { config, warnings } = loadConfigText('[server]\ntls = false\ncert_file = "/nonexistent/c.pem"\nkey_file = "/nonexistent/k.pem"\n', { env });
  assert.equal(config.server.tls, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /^server\.tls = false although server\.cert_file and server\.key_file are set: serving plain HTTP/);
});

test('only one of cert and key with tls absent means plain HTTP with a warning', () => {
  const { config, warnings } = loadConfigText('[server]\nkey_file = "/nonexistent/k.pem"\n', { env });
  assert.equal(config.server.tls, false);
  assert.deepEqual(warnings, ['server.key_file is set without server.cert_file: serving plain HTTP']);
});

test('relative paths resolve against the working directory', () => {
  const { config } = loadConfigText(
    '[server]\ntls = false\ncert_file = "c.pem"\nkey_file = "k.pem"\n[auth]\ntoken_file = "tokens.txt"\n[enrichment]\n[output.outbox]\ndir = "./outbox"\n',
    { env: {}, tokenFileText: 't1,sensor-a\n' },
  );
  assert.equal(config.server.cert_file, resolve('c.pem'));
  assert.equal(config.server.key_file, resolve('k.pem'));
  assert.equal(config.auth.token_file, resolve('tokens.txt'));
  assert.equal(config.output.outbox.dir, resolve('outbox'));
});

test('configured GeoIP and ASN databases must be readable', () => {
  assert.deepEqual(errorLines('[enrichment]\ngeoip_db_path = "/nonexistent/City.mmdb"\nasn_db_path = "/nonexistent/ASN.mmdb"\n'), [
    'enrichment.geoip_db_path: "/nonexistent/City.mmdb" not readable: no such file or directory',
    'enrichment.asn_db_path: "/nonexistent/ASN.mmdb" not readable: no such file or directory',
  ]);
});

// Tokens through the loader.

test('tokens merge from [auth.tokens], env and the token file, with origins', () => {
  const { config, warnings } = loadConfigText('[auth]\ntoken_file = "/etc/loom/tokens.txt"\n[auth.tokens]\n"inline-token" = "sensor-c"\n', {
    env: { LOOM_SENSOR_spip_001: 'env-token' },
    tokenFileText: 'file-token,sensor-b\n',
  });
  assert.deepEqual([...config.auth.tokens].sort(), [['env-token', 'spip-001'], ['file-token', 'sensor-b'], ['inline-token', 'sensor-c']]);
  assert.equal(config.auth.token_origins.get('env-token'), 'env LOOM_SENSOR_spip_001');
  assert.equal(config.auth.token_origins.get('file-token'), 'token_file line 1');
  assert.equal(config.auth.token_origins.get('inline-token'), 'auth.tokens');
  assert.deepEqual(warnings, [
    'auth.tokens holds 1 token in the config file; secrets belong in LOOM_SENSOR_<sensor_id> env variables or auth.token_file',
  ]);
  assert.ok(warnings.every((warning) => !warning.includes('inline-token')));
});

test('a token file entry overrides an env entry with the same token', () => {
  const { config } = loadConfigText('[auth]\ntoken_file = "t.txt"\n', { env: { LOOM_SENSOR_old: 'shared' }, tokenFileText: 'shared,new\n' });
  assert.equal(config.auth.tokens.get('shared'), 'new');
  assert.equal(config.auth.tokens.size, 1);
});

test('a sensor with tokens in env and file is an error that shows origins, not tokens', () => {
  const message = loadError('[auth]\ntoken_file = "t.txt"\n', { LOOM_SENSOR_spip01: 'first-secret' }, 'second-secret,spip01\n');
  assert.equal(message, 'auth: sensor "spip01" has multiple tokens (env LOOM_SENSOR_spip01, token_file line 1)');
  assert.doesNotMatch(message, /secret/);
});

test('[auth.tokens] entries must map to string sensor ids', () => {
  const message = loadError('[auth.tokens]\n"tok-value" = 5\n', {});
  assert.match(message, /^auth\.tokens: values must be sensor ids \(strings\), got integer 5$/m);
  assert.doesNotMatch(message, /tok-value/);
});

test('an empty LOOM_SENSOR_ suffix is skipped with a warning', () => {
  const { config, warnings } = loadConfigText('', { env: { ...env, LOOM_SENSOR_: 'orphan' } });
  assert.equal(config.auth.tokens.size, 1);
  assert.deepEqual(warnings, ['env LOOM_SENSOR_ has no sensor id after the prefix (ignored; use LOOM_SENSOR_<sensor_id>)']);
});

test('loadConfigFile reads the token file, checks its mode and resolves source_path', async () => {
  await withTempDir(async (dir) => {
    const tokens = join(dir, 'tokens.txt');
    await writeFile(tokens, '# sensors\nfile-token,sensor-1\n');
    await chmod(tokens, 0o644);
    const configPath = join(dir, 'loom.toml');
    await writeFile(configPath, `[auth]\ntoken_file = "${tokens}"\n`);
    const { config, warnings } = await loadConfigFile(configPath, {});
    assert.equal(config.source_path, configPath);
    assert.equal(config.auth.tokens.get('file-token'), 'sensor-1');
    assert.deepEqual(warnings, [
      `auth.token_file ${JSON.stringify(tokens)} is readable by group or others (mode 0644); tokens are secrets: chmod 600 it`,
    ]);
    await chmod(tokens, 0o600);
    assert.deepEqual((await loadConfigFile(configPath, {})).warnings, []);
  });
});

test('loadConfigFile reports an unreadable token file once, without "no tokens"', async () => {
  await withTempDir(async (dir) => {
    const configPath = join(dir, 'loom.toml');
    const missing = join(dir, 'missing.txt');
    await writeFile(configPath, `[auth]\ntoken_file = "${missing}"\n`);
    await assert.rejects(loadConfigFile(configPath, {}), {
      name: 'ConfigError',
      message: `auth token_file: open ${missing}: no such file or directory`,
    });
  });
});

test('loadConfigFile checks TLS files asynchronously with the same messages', async () => {
  await withTempDir(async (dir) => {
    const configPath = join(dir, 'loom.toml');
    const cert = join(dir, 'cert.pem');
    await writeFile(cert, 'c');
    await writeFile(configPath, `[server]\ntls = true\ncert_file = "${cert}"\nkey_file = "${join(dir, 'nokey.pem')}"\n`);
    await assert.rejects(loadConfigFile(configPath, env), {
      message: `server: key_file "${join(dir, 'nokey.pem')}" not readable: no such file or directory`,
    });
    await writeFile(join(dir, 'nokey.pem'), 'k');
    assert.equal((await loadConfigFile(configPath, env)).config.server.tls, true);
  });
});

test('a byte order mark and CRLF line endings are accepted', () => {
  const { config } = loadConfigText('\uFEFF[server]\r\nlisten_address = ":9000"\r\n', { env });
  assert.equal(config.server.listen_address, ':9000');
});

test('database paths: absent selects the bundled data, "" switches the lookup off', () => {
  const absent = loadConfigText('', { env }).config.enrichment;
  assert.equal(absent.geoip_db_path, undefined);
  assert.equal(absent.asn_db_path, undefined);
  const off = loadConfigText('[enrichment]\ngeoip_db_path = ""\nasn_db_path = ""\n', { env }).config.enrichment;
  assert.equal(off.geoip_db_path, '');
  assert.equal(off.asn_db_path, '');
});

test('enrichment fields, intel lists and risk weights are checked key by key', () => {
  assert.deepEqual(errorLines('[enrichment]\nfields = ["source", "sauce"]\n'), [
    'enrichment.fields: "sauce" is not an address field (use "source", "destination")',
  ]);
  const lists = '[[enrichment.intel]]\nname = "a"\npath = "/nonexistent/a.txt"\nkind = "domain"\nconfidence = 101\n[[enrichment.intel]]\nname = "a"\n';
  const lines = errorLines(lists);
  assert.ok(lines.includes('enrichment.intel[0].kind: "domain" is not one of auto, ip, ja4, ja3, hassh, ja4h'), lines.join('\n'));
  assert.ok(lines.includes('enrichment.intel[0].confidence: expected an integer 0..100, got integer 101'), lines.join('\n'));
  assert.ok(lines.includes('enrichment.intel[1].name: "a" is used by another list'), lines.join('\n'));
  assert.ok(lines.includes('enrichment.intel[1].path: every intel list needs a file path'), lines.join('\n'));
  assert.ok(lines.some((line) => line.startsWith('enrichment.intel[0].path: "/nonexistent/a.txt" not readable')), lines.join('\n'));
  assert.deepEqual(errorLines('[enrichment.risk.weights]\nintel = 5\nbase = "high"\n'), [
    'enrichment.risk.weights.intel: no such rule (rules: base, intel_match, sensitive_port, large_transfer, bad_fingerprint, exploit_payload, scanner_asn)',
    'enrichment.risk.weights.base: expected an integer -100..100, got string "high"',
  ]);
  const custom = loadConfigText('[enrichment.risk.weights]\nintel_match = 80\n[enrichment.risk]\nscanner_asns = [398324]\n', { env }).config.enrichment.risk;
  assert.equal(custom.weights.intel_match, 80);
  assert.equal(custom.weights.base, 10);
  assert.deepEqual(custom.scanner_asns, [398324]);
});

test('an unknown key inside an intel list is a warning naming its position', () => {
  const { warnings } = loadConfigText('[[enrichment.intel]]\nname = "a"\npath = "/etc/hostname"\ncategroy = "x"\n', { env });
  assert.match(warnings.join('\n'), /unknown key "enrichment\.intel\[0\]\.categroy" \(ignored; did you mean "enrichment\.intel\[0\]\.category"\?\)/);
});

test('[[outputs]] entries: names, per-type defaults, their own credentials, and errors naming outputs[i]', () => {
  const { config } = loadConfigText(`
[[outputs]]
type = "clickhouse"
clickhouse_url = "http://127.0.0.1:8123"
clickhouse_password_env = "CH_ARCHIVE_PASSWORD"

[[outputs]]
name = "es-hot"
type = "elasticsearch"
elasticsearch_url = "https://127.0.0.1:9200"
elasticsearch_index = "loom-%{+yyyy.MM.dd}"
[outputs.outbox]
max_bytes = 1048576
when_full = "drop_oldest"
`, { env: { ...env, CH_ARCHIVE_PASSWORD: 'from-its-own-variable', LOOM_ELASTICSEARCH_API_KEY: 'api-key' } });
  assert.deepEqual(config.outputs.map((o) => [o.key, o.name, o.type]), [['outputs[0]', 'clickhouse', 'clickhouse'], ['outputs[1]', 'es-hot', 'elasticsearch']]);
  const [clickhouse, elasticsearch] = config.outputs as [OutputConfig, OutputConfig];
  assert.equal(clickhouse.clickhouse_password, 'from-its-own-variable');
  assert.equal(clickhouse.batch_max_events, 10000, 'ClickHouse wants large inserts');
  assert.equal(clickhouse.outbox.enabled, true, 'network outputs have an outbox unless switched off');
  assert.equal(elasticsearch.batch_max_events, 2000);
  assert.equal(elasticsearch.elasticsearch_api_key, 'api-key');
  assert.equal(elasticsearch.outbox.max_bytes, 1048576);
  assert.equal(elasticsearch.outbox.when_full, 'drop_oldest');

  assert.deepEqual(errorLines(`
[[outputs]]
type = "file"
[[outputs]]
name = "a"
type = "splunk_hec"
splunk_hec_url = "ftp://x"
[[outputs]]
name = "a"
type = "stdout"
[[outputs]]
name = "Bad Name"
type = "clickhouse"
clickhouse_url = "http://x:8123"
clickhouse_table = "events; DROP TABLE x"
`), [
    'outputs[0]: file_path required when type=file',
    'outputs[1].splunk_hec_url: "ftp://x" is not an http:// or https:// URL',
    'outputs[3].clickhouse_table: "events; DROP TABLE x" is not a plain identifier (letters, digits, _)',
    'outputs[2].name: "a" is already the name of outputs[1]; give each output its own name',
    'outputs[3].name: "Bad Name" must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit',
    'outputs[1]: the HEC token comes from the environment: set LOOM_SPLUNK_HEC_TOKEN',
  ]);
});

test('[outputs.<name>] sections: the section name is the output name; unknown keys are named by section', () => {
  const { config, warnings } = loadConfigText(`
[output]
type = "stdout"

[outputs.archive]
type = "file"
file_path = "/var/log/loom/archive.ndjson"
file_fsnyc = false

[outputs.warehouse]
type = "clickhouse"
clickhouse_url = "http://127.0.0.1:8123"
[outputs.warehouse.outbox]
max_bytes = 1048576
`, { env });
  assert.deepEqual(config.outputs.map((o) => [o.key, o.name, o.type]), [['output', 'stdout', 'stdout'], ['outputs.archive', 'archive', 'file'], ['outputs.warehouse', 'warehouse', 'clickhouse']]);
  assert.equal(config.outputs[2]?.outbox.max_bytes, 1048576);
  assert.deepEqual(warnings, ['unknown key "outputs.archive.file_fsnyc" (ignored; did you mean "outputs.archive.file_fsync"?)']);
  assert.deepEqual(errorLines('[outputs.a]\ntype = "clickhouse"\nname = "b"\nclickhouse_url = "http://x:1"\n[outputs.c]\ntype = "file"\n'), [
    'outputs.a.name: "b" differs from the section name "a"; leave name out of [outputs.<name>] sections',
    'outputs.c: file_path required when type=file',
  ]);
  assert.deepEqual(errorLines('outputs = 3\n'), ['outputs: expected tables ([outputs.<name>] sections or [[outputs]] entries), got integer 3']);
});

test('file record formats: plaintext needs columns and delimiters that cannot be confused', () => {
  const { config } = loadConfigText('[output]\ntype = "file"\nfile_path = "/tmp/x"\nformat = "plaintext"\ncolumn_order = ["timestamp", "source_ip"]\nplaintext_field_delimiter = "|"\n', { env });
  assert.equal(config.output.format, 'plaintext');
  assert.deepEqual(config.output.column_order, ['timestamp', 'source_ip']);
  assert.equal(config.output.plaintext_entry_delimiter, '\n');
  assert.deepEqual(errorLines('[output]\ntype = "file"\nfile_path = "/tmp/x"\nformat = "plaintext"\nplaintext_field_delimiter = "\\n\\n"\n'), [
    'output.column_order: required when format = "plaintext" (the fields to write, in order)',
    'output.plaintext_field_delimiter "\\n\\n" and plaintext_entry_delimiter "\\n": one contains the other, so records could not be split back',
  ]);
  assert.deepEqual(errorLines('[output]\ntype = "file"\nfile_path = "/tmp/x"\ncolumn_order = ["a", "a", " "]\n'), [
    'output.column_order: "a" is listed twice',
    'output.column_order: empty column name',
  ]);
});
