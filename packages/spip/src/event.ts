import { randomUUID } from 'node:crypto';
import { communityId } from '@loom/ecs';
import type { ClientHello } from './protocols/tls/client-hello.js';
import { tlsVersionName } from './protocols/tls/client-hello.js';
import type { HttpRequest } from './protocols/http/request.js';
import { ecsHttpFields } from './protocols/http/request.js';
import type { KexInit, SshIdentification } from './protocols/ssh/ssh.js';
import { ja4 } from './fingerprints/ja4.js';
import { ja3 } from './fingerprints/ja3.js';
import { ja4h } from './fingerprints/ja4h/ja4h.js';
import { hassh } from './fingerprints/hassh.js';

/** What happened on a connection, as `event.action`. */
export type ConnectionAction =
  | 'connect-only' | 'timeout' | 'payload' | 'http' | 'ssh'
  | 'tls-handshake' | 'tls-clienthello-only' | 'tls-handshake-failed'
  | 'rate-limited' | 'connection-limit';

/** Everything a session learned about one connection; turned into one ECS event. */
export interface ConnectionRecord {
  id: string;
  startedAt: number;
  endedAt: number;
  action: ConnectionAction;
  sourceIp: string;
  sourcePort: number;
  destinationIp: string;
  destinationPort: number;
  redirected: boolean;
  payload: Uint8Array;
  bytesIn: number;
  bytesOut: number;
  truncated: boolean;
  clientHello?: ClientHello;
  tlsSession?: { version: string; cipher: string; alpn: string | false; sni: string | undefined };
  tlsError?: string;
  http?: HttpRequest;
  ssh?: { ident: SshIdentification; kexinit?: KexInit };
}

/** A record for a connection that has just been accepted: nothing received or sent yet. */
export function newConnectionRecord(
  sourceIp: string,
  sourcePort: number,
  destination: { address: string; port: number; redirected: boolean },
  action: ConnectionAction = 'connect-only',
): ConnectionRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    startedAt: now,
    endedAt: now,
    action,
    sourceIp,
    sourcePort,
    destinationIp: destination.address,
    destinationPort: destination.port,
    redirected: destination.redirected,
    payload: new Uint8Array(0),
    bytesIn: 0,
    bytesOut: 0,
    truncated: false,
  };
}

export interface SensorIdentity {
  name: string;
  communityIdSeed: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * The ECS event for one connection. Field names follow the Go sensor (event.summary,
 * event.original_payload_hex, tls.client.hash.ja4, ssh.client.hash.hassh, …) so existing
 * dashboards keep working; standard ECS fields are added next to them.
 */
export function buildEvent(record: ConnectionRecord, sensor: SensorIdentity): Record<string, unknown> {
  const ipv6 = record.sourceIp.includes(':');
  const start = new Date(record.startedAt).toISOString();
  const event: Record<string, unknown> = {
    '@timestamp': start,
    event: {
      id: record.id,
      ingested_by: 'spip',
      kind: 'event',
      category: ['network', 'intrusion_detection'],
      type: ['connection'],
      action: record.action,
      dataset: 'spip.connection',
      start,
      // Most connections end within the millisecond they started in.
      end: record.endedAt === record.startedAt ? start : new Date(record.endedAt).toISOString(),
      // ECS event.duration is in nanoseconds.
      duration: Math.max(0, record.endedAt - record.startedAt) * 1_000_000,
    },
    source: { ip: record.sourceIp, port: record.sourcePort, bytes: record.bytesIn },
    destination: { ip: record.destinationIp, port: record.destinationPort, bytes: record.bytesOut },
    network: {
      transport: 'tcp',
      iana_number: '6',
      type: ipv6 ? 'ipv6' : 'ipv4',
      bytes: record.bytesIn + record.bytesOut,
    },
    observer: { hostname: sensor.name, id: sensor.name, type: 'honeypot' },
    host: { name: sensor.name },
    ecs: { version: '8.11.0' },
  };
  const network = event.network as Record<string, unknown>;
  const cid = communityId(
    { sourceIp: record.sourceIp, destinationIp: record.destinationIp, protocol: 6, sourcePort: record.sourcePort, destinationPort: record.destinationPort },
    { seed: sensor.communityIdSeed },
  );
  if (cid !== undefined) network.community_id = cid;

  const details = event.event as Record<string, unknown>;
  if (record.payload.length > 0) {
    details.original_payload_hex = Buffer.from(record.payload.buffer, record.payload.byteOffset, record.payload.byteLength).toString('hex');
    if (record.http === undefined) details.summary = decoder.decode(record.payload);
  }
  event.spip = { payload_truncated: record.truncated, payload_captured_bytes: record.payload.length, redirected: record.redirected };

  // tlsError alone: the ClientHello was malformed or incomplete, and tls.error says why.
  const tls = record.clientHello !== undefined || record.tlsSession !== undefined || record.tlsError !== undefined;
  if (tls) addTls(event, record);
  if (record.http !== undefined) {
    network.protocol = 'http';
    merge(event, ecsHttpFields(record.http));
    const request = ((event.http as Record<string, unknown>).request ??= {}) as Record<string, unknown>;
    const fingerprint = ja4h(record.http);
    request.hash = { ja4h: fingerprint.ja4h };
    request.ja4h_r = fingerprint.ja4h_r;
  }
  if (tls) network.protocol = record.http !== undefined ? 'http' : 'tls';
  if (record.ssh !== undefined) {
    network.protocol = 'ssh';
    const client: Record<string, unknown> = {
      identification: record.ssh.ident.raw,
      software_version: record.ssh.ident.softwareVersion,
      protocol_version: record.ssh.ident.protoVersion,
    };
    if (record.ssh.kexinit !== undefined) {
      const fingerprint = hassh(record.ssh.kexinit);
      client.hash = { hassh: fingerprint.hassh };
      client.hassh_algorithms = fingerprint.hasshAlgorithms;
    }
    event.ssh = { client };
  }
  return event;
}

function addTls(event: Record<string, unknown>, record: ConnectionRecord): void {
  const tls: Record<string, unknown> = {};
  const client: Record<string, unknown> = {};
  const hello = record.clientHello;
  if (hello !== undefined) {
    const fingerprint = ja4(hello);
    const classic = ja3(hello);
    client.hash = { ja4: fingerprint.ja4 };
    client.ja4 = fingerprint.ja4;
    client.ja4_r = fingerprint.ja4_r;
    client.ja3 = classic.ja3_hash;
    client.ja3_string = classic.ja3;
    if (hello.serverName !== undefined) client.server_name = hello.serverName;
    if (hello.alpnStrings.length > 0) client.supported_protocols = hello.alpnStrings;
    client.supported_ciphers = hello.ciphers.map((c) => c.toString(16).padStart(4, '0'));
    const offered = hello.supportedVersions.length > 0 ? Math.max(...hello.supportedVersions.filter((v) => (v & 0x0f0f) !== 0x0a0a)) : hello.legacyVersion;
    client.offered_version = tlsVersionName(offered);
  }
  const session = record.tlsSession;
  if (session !== undefined) {
    tls.established = true;
    tls.version_protocol = 'tls';
    tls.version = session.version.replace(/^TLSv/, '');
    tls.cipher = session.cipher;
    // The Go sensor put these under tls.client; kept there for existing dashboards.
    client.version = session.version;
    client.cipher = session.cipher;
    if (session.alpn !== false) tls.next_protocol = session.alpn;
    if (session.sni !== undefined && client.server_name === undefined) client.server_name = session.sni;
  } else {
    tls.established = false;
  }
  if (record.tlsError !== undefined) tls.error = record.tlsError;
  tls.client = client;
  event.tls = tls;
}

/** Deep-merges plain objects from `source` into `target`. */
function merge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isRecord(existing) && isRecord(value)) merge(existing, value);
    else target[key] = value;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
