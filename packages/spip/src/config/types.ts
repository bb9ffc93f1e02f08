/** The sensor's effective configuration: Go Spip keys with their defaults, plus extensions. */
export interface SpipConfig {
  /** Absolute path of the config file; relative paths in it resolve against its directory. */
  source_path: string;
  name: string;
  ip: string;
  /** Every port to listen on: `port` plus `ports` (ranges expanded), deduplicated, sorted. */
  ports: number[];
  cert_path: string;
  key_path: string;
  /** Generate a self-signed certificate at startup when no cert_path/key_path are given. */
  tls_self_signed: boolean;
  /** "" = stdout. */
  log_file: string;
  log_level: 'debug' | 'info' | 'warn' | 'error';
  read_timeout_seconds: number;
  write_timeout_seconds: number;
  first_byte_timeout_seconds: number;
  handshake_timeout_seconds: number;
  max_connection_seconds: number;
  max_payload_bytes: number;
  max_connections: number;
  max_connections_per_ip: number;
  rate_limit_per_second: number;
  rate_limit_burst: number;
  community_id_seed: number;
  shutdown_timeout_seconds: number;
  metrics_listen_address: string;
  http: HttpResponseConfig;
  ssh: SshConfig;
  loom: LoomShippingConfig;
}

export interface HttpResponseConfig {
  status: number;
  content_type: string;
  /** Response body; "{source.ip}" is replaced by the client's address (the Go sensor's answer). */
  body: string;
  /** Server header; "" sends none. */
  server: string;
}

export interface SshConfig {
  /** Identification string sent to SSH clients, without CR LF. */
  banner: string;
}

export interface LoomShippingConfig {
  enabled: boolean;
  url: string;
  sensor_id: string;
  /** Secret; from `token`, the variable named by `token_env`, or SPIP_LOOM_TOKEN. */
  token: string;
  token_origin: string;
  batch_size: number;
  flush_interval_ms: number;
  insecure_skip_verify: boolean;
  /** Durable spool directory; "" keeps unsent events in memory only. */
  spool_dir: string;
  spool_max_bytes: number;
  memory_max_events: number;
  gzip: boolean;
  max_body_bytes: number;
  request_timeout_seconds: number;
}

export class SpipConfigError extends Error {
  override name = 'SpipConfigError';
}
