/**
 * Builders for NetFlow v5, v9 and IPFIX packets, written from the layouts in the Cisco v5
 * documentation, RFC 3954 and RFC 7011, so that tests can say exactly which bytes an
 * exporter sends.
 */

export const u8 = (value: number): Buffer => Buffer.from([value & 0xff]);

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value & 0xffff);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

export function u64(value: number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

export function ipv4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

export function ipv6(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = address.includes('::') ? groups(tail) : [];
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return Buffer.concat(all.map(u16));
}

/** An IPFIX variable-length value: one length octet, or 255 and two length octets. */
export function varlen(value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  return data.length < 255 ? Buffer.concat([u8(data.length), data]) : Buffer.concat([u8(255), u16(data.length), data]);
}

export interface V5Record {
  src: string;
  dst: string;
  nextHop?: string;
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
  sport: number;
  dport: number;
  tcpFlags?: number;
  protocol: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
  srcMask?: number;
  dstMask?: number;
}

export interface V5Header {
  uptime: number;
  secs: number;
  nsecs?: number;
  sequence?: number;
  engineType?: number;
  engineId?: number;
  sampling?: number;
  /** Overrides the record count in the header. */
  count?: number;
}

export function v5Packet(header: V5Header, records: V5Record[]): Buffer {
  const head = Buffer.concat([
    u16(5), u16(header.count ?? records.length), u32(header.uptime), u32(header.secs), u32(header.nsecs ?? 0),
    u32(header.sequence ?? 0), u8(header.engineType ?? 0), u8(header.engineId ?? 0), u16(header.sampling ?? 0),
  ]);
  const body = records.map((r) => Buffer.concat([
    ipv4(r.src), ipv4(r.dst), ipv4(r.nextHop ?? '0.0.0.0'), u16(r.input ?? 0), u16(r.output ?? 0),
    u32(r.packets), u32(r.bytes), u32(r.first), u32(r.last), u16(r.sport), u16(r.dport),
    u8(0), u8(r.tcpFlags ?? 0), u8(r.protocol), u8(r.tos ?? 0), u16(r.srcAs ?? 0), u16(r.dstAs ?? 0),
    u8(r.srcMask ?? 0), u8(r.dstMask ?? 0), u16(0),
  ]));
  return Buffer.concat([head, ...body]);
}

/** A field specifier: element number, length (0xffff variable), and for IPFIX an optional enterprise number. */
export type FieldSpec = [element: number, length: number, enterprise?: number];

function specifiers(fields: FieldSpec[]): Buffer {
  return Buffer.concat(fields.map(([element, length, enterprise]) =>
    enterprise === undefined ? Buffer.concat([u16(element), u16(length)]) : Buffer.concat([u16(element | 0x8000), u16(length), u32(enterprise)])));
}

export function templateRecord(id: number, fields: FieldSpec[]): Buffer {
  return Buffer.concat([u16(id), u16(fields.length), specifiers(fields)]);
}

/** IPFIX options template record: the first `scope` fields are scope fields. */
export function ipfixOptionsTemplateRecord(id: number, scope: number, fields: FieldSpec[]): Buffer {
  return Buffer.concat([u16(id), u16(fields.length), u16(scope), specifiers(fields)]);
}

/** v9 options template record: scope fields (scope types) and option fields, lengths in octets. */
export function v9OptionsTemplateRecord(id: number, scopes: FieldSpec[], options: FieldSpec[]): Buffer {
  return Buffer.concat([u16(id), u16(scopes.length * 4), u16(options.length * 4), specifiers(scopes), specifiers(options)]);
}

/** A set (v9 FlowSet): id, length, contents, padded with zeros to `padTo` octets. */
export function set(id: number, contents: Buffer[], padTo = 1): Buffer {
  const body = Buffer.concat(contents);
  const raw = 4 + body.length;
  const padded = Math.ceil(raw / padTo) * padTo;
  return Buffer.concat([u16(id), u16(padded), body, Buffer.alloc(padded - raw)]);
}

export interface V9Header {
  uptime: number;
  secs: number;
  sequence?: number;
  sourceId?: number;
  count?: number;
}

export function v9Packet(header: V9Header, sets: Buffer[]): Buffer {
  return Buffer.concat([
    u16(9), u16(header.count ?? sets.length), u32(header.uptime), u32(header.secs), u32(header.sequence ?? 0), u32(header.sourceId ?? 0),
    ...sets,
  ]);
}

export interface IpfixHeader {
  exportTime: number;
  sequence?: number;
  domain?: number;
  /** Overrides the message length in the header. */
  length?: number;
}

export function ipfixMessage(header: IpfixHeader, sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(header.length ?? 16 + body.length), u32(header.exportTime), u32(header.sequence ?? 0), u32(header.domain ?? 0), body]);
}

/** The usual IPv4 flow template: addresses, ports, protocol, flags, counters, uptime times. */
export const v4FlowFields: FieldSpec[] = [
  [8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [1, 4], [2, 4], [22, 4], [21, 4], [10, 2], [14, 2], [5, 1],
];

export interface V4Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: number;
  flags: number;
  bytes: number;
  packets: number;
  first: number;
  last: number;
  input?: number;
  output?: number;
  tos?: number;
}

export function v4FlowRecord(f: V4Flow): Buffer {
  return Buffer.concat([
    ipv4(f.src), ipv4(f.dst), u16(f.sport), u16(f.dport), u8(f.protocol), u8(f.flags), u32(f.bytes), u32(f.packets),
    u32(f.first), u32(f.last), u16(f.input ?? 0), u16(f.output ?? 0), u8(f.tos ?? 0),
  ]);
}

/** An event of the NetFlow input, as the tests read it back from JSON. */
export interface FlowEvent {
  '@timestamp': string;
  event: { kind: string; category: string[]; type: string[]; dataset: string; start?: string; end?: string; duration?: number };
  source: { ip?: string; port?: number };
  destination: { ip?: string; port?: number };
  network: { type?: string; transport?: string; iana_number?: string; bytes?: number; packets?: number; community_id?: string };
  observer: { ip: string };
  netflow: { exporter: { address: string; version: number; source_id?: number; uptime_millis?: number } } & Record<string, unknown>;
}
