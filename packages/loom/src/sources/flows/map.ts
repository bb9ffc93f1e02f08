import { isIP } from 'node:net';
import { communityId } from '@loom/ecs';
import type { RecordProblem } from './refusal.js';
import { protocolNumber, transportName } from './protocol.js';
import { describeType, parseTimestamp } from './timestamp.js';

export type FieldProblem = Omit<RecordProblem, 'index'>;
export type MapResult = { ok: true; event: Record<string, unknown> } | { ok: false; problems: FieldProblem[] };

/** Where a flow came from: the authenticated sensor and the collector the batch names. */
export interface FlowOrigin {
  sensor: string;
  collectorId?: string;
}

const timestampFields = ['ts', 'time', '@timestamp'] as const;
const mapped = new Set<string>([...timestampFields, 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'proto', 'protocol', 'bytes', 'packets', 'app']);

/**
 * One telemetry-api flow record (`flows.v1`) as an ECS event. Every problem of the record is
 * reported, each naming its field, so that a sender can fix them all at once. Fields the
 * format does not define are kept under `flow.*` with their names as sent.
 */
export function mapFlowRecord(record: unknown, origin: FlowOrigin): MapResult {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { ok: false, problems: [{ message: `is ${describeType(record)}; every record must be a JSON object` }] };
  }
  const r = record as Record<string, unknown>;
  const problems: FieldProblem[] = [];

  const tsField = timestampFields.find((name) => r[name] !== undefined && r[name] !== null);
  let timestamp: string | undefined;
  if (tsField === undefined) {
    problems.push({ field: 'ts', message: 'has no timestamp: one of ts, time or @timestamp is required' });
  } else {
    const parsed = parseTimestamp(r[tsField]);
    if (parsed.ok) timestamp = parsed.value;
    else problems.push({ field: tsField, message: `${tsField} ${parsed.reason}` });
  }

  const sourceIp = address(r, 'src_ip', problems);
  const destinationIp = address(r, 'dst_ip', problems);
  const sourcePort = port(r, 'src_port', problems);
  const destinationPort = port(r, 'dst_port', problems);
  const protoField = r.proto !== undefined && r.proto !== null ? 'proto' : 'protocol';
  let protocol: number | undefined;
  const protoValue = r[protoField];
  if (protoValue !== undefined && protoValue !== null) {
    protocol = protocolNumber(protoValue);
    if (protocol === undefined) problems.push({ field: protoField, message: `${protoField} ${show(protoValue)} is not an IP protocol name (tcp, udp, icmp, …) or number (0–255)` });
  }
  const bytes = count(r, 'bytes', problems);
  const packets = count(r, 'packets', problems);
  let app: string | undefined;
  if (r.app !== undefined && r.app !== null) {
    if (typeof r.app === 'string' && r.app.trim() !== '') app = r.app.trim().toLowerCase();
    else problems.push({ field: 'app', message: `app ${show(r.app)} is not an application protocol name such as "dns"` });
  }
  if (problems.length > 0 || timestamp === undefined || sourceIp === undefined || destinationIp === undefined) return { ok: false, problems };

  const network: Record<string, unknown> = { type: isIP(sourceIp) === 6 ? 'ipv6' : 'ipv4' };
  if (protocol !== undefined) {
    const transport = transportName(protocol);
    if (transport !== undefined) network.transport = transport;
    network.iana_number = String(protocol);
  }
  if (app !== undefined) network.protocol = app;
  if (bytes !== undefined) network.bytes = bytes;
  if (packets !== undefined) network.packets = packets;
  if (protocol !== undefined) {
    const id = communityId({ sourceIp, destinationIp, protocol, sourcePort, destinationPort });
    if (id !== undefined) network.community_id = id;
  }
  const event: Record<string, unknown> = {
    '@timestamp': timestamp,
    event: { kind: 'event', category: ['network'], type: ['connection'], module: 'flows', dataset: 'flows.records' },
    source: sourcePort === undefined ? { ip: sourceIp } : { ip: sourceIp, port: sourcePort },
    destination: destinationPort === undefined ? { ip: destinationIp } : { ip: destinationIp, port: destinationPort },
    network,
    observer: { name: origin.sensor },
  };
  if (origin.collectorId !== undefined) event.labels = { collector_id: origin.collectorId };
  let rest: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(r)) {
    if (mapped.has(key)) continue;
    (rest ??= {})[key] = value;
  }
  if (rest !== undefined) event.flow = rest;
  return { ok: true, event };
}

function address(r: Record<string, unknown>, field: string, problems: FieldProblem[]): string | undefined {
  const value = r[field];
  if (value === undefined || value === null) {
    problems.push({ field, message: `${field} is missing` });
    return undefined;
  }
  if (typeof value === 'string' && isIP(value.trim()) !== 0) return value.trim();
  problems.push({ field, message: `${field} ${show(value)} is not an IP address` });
  return undefined;
}

function port(r: Record<string, unknown>, field: string, problems: FieldProblem[]): number | undefined {
  const value = r[field];
  if (value === undefined || value === null) return undefined;
  const n = wholeNumber(value);
  if (n !== undefined && n <= 65535) return n;
  problems.push({ field, message: `${field} ${show(value)} is not a port (0–65535)` });
  return undefined;
}

function count(r: Record<string, unknown>, field: string, problems: FieldProblem[]): number | undefined {
  const value = r[field];
  if (value === undefined || value === null) return undefined;
  const n = wholeNumber(value);
  if (n !== undefined) return n;
  problems.push({ field, message: `${field} ${show(value)} is not a count (a whole number >= 0)` });
  return undefined;
}

/** A non-negative safe integer, given as a number or as decimal digits. */
export function wholeNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,16}\s*$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A value as it appears in a message: JSON, shortened. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
