import type { Reader } from '../../config/reader.js';
import type { TableSpec } from '../../config/schema.js';

/** [inputs.tcp_json]: the TCP JSON logging protocol, configured by the protocol's own config.json. */
export interface TcpJsonInputConfig {
  enabled: boolean;
  /** The protocol's config.json (server_settings, logfile_settings, protocol_settings, error_handling). */
  config_file: string;
  /** Also send accepted messages through enrichment and the outputs. */
  forward: boolean;
}

export const tcpJsonSpec: TableSpec = {
  enabled: 'boolean',
  config_file: 'string',
  forward: 'boolean',
};

export function decodeTcpJsonInputConfig(read: Reader, key = 'inputs.tcp_json'): TcpJsonInputConfig {
  const config = {
    enabled: read.bool(`${key}.enabled`, false),
    config_file: read.path(`${key}.config_file`),
    forward: read.bool(`${key}.forward`, false),
  };
  // Everything else about the protocol lives in config.json, which is read when the input starts.
  if (config.enabled && config.config_file === '') read.errors.push(`${key}.config_file: required when ${key}.enabled = true (the protocol's config.json)`);
  return config;
}
