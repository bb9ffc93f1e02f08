import {
  TomlValues as BaseTomlValues,
  unknownKeyWarnings as baseUnknownKeyWarnings,
  type TableSpec,
  type TomlTable,
} from '@loom/toml-config';
import { netflowSpec } from '../sources/netflow/config.js';
import { tcpJsonSpec } from '../sources/tcp-json/config.js';
import { zeekSpec } from '../sources/zeek/config.js';

export { describeValue, isTable, type TableSpec, type TomlTable } from '@loom/toml-config';

const outputSpec: TableSpec = {
  type: 'string',
  name: 'string',
  batch_max_events: 'integer',
  batch_max_bytes: 'integer',
  batch_max_wait_ms: 'integer',
  request_timeout_ms: 'integer',
  sync_timeout_ms: 'integer',
  compression: 'boolean',
  ca_file: 'string',
  insecure_skip_verify: 'boolean',
  dead_letter_max_bytes: 'integer',
  file_path: 'string',
  file_max_size_bytes: 'integer',
  file_max_files: 'integer',
  file_fsync: 'boolean',
  format: 'string',
  column_order: 'string-array',
  plaintext_field_delimiter: 'string',
  plaintext_entry_delimiter: 'string',
  elasticsearch_url: 'string',
  elasticsearch_index: 'string',
  elasticsearch_user: 'string',
  elasticsearch_pass: 'string',
  elasticsearch_pass_env: 'string',
  elasticsearch_api_key_env: 'string',
  elasticsearch_action: 'string',
  elasticsearch_pipeline: 'string',
  elasticsearch_document_ids: 'boolean',
  elasticsearch_max_bulk_bytes: 'integer',
  elasticsearch_data_stream: 'boolean',
  clickhouse_url: 'string',
  clickhouse_database: 'string',
  clickhouse_table: 'string',
  clickhouse_user: 'string',
  clickhouse_password: 'string',
  clickhouse_password_env: 'string',
  clickhouse_mode: 'string',
  clickhouse_dedup_token: 'string',
  splunk_hec_url: 'string',
  splunk_hec_token_env: 'string',
  splunk_hec_index: 'string',
  splunk_hec_sourcetype: 'string',
  splunk_hec_source: 'string',
  splunk_hec_ack: 'boolean',
  splunk_hec_ack_timeout_ms: 'integer',
  splunk_hec_ack_poll_interval_ms: 'integer',
  splunk_hec_host: 'string',
  splunk_hec_max_request_bytes: 'integer',
  kafka_brokers: 'string-array',
  kafka_topic: 'string',
  outbox: {
    enabled: 'boolean',
    dir: 'string',
    max_bytes: 'integer',
    when_full: 'string',
    flush_interval_ms: 'integer',
    max_batch_size: 'integer',
    retry_backoff_ms: 'integer',
    retry_max_backoff_ms: 'integer',
  },
};

/** Every key Loom reads. Keys the earlier Go version read keep their names and meaning. */
export const schema: TableSpec = {
  server: {
    listen_address: 'string',
    tls: 'boolean',
    cert_file: 'string',
    key_file: 'string',
    management_listen_address: 'string',
    workers: 'integer',
    processes: 'integer',
    header_timeout_seconds: 'integer',
    request_timeout_seconds: 'integer',
    idle_timeout_seconds: 'integer',
    max_connections: 'integer',
    shutdown_timeout_seconds: 'integer',
  },
  auth: {
    token_file: 'string',
    tokens: 'free-table',
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
    fields: 'string-array',
    cache_size: 'integer',
    max_db_age_days: 'integer',
    dns: {
      enabled: 'boolean',
      resolver_addr: 'string',
      cache_ttl_seconds: 'integer',
      max_qps: 'integer',
      timeout_ms: 'integer',
      max_concurrency: 'integer',
      negative_ttl_seconds: 'integer',
      cache_max_entries: 'integer',
    },
    intel: [{ name: 'string', path: 'string', kind: 'string', format: 'string', category: 'string', confidence: 'integer' }],
    risk: {
      enabled: 'boolean',
      weights: 'free-table',
      sensitive_ports: 'integer-array',
      scanner_asns: 'integer-array',
      large_transfer_bytes: 'integer',
    },
  },
  output: outputSpec,
  outputs: [outputSpec],
  inputs: {
    netflow: netflowSpec,
    zeek: zeekSpec,
    tcp_json: tcpJsonSpec,
  },
  logging: {
    level: 'string',
    format: 'string',
  },
  observability: {
    metrics_enabled: 'boolean',
  },
  shared_state: {
    redis_url: 'string',
    redis_password_env: 'string',
    key_prefix: 'string',
    timeout_ms: 'integer',
    ca_file: 'string',
  },
};

/** Keys of an output table whose values are credentials. */
const outputSecretKeys = ['elasticsearch_user', 'elasticsearch_pass', 'clickhouse_user', 'clickhouse_password'];

/** Values of these keys are credentials: messages may name the key but never show the value. */
export function secretKeysOf(outputKey = 'output'): Set<string> {
  return new Set(['auth.tokens', ...outputSecretKeys.map((key) => `${outputKey}.${key}`)]);
}

/** Typed access to a Loom config, never showing the values of secret keys in messages. */
export class TomlValues extends BaseTomlValues {
  /** @param outputKey the key output tables are read under, when it is not "output" (an [[outputs]] entry) */
  constructor(root: TomlTable, outputKey?: string) {
    super(root, secretKeysOf(outputKey));
  }
}

/** Warnings for keys Loom does not read. */
export function unknownKeyWarnings(root: TomlTable): string[] {
  return baseUnknownKeyWarnings(root, schema, {
    // A stray key in [auth] is most likely a token written in the wrong table.
    hiddenName: (prefix) => (prefix === 'auth.' ? 'unknown key in [auth] (ignored; name not shown because it may be a token; tokens go in [auth.tokens])' : undefined),
  });
}
