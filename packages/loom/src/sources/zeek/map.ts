import { isIP } from 'node:net';
import { communityId } from '@loom/ecs';
import type { FieldProblem, MapResult } from '../flows/map.js';
import { show } from '../flows/map.js';
import { transportName } from '../flows/protocol.js';
import { describeType, parseTimestamp } from '../flows/timestamp.js';
import { FieldReader, put } from './fields.js';
import { logMappers, type ZeekLog } from './logs.js';

/** Who delivered a Zeek record: the authenticated sensor or the tailing host, and the file line. */
export interface ZeekOrigin {
  sensor: string;
  file?: { path: string; offset: number };
}

/** Numbers above this are JSON::TS_MILLIS timestamps: as seconds they would be past the year 5000. */
const millisAbove = 1e11;

/** Zeek's transport_proto names; Zeek logs ICMPv6 as "icmp" too. */
const transports: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1 };

/**
 * One line of a Zeek JSON log as an ECS event: the connection tuple, time, Community ID and
 * session id that every log shares, then the log's own fields (logs.ts), then everything else
 * under `zeek.<log>` with Zeek's field names. Only a missing or unreadable `ts` and malformed
 * connection addresses or ports make a record invalid; fields of an unexpected type are kept.
 */
export function mapZeekRecord(log: ZeekLog, record: unknown, origin: ZeekOrigin): MapResult {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { ok: false, problems: [{ message: `is ${describeType(record)}; every Zeek log line must be a JSON object` }] };
  }
  const f = new FieldReader(record as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  const ts = f.record.ts;
  let timestamp: string | undefined;
  if (ts === undefined || ts === null) {
    problems.push({ field: 'ts', message: 'ts is missing' });
  } else {
    const parsed = parseTimestamp(ts, millisAbove);
    if (parsed.ok) timestamp = parsed.value;
    else problems.push({ field: 'ts', message: `ts ${parsed.reason}` });
    f.use('ts');
  }
  const sourceIp = address(f, 'id.orig_h', problems);
  const destinationIp = address(f, 'id.resp_h', problems);
  const sourcePort = port(f, 'id.orig_p', problems);
  const destinationPort = port(f, 'id.resp_p', problems);
  if (problems.length > 0 || timestamp === undefined) return { ok: false, problems };

  const event: Record<string, unknown> = {
    '@timestamp': timestamp,
    event: { kind: 'event', category: [] as string[], type: [] as string[], module: 'zeek', dataset: `zeek.${log}` },
    // In this order in the output, whichever of them the log fills.
    source: {},
    destination: {},
    network: {},
  };
  const v6 = sourceIp !== undefined && isIP(sourceIp) === 6;
  const proto = f.record.proto;
  let protocol: number | undefined;
  if (typeof proto === 'string' && Object.hasOwn(transports, proto)) {
    f.use('proto');
    protocol = transports[proto] === 1 && v6 ? 58 : transports[proto];
  }
  const icmp = protocol === 1 || protocol === 58;
  // Zeek stores an ICMP message's type and code in the port fields.
  put(event, 'source.ip', sourceIp);
  if (!icmp) put(event, 'source.port', sourcePort);
  put(event, 'destination.ip', destinationIp);
  if (!icmp) put(event, 'destination.port', destinationPort);
  if (sourceIp !== undefined) put(event, 'network.type', v6 ? 'ipv6' : 'ipv4');
  const mapping = logMappers[log](f, event);
  protocol ??= mapping.impliedProtocol;
  if (protocol !== undefined) {
    put(event, 'network.transport', transportName(protocol));
    put(event, 'network.iana_number', String(protocol));
  }
  const given = f.string('community_id');
  const computed = given ?? (protocol === undefined || sourceIp === undefined || destinationIp === undefined
    ? undefined
    : communityId({ sourceIp, destinationIp, protocol, sourcePort, destinationPort }));
  put(event, 'network.community_id', computed);
  const meta = event.event as { category: string[]; type: string[] };
  meta.category = mapping.category;
  meta.type = mapping.type;
  put(event, 'observer.name', origin.sensor);
  put(event, 'observer.product', 'zeek');
  if (origin.file !== undefined) {
    put(event, 'log.file.path', origin.file.path);
    put(event, 'log.offset', origin.file.offset);
  }
  put(event, 'zeek.session_id', f.string('uid'));
  // json-streaming-logs adds the log's name to every line; the dataset already says it.
  f.use('_path');
  const rest = f.rest();
  if (icmp) {
    if (sourcePort !== undefined) put(event, `zeek.${log}.icmp.type`, sourcePort);
    if (destinationPort !== undefined) put(event, `zeek.${log}.icmp.code`, destinationPort);
  }
  if (rest !== undefined) {
    const existing = (event.zeek as Record<string, unknown> | undefined)?.[log] as Record<string, unknown> | undefined;
    put(event, `zeek.${log}`, existing === undefined ? rest : { ...rest, ...existing });
  }
  for (const key of ['source', 'destination', 'network']) {
    if (Object.keys(event[key] as object).length === 0) delete event[key];
  }
  return { ok: true, event };
}

function address(f: FieldReader, field: string, problems: FieldProblem[]): string | undefined {
  const value = f.record[field];
  if (value === undefined || value === null) return undefined;
  f.use(field);
  if (typeof value === 'string' && isIP(value) !== 0) return value;
  problems.push({ field, message: `${field} ${show(value)} is not an IP address` });
  return undefined;
}

function port(f: FieldReader, field: string, problems: FieldProblem[]): number | undefined {
  const value = f.record[field];
  if (value === undefined || value === null) return undefined;
  f.use(field);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) return value;
  problems.push({ field, message: `${field} ${show(value)} is not a port (0–65535)` });
  return undefined;
}
