import type { NetflowConfig } from '../sources/netflow/config.js';
import type { TcpJsonInputConfig } from '../sources/tcp-json/config.js';
import type { ZeekConfig } from '../sources/zeek/config.js';

/**
 * The effective configuration after defaults, environment secrets and validation.
 * Key names mirror the TOML keys (snake_case) so that messages, docs and code agree.
 */
export interface LoomConfig {
  server: ServerConfig;
  auth: AuthConfig;
  limits: LimitsConfig;
  enrichment: EnrichmentConfig;
  /** The [output] table as written (the earlier version's single output). */
  output: OutputConfig;
  /**
   * Every output events go to: [output] (when written, or when there is no [[outputs]])
   * followed by each [[outputs]] entry. A batch is acknowledged only when all accepted it.
   */
  outputs: OutputConfig[];
  /** Inputs besides the HTTP ingest API. */
  inputs: InputsConfig;
  logging: LoggingConfig;
  observability: ObservabilityConfig;
  /** Redis shared by several Loom instances for rate limits and the TCP JSON blacklist. */
  shared_state: SharedStateConfig;
  /** Absolute path of the file this came from; undefined for the embedded development default. */
  source_path: string | undefined;
}

export interface InputsConfig {
  netflow: NetflowConfig;
  zeek: ZeekConfig;
  tcp_json: TcpJsonInputConfig;
}

export interface ServerConfig {
  /** host:port, ":port" (all interfaces) or "[v6]:port". */
  listen_address: string;
  tls: boolean;
  cert_file: string;
  key_file: string;
  /** "" disables the management server, as in earlier versions. */
  management_listen_address: string;
  /**
   * Threads that decode request bodies, per ingest process; 0 = the cores divided among the
   * ingest processes.
   */
  workers: number;
  /**
   * Processes that accept ingest connections on the one listener (1 = Loom's only process
   * does it; 0 = one per core). Outputs, outboxes and inputs stay in the primary process.
   */
  processes: number;
  /** Seconds a client may take to send the request headers. */
  header_timeout_seconds: number;
  /** Seconds a client may take to send a whole request. */
  request_timeout_seconds: number;
  /** Seconds an idle keep-alive connection stays open. */
  idle_timeout_seconds: number;
  /** Concurrent connections on the ingest listener; further connections are refused. */
  max_connections: number;
  /** Seconds SIGTERM waits for in-flight batches and output flushes before exiting anyway. */
  shutdown_timeout_seconds: number;
}

export interface AuthConfig {
  token_file: string;
  /** token -> sensor id; merged from [auth.tokens], LOOM_SENSOR_* and token_file. Secret. */
  tokens: Map<string, string>;
  /** Where each token came from ("env LOOM_SENSOR_x", "token_file line 3", "auth.tokens"), for messages. */
  token_origins: Map<string, string>;
}

export interface LimitsConfig {
  max_body_size_bytes: number;
  max_events_per_batch: number;
  max_event_size_bytes: number;
  /** Requests per second per sensor; negative disables. */
  per_sensor_rps: number;
  /** Bucket size for per_sensor_rps; defaults to per_sensor_rps. */
  per_sensor_burst: number;
  /** Events per second per sensor; 0 (default) disables. */
  per_sensor_events_rps: number;
  /** Batches held in memory between the listener and the outputs before new ones get 503. */
  max_pending_batches: number;
}

export interface DnsConfig {
  enabled: boolean;
  /** host:port of the DNS server for PTR lookups; "" = the system's resolvers. */
  resolver_addr: string;
  /** 0 = do not cache. */
  cache_ttl_seconds: number;
  /** Fresh lookups per second; negative = unlimited. */
  max_qps: number;
  /** Longest an event waits for its PTR answer; after it the event goes on without source.domain. */
  timeout_ms: number;
  max_concurrency: number;
  /** How long "no PTR record" is remembered. */
  negative_ttl_seconds: number;
  cache_max_entries: number;
}

export type EnrichedField = 'source' | 'destination';

export interface IntelListConfig {
  name: string;
  path: string;
  kind: 'auto' | 'ip' | 'ja4' | 'ja3' | 'hassh' | 'ja4h';
  format: 'auto' | 'plain' | 'threats-csv';
  category: string;
  confidence: number;
}

export interface EnrichmentConfig {
  /** City/Country database; undefined = the bundled open data, "" = no GeoIP. */
  geoip_db_path: string | undefined;
  /** ASN database (.mmdb or start,end,asn,org CSV); undefined = bundled, "" = no ASN. */
  asn_db_path: string | undefined;
  /** Which address fields get geo/as/intel: source (default), destination. */
  fields: EnrichedField[];
  /** Complete enrichment results kept per IP address (per worker thread). */
  cache_size: number;
  /** Warn when a database is older than this many days; 0 = never. */
  max_db_age_days: number;
  dns: DnsConfig;
  intel: IntelListConfig[];
  risk: RiskConfig;
}

/** Weighted risk rules; each rule adds its weight once, the sum is clamped to 0–100. */
export interface RiskConfig {
  enabled: boolean;
  /** Rule name → weight (see docs/ENRICHMENT.md for the rules). */
  weights: Record<string, number>;
  sensitive_ports: number[];
  scanner_asns: number[];
  large_transfer_bytes: number;
}

export type OutputType = 'stdout' | 'file' | 'clickhouse' | 'elasticsearch' | 'splunk_hec';

export interface OutboxConfig {
  /** Written, or the default: on for network outputs. */
  enabled: boolean;
  /** Parent directory; each output keeps its outbox in <dir>/<output name>. */
  dir: string;
  /** 0 = unlimited (only when written explicitly; unset means the default). */
  max_bytes: number;
  flush_interval_ms: number;
  max_batch_size: number;
  retry_backoff_ms: number;
  retry_max_backoff_ms: number;
  /** What a full outbox does with new batches: refuse them (503, the client retries) or drop the oldest. */
  when_full: 'reject' | 'drop_oldest';
}

export interface OutputConfig {
  type: OutputType;
  /** Unique; labels metrics and logs, names the outbox directory. [output] is named after its type. */
  name: string;
  /** Where this output's keys are in the file ("output", "outputs[1]"), for messages. */
  key: string;
  /** Network outputs: most events per request. */
  batch_max_events: number;
  /** Network outputs: most bytes of events per request. */
  batch_max_bytes: number;
  /** Network outputs: longest an event waits in the outbox for a batch to fill. */
  batch_max_wait_ms: number;
  /** Network outputs: deadline of one request. */
  request_timeout_ms: number;
  /** Network outputs without an outbox: how long an ingest request waits for delivery. */
  sync_timeout_ms: number;
  /** Network outputs: gzip request bodies; "auto" (unset) = yes, unless the destination is on a loopback address. */
  compression: boolean | 'auto';
  /** Network outputs: CA bundle (PEM) to verify the server with. */
  ca_file: string;
  /** Network outputs: skip certificate verification (labs only). */
  insecure_skip_verify: boolean;
  /** Network outputs: size at which the dead-letter file is rotated once. */
  dead_letter_max_bytes: number;
  /** file output: NDJSON file path. */
  file_path: string;
  /** file output: rotate when the file reaches this size; 0 = never (use logrotate + SIGHUP). */
  file_max_size_bytes: number;
  /** file output: rotated files kept (path.1 … path.N). */
  file_max_files: number;
  /** file output: fdatasync before acknowledging a batch. */
  file_fsync: boolean;
  /** file output: "json" (one object per line) or "plaintext" (delimited columns). */
  format: 'json' | 'plaintext';
  /** file output: fields to write, in order; empty = the whole event (json only). */
  column_order: string[];
  /** file output, plaintext: between the fields of a record. */
  plaintext_field_delimiter: string;
  /** file output, plaintext: after each record. */
  plaintext_entry_delimiter: string;
  elasticsearch_url: string;
  elasticsearch_index: string;
  elasticsearch_user: string;
  elasticsearch_pass: string;
  clickhouse_url: string;
  clickhouse_database: string;
  clickhouse_table: string;
  clickhouse_user: string;
  clickhouse_password: string;
  /** event_string: the earlier version's one-column table; typed: the shipped schema. */
  clickhouse_mode: 'event_string' | 'typed';
  /** insert_deduplication_token: sent when the server supports it (auto), always, or never. */
  clickhouse_dedup_token: 'auto' | 'on' | 'off';
  /** index (default) or create (required by data streams). */
  elasticsearch_action: 'index' | 'create';
  /** Ingest pipeline to run documents through; "" for none. */
  elasticsearch_pipeline: string;
  /** The index is a data stream: the action is create and the name has no date pattern. */
  elasticsearch_data_stream: boolean;
  /** A batch is cut into _bulk requests of at most this many bytes. */
  elasticsearch_max_bulk_bytes: number;
  /** Send each event's stable id as _id, so that retries do not duplicate documents. */
  elasticsearch_document_ids: boolean;
  /** From LOOM_ELASTICSEARCH_API_KEY (or the variable named by elasticsearch_api_key_env) only. */
  elasticsearch_api_key: string;
  splunk_hec_url: string;
  /** From LOOM_SPLUNK_HEC_TOKEN (or the variable named by splunk_hec_token_env) only. */
  splunk_hec_token: string;
  splunk_hec_index: string;
  splunk_hec_sourcetype: string;
  splunk_hec_source: string;
  /** Indexer acknowledgement: a batch counts as delivered only once Splunk confirms it indexed it. */
  splunk_hec_ack: boolean;
  splunk_hec_ack_timeout_ms: number;
  splunk_hec_ack_poll_interval_ms: number;
  /** A fixed host for every event; "" = the event's observer or host name. */
  splunk_hec_host: string;
  /** Larger batches are split into several requests. */
  splunk_hec_max_request_bytes: number;
  /** Environment variables named by the *_env keys, for outputs that need their own credentials. */
  credential_env: Partial<Record<'clickhouse_password' | 'elasticsearch_pass' | 'elasticsearch_api_key' | 'splunk_hec_token', string>>;
  outbox: OutboxConfig;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggingConfig {
  level: LogLevel;
  format: 'json' | 'console';
}

export interface ObservabilityConfig {
  metrics_enabled: boolean;
}

/** What loading a config produced: the config, plus warnings for the operator (unknown keys, odd values). */
export interface LoadResult {
  config: LoomConfig;
  warnings: string[];
}

/** A configuration problem; the message names the key and what is wrong with it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface SharedStateConfig {
  /** "" = nothing shared: each instance keeps its own state. redis://host:port/db or rediss://. */
  redis_url: string;
  /** Environment variable holding the Redis password ("" = none). */
  redis_password_env: string;
  /** Prefix of every key Loom writes, so instances of different deployments can share a Redis. */
  key_prefix: string;
  /** Milliseconds a Redis command may take before the local fallback decides. */
  timeout_ms: number;
  /** PEM CA bundle for rediss:// ("" = system roots). */
  ca_file: string;
}
