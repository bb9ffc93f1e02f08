import { communityId } from '@loom/ecs';
import { validTime, type ExportPacket, type FieldValue, type Flow } from './flow.js';

/** ECS network.transport: the IANA protocol keyword, lowercase, for the protocols flows commonly carry. */
const TRANSPORTS: (string | undefined)[] = [];
for (const [number, name] of [
  [1, 'icmp'], [2, 'igmp'], [4, 'ipv4'], [6, 'tcp'], [17, 'udp'], [41, 'ipv6'], [47, 'gre'], [50, 'esp'], [51, 'ah'],
  [58, 'ipv6-icmp'], [88, 'eigrp'], [89, 'ospf'], [103, 'pim'], [112, 'vrrp'], [132, 'sctp'],
] as const) TRANSPORTS[number] = name;

/** Who sent a packet: its address (observer.ip) and port. */
export interface Exporter {
  ip: string;
  port: number;
}

/**
 * The ECS events of a packet's flows, one compact JSON object each, appended to `out`; every
 * one is ASCII (other characters are escaped).
 * Built as text rather than with JSON.stringify: every key is fixed, every value is a number,
 * an address, a timestamp or a string that goes through JSON.stringify, and flows are the
 * hot path of the collector. `receivedMs` stands in for @timestamp when the header's export
 * time is not a valid date.
 */
export function renderFlows(packet: ExportPacket, exporter: Exporter, receivedMs: number, out: string[]): void {
  const exportTime = isoTime(validTime(packet.exportMs) ?? receivedMs);
  const head = `{"@timestamp":"${exportTime}","event":{"kind":"event","category":["network"],"type":["connection"],"dataset":"netflow.flow"`;
  const address = exporter.ip.includes(':') ? `[${exporter.ip}]:${exporter.port}` : `${exporter.ip}:${exporter.port}`;
  let exporterJson = `"exporter":{"address":${JSON.stringify(address)},"version":${packet.version}`;
  if (packet.sourceId !== undefined) exporterJson += `,"source_id":${packet.sourceId}`;
  if (packet.uptimeMs !== undefined) exporterJson += `,"uptime_millis":${packet.uptimeMs}`;
  exporterJson += '}';
  const observer = `,"observer":{"ip":${JSON.stringify(exporter.ip)}},"netflow":{`;
  for (const flow of packet.flows) out.push(renderFlow(flow, head, observer, exporterJson));
}

// The pieces of the event being rendered. Joined once, they make a flat string, which is
// several times cheaper to copy into the batch than one grown piece by piece.
const parts: string[] = [];

function renderFlow(flow: Flow, head: string, observer: string, exporterJson: string): string {
  parts.length = 0;
  const { startMs, endMs } = flow;
  let event = head;
  if (startMs !== undefined) event += `,"start":"${isoTime(startMs)}"`;
  if (endMs !== undefined) event += `,"end":"${isoTime(endMs)}"`;
  // ECS event.duration is in nanoseconds.
  if (startMs !== undefined && endMs !== undefined && endMs >= startMs) event += `,"duration":${(endMs - startMs) * 1_000_000}`;
  parts.push(event, '}', endpoint('source', flow.sourceIp, flow.sourcePort), endpoint('destination', flow.destinationIp, flow.destinationPort), network(flow), observer, exporterJson);
  const fields = flow.fields;
  for (let i = 0; i + 1 < fields.length; i += 2) parts.push(member(fields[i] as string, fields[i + 1] as FieldValue));
  parts.push('}}');
  return parts.join('');
}

function endpoint(name: string, ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return port === undefined ? '' : `,"${name}":{"port":${port}}`;
  return port === undefined ? `,"${name}":{"ip":"${ip}"}` : `,"${name}":{"ip":"${ip}","port":${port}}`;
}

function network(flow: Flow): string {
  const ip = flow.sourceIp ?? flow.destinationIp;
  const { protocol, bytes, packets } = flow;
  // Every member is written with a leading comma; the first one's is cut off at the end.
  let members = '';
  if (ip !== undefined) members += ip.includes(':') ? ',"type":"ipv6"' : ',"type":"ipv4"';
  if (protocol !== undefined) {
    const transport = TRANSPORTS[protocol];
    members += transport === undefined ? `,"iana_number":"${protocol}"` : `,"transport":"${transport}","iana_number":"${protocol}"`;
  }
  if (bytes !== undefined) members += `,"bytes":${bytes}`;
  if (packets !== undefined) members += `,"packets":${packets}`;
  if (protocol !== undefined && flow.sourceIp !== undefined && flow.destinationIp !== undefined) {
    const id = communityId({
      sourceIp: flow.sourceIp,
      destinationIp: flow.destinationIp,
      protocol,
      sourcePort: flow.sourcePort,
      destinationPort: flow.destinationPort,
      icmpType: flow.icmpType,
      icmpCode: flow.icmpCode,
    });
    if (id !== undefined) members += `,"community_id":"${id}"`;
  }
  return members === '' ? '' : `,"network":{${members.slice(1)}}`;
}

function member(name: string, value: FieldValue): string {
  if (typeof value === 'number') return Number.isFinite(value) ? `,"${name}":${value}` : '';
  if (typeof value === 'boolean') return `,"${name}":${value}`;
  const json = JSON.stringify(value);
  // Escaped to \uXXXX, so that every event is ASCII and a batch can be written as latin1.
  return `,"${name}":${NON_ASCII.test(json) ? json.replace(NON_ASCII_ALL, escapeChar) : json}`;
}

const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_ALL = /[\u0080-\uffff]/g;

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

// The minute of the last timestamp rendered and its "YYYY-MM-DDTHH:MM:" text: a packet's flows
// mostly fall in the same minute, and Date#toISOString is a large share of rendering otherwise.
let cachedMinute = -1;
let cachedPrefix = '';

/** Date#toISOString for valid whole milliseconds (see validTime), without a Date per call. */
export function isoTime(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedPrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const inMinute = ms - minute * 60_000;
  const seconds = Math.floor(inMinute / 1000);
  const millis = inMinute - seconds * 1000;
  return `${cachedPrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 100 ? (millis < 10 ? '00' : '0') : ''}${millis}Z`;
}
