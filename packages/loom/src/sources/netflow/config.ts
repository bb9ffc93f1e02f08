import type { Reader } from '../../config/reader.js';
import { address } from '../../config/reader.js';
import type { TableSpec } from '../../config/schema.js';
import { parseNetwork } from '../../net/allow-list.js';

/** [inputs.netflow]: the NetFlow v5/v9/IPFIX collector. */
export interface NetflowConfig {
  enabled: boolean;
  /** UDP host:port; ":port" receives on every IPv4 and IPv6 address. */
  listen_address: string;
  /** Exporter networks (CIDR or single addresses) whose packets are decoded; others are dropped. */
  allowed_networks: string[];
  /** Datagrams per second one exporter may send (bursts up to a second's worth); 0 = no limit. */
  max_packets_per_second_per_exporter: number;
  /** SO_RCVBUF to ask for; 0 keeps the kernel's default. The kernel caps it at net.core.rmem_max. */
  receive_buffer_bytes: number;
  /** Datagrams received but not yet decoded, in octets; beyond it packets are dropped (queue_full). */
  queue_max_bytes: number;
  /** Longest a decoded flow waits for its batch to fill before the batch goes out anyway. */
  batch_max_wait_ms: number;
  /** A v9/IPFIX template not refreshed for this long is forgotten. */
  template_timeout_seconds: number;
  /** Templates kept over all exporters. */
  max_templates: number;
  /** Templates kept per exporter address and source id / observation domain. */
  max_templates_per_exporter: number;
}

/** Loopback and private networks: where routers' management addresses usually are. */
export const DEFAULT_ALLOWED_NETWORKS = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** The largest UDP payload: the queue must hold at least one datagram. */
const MIN_QUEUE_BYTES = 65_535;

export const netflowSpec: TableSpec = {
  enabled: 'boolean',
  listen_address: 'string',
  allowed_networks: 'string-array',
  max_packets_per_second_per_exporter: 'integer',
  receive_buffer_bytes: 'integer',
  queue_max_bytes: 'integer',
  batch_max_wait_ms: 'integer',
  template_timeout_seconds: 'integer',
  max_templates: 'integer',
  max_templates_per_exporter: 'integer',
};

export function decodeNetflowConfig(read: Reader, key = 'inputs.netflow'): NetflowConfig {
  const queueKey = `${key}.queue_max_bytes`;
  let queueBytes = read.int(queueKey, { fallback: 16 * 1024 * 1024, zero: 'error', negative: 'error', max: 4 * 1024 * 1024 * 1024 });
  if (queueBytes < MIN_QUEUE_BYTES) {
    read.errors.push(`${queueKey}: must be at least ${MIN_QUEUE_BYTES} (one datagram), got ${queueBytes}`);
    queueBytes = MIN_QUEUE_BYTES;
  }
  return {
    enabled: read.bool(`${key}.enabled`, false),
    listen_address: address(read, `${key}.listen_address`, ':2055'),
    allowed_networks: networks(read, `${key}.allowed_networks`),
    max_packets_per_second_per_exporter: read.int(`${key}.max_packets_per_second_per_exporter`, { fallback: 0, zero: 'value', negative: 'error', max: 10_000_000 }),
    receive_buffer_bytes: read.int(`${key}.receive_buffer_bytes`, { fallback: 4 * 1024 * 1024, zero: 'value', negative: 'error', max: 1024 * 1024 * 1024 }),
    queue_max_bytes: queueBytes,
    batch_max_wait_ms: read.int(`${key}.batch_max_wait_ms`, { fallback: 100, zero: 'value', negative: 'error', max: 60_000 }),
    template_timeout_seconds: read.int(`${key}.template_timeout_seconds`, { fallback: 1800, zero: 'error', negative: 'error', max: 7 * 24 * 3600 }),
    max_templates: read.int(`${key}.max_templates`, { fallback: 4096, zero: 'error', negative: 'error', max: 1_000_000 }),
    max_templates_per_exporter: read.int(`${key}.max_templates_per_exporter`, { fallback: 256, zero: 'error', negative: 'error', max: 65_280 }),
  };
}

function networks(read: Reader, key: string): string[] {
  const values = read.values.stringArray(key);
  if (values === undefined) return [...DEFAULT_ALLOWED_NETWORKS];
  if (values.length === 0) {
    read.errors.push(`${key}: is empty, so every packet would be dropped; list exporter networks, or ["0.0.0.0/0", "::/0"] to accept any sender`);
    return [...DEFAULT_ALLOWED_NETWORKS];
  }
  const valid: string[] = [];
  values.forEach((value, i) => {
    if (parseNetwork(value.trim()) === undefined) read.errors.push(`${key}[${i}]: ${JSON.stringify(value)} is not an IP address or CIDR network (examples "10.0.0.0/8", "192.0.2.7", "2001:db8::/32")`);
    else valid.push(value.trim());
  });
  return valid;
}
