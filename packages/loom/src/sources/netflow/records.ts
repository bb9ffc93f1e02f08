import { ipv4Text, ipv6Text, macText } from './address.js';
import { elementKind, elementName, Kind } from './elements.js';
import { ntpToUnix, uptimeToUnix, validTime, type FieldValue, type Flow } from './flow.js';
import { VARIABLE, type Template } from './templates.js';

/** What an element is used for: an ECS field, a flow time, or (Extra) a field under netflow.*. */
const Role = {
  Extra: 0,
  SourceV4: 1,
  DestinationV4: 2,
  SourceV6: 3,
  DestinationV6: 4,
  SourcePort: 5,
  DestinationPort: 6,
  Protocol: 7,
  Bytes: 8,
  Packets: 9,
  BytesTotal: 10,
  PacketsTotal: 11,
  StartUptime: 12,
  EndUptime: 13,
  StartSeconds: 14,
  EndSeconds: 15,
  StartMs: 16,
  EndMs: 17,
  StartNtp: 18,
  EndNtp: 19,
  StartDelta: 20,
  EndDelta: 21,
  DurationMs: 22,
  DurationUs: 23,
  IcmpTypeCode: 24,
  IcmpType: 25,
  IcmpCode: 26,
  SystemInit: 27,
} as const;

const roles = new Uint8Array(65536);
for (const [element, role] of [
  [8, Role.SourceV4], [12, Role.DestinationV4], [27, Role.SourceV6], [28, Role.DestinationV6],
  [7, Role.SourcePort], [11, Role.DestinationPort], [4, Role.Protocol],
  [1, Role.Bytes], [2, Role.Packets], [85, Role.BytesTotal], [86, Role.PacketsTotal],
  [22, Role.StartUptime], [21, Role.EndUptime], [150, Role.StartSeconds], [151, Role.EndSeconds],
  [152, Role.StartMs], [153, Role.EndMs], [154, Role.StartNtp], [155, Role.EndNtp], [156, Role.StartNtp], [157, Role.EndNtp],
  [158, Role.StartDelta], [159, Role.EndDelta], [161, Role.DurationMs], [162, Role.DurationUs],
  [32, Role.IcmpTypeCode], [139, Role.IcmpTypeCode], [176, Role.IcmpType], [178, Role.IcmpType], [177, Role.IcmpCode], [179, Role.IcmpCode],
  [160, Role.SystemInit],
] as const) roles[element] = role;

/** What a data record's times are relative to. */
export interface RecordContext {
  exportMs: number;
  /** v9: the header's uptime, the base of first/last switched. */
  uptimeMs: number | undefined;
  /** IPFIX: the exporter's systemInitTimeMilliseconds, from an options record. */
  systemInitMs: number | undefined;
}

/** Times of the record being decoded, before they are resolved into Unix milliseconds. */
class Times {
  start = NaN;
  end = NaN;
  startUptime = NaN;
  endUptime = NaN;
  startDelta = NaN;
  endDelta = NaN;
  durationMs = NaN;
  systemInit = NaN;
  bytesTotal = NaN;
  packetsTotal = NaN;
  icmpTypeCode = NaN;

  reset(): void {
    this.start = this.end = this.startUptime = this.endUptime = this.startDelta = this.endDelta = NaN;
    this.durationMs = this.systemInit = this.bytesTotal = this.packetsTotal = this.icmpTypeCode = NaN;
  }
}

const times = new Times();

/**
 * Decodes one data record of `template` at `at` into `flow`; returns the offset after it, or
 * -1 when the record runs past `end` (the set is malformed).
 */
export function readDataRecord(template: Template, buf: Buffer, at: number, end: number, context: RecordContext, flow: Flow): number {
  const { elements, lengths } = template;
  times.reset();
  for (let i = 0; i < elements.length; i++) {
    let length = lengths[i] as number;
    if (length === VARIABLE) {
      if (at >= end) return -1;
      length = buf[at++] as number;
      if (length === 255) {
        if (end - at < 2) return -1;
        length = buf.readUInt16BE(at);
        at += 2;
      }
    }
    if (end - at < length) return -1;
    const element = elements[i] as number;
    if (element !== 0 && length > 0) assign(element, buf, at, length, flow);
    at += length;
  }
  resolve(flow, context);
  return at;
}

/** What Loom keeps of an options record: the exporter's boot time, the base of IPFIX uptime fields. */
export interface ExporterOptions {
  systemInitMs: number | undefined;
}

/**
 * Walks one options data record (checking its bounds like any record); returns the offset
 * after it, or -1. Its systemInitTimeMilliseconds, if any, goes to `out`.
 */
export function readOptionsRecord(template: Template, buf: Buffer, at: number, end: number, out: ExporterOptions): number {
  const { elements, lengths } = template;
  for (let i = 0; i < elements.length; i++) {
    let length = lengths[i] as number;
    if (length === VARIABLE) {
      if (at >= end) return -1;
      length = buf[at++] as number;
      if (length === 255) {
        if (end - at < 2) return -1;
        length = buf.readUInt16BE(at);
        at += 2;
      }
    }
    if (end - at < length) return -1;
    if (elements[i] === 160 && length >= 1 && length <= 8) out.systemInitMs = validTime(unsigned(buf, at, length));
    at += length;
  }
  return at;
}

function assign(element: number, buf: Buffer, at: number, length: number, flow: Flow): void {
  const role = roles[element] as number;
  if (role === Role.Extra) {
    extra(element, buf, at, length, flow);
    return;
  }
  if (role <= Role.DestinationV6) {
    const v4 = role <= Role.DestinationV4;
    if (length !== (v4 ? 4 : 16)) {
      extra(element, buf, at, length, flow);
      return;
    }
    const text = v4 ? ipv4Text(buf, at) : ipv6Text(buf, at);
    if (role === Role.SourceV4 || role === Role.SourceV6) flow.sourceIp ??= text;
    else flow.destinationIp ??= text;
    return;
  }
  if (length > 8 || (role === Role.StartNtp || role === Role.EndNtp ? length !== 8 : false)) {
    extra(element, buf, at, length, flow);
    return;
  }
  // Ports and protocol in more octets than their range needs would not be valid ECS values.
  if ((role === Role.SourcePort || role === Role.DestinationPort) && length > 2) {
    extra(element, buf, at, length, flow);
    return;
  }
  switch (role) {
    case Role.SourcePort: flow.sourcePort = unsigned(buf, at, length); break;
    case Role.DestinationPort: flow.destinationPort = unsigned(buf, at, length); break;
    case Role.Protocol: if (length === 1) flow.protocol = buf[at]; else extra(element, buf, at, length, flow); break;
    case Role.Bytes: flow.bytes = unsigned(buf, at, length); break;
    case Role.Packets: flow.packets = unsigned(buf, at, length); break;
    case Role.BytesTotal: times.bytesTotal = unsigned(buf, at, length); break;
    case Role.PacketsTotal: times.packetsTotal = unsigned(buf, at, length); break;
    case Role.StartUptime: times.startUptime = unsigned(buf, at, length); break;
    case Role.EndUptime: times.endUptime = unsigned(buf, at, length); break;
    case Role.StartSeconds: if (Number.isNaN(times.start)) times.start = unsigned(buf, at, length) * 1000; break;
    case Role.EndSeconds: if (Number.isNaN(times.end)) times.end = unsigned(buf, at, length) * 1000; break;
    // Milliseconds are the most exact of the absolute times that fit a Date: they win.
    case Role.StartMs: times.start = unsigned(buf, at, length); break;
    case Role.EndMs: times.end = unsigned(buf, at, length); break;
    case Role.StartNtp: if (Number.isNaN(times.start)) times.start = ntpToUnix(buf.readUInt32BE(at), buf.readUInt32BE(at + 4)) ?? NaN; break;
    case Role.EndNtp: if (Number.isNaN(times.end)) times.end = ntpToUnix(buf.readUInt32BE(at), buf.readUInt32BE(at + 4)) ?? NaN; break;
    case Role.StartDelta: times.startDelta = unsigned(buf, at, length); break;
    case Role.EndDelta: times.endDelta = unsigned(buf, at, length); break;
    case Role.DurationMs: times.durationMs = unsigned(buf, at, length); break;
    case Role.DurationUs: if (Number.isNaN(times.durationMs)) times.durationMs = unsigned(buf, at, length) / 1000; break;
    case Role.IcmpTypeCode: times.icmpTypeCode = unsigned(buf, at, length); break;
    case Role.IcmpType: flow.icmpType = unsigned(buf, at, length); break;
    case Role.IcmpCode: flow.icmpCode = unsigned(buf, at, length); break;
    case Role.SystemInit: times.systemInit = unsigned(buf, at, length); break;
  }
}

function extra(element: number, buf: Buffer, at: number, length: number, flow: Flow): void {
  const value = readValue(elementKind[element] as Kind, buf, at, length);
  if (value !== undefined) flow.fields.push(elementName[element] as string, value);
}

/** Turns the record's times, totals and ICMP fields into the flow's final form. */
function resolve(flow: Flow, context: RecordContext): void {
  const { exportMs } = context;
  const systemInit = Number.isNaN(times.systemInit) ? context.systemInitMs : times.systemInit;
  let start = validTime(times.start);
  let end = validTime(times.end);
  if (start === undefined && !Number.isNaN(times.startDelta)) start = validTime(exportMs - times.startDelta / 1000);
  if (end === undefined && !Number.isNaN(times.endDelta)) end = validTime(exportMs - times.endDelta / 1000);
  if (start === undefined && !Number.isNaN(times.startUptime)) {
    start = sinceBoot(times.startUptime, context, systemInit);
    if (start === undefined) flow.fields.push('flow_start_sys_up_time', times.startUptime);
  }
  if (end === undefined && !Number.isNaN(times.endUptime)) {
    end = sinceBoot(times.endUptime, context, systemInit);
    if (end === undefined) flow.fields.push('flow_end_sys_up_time', times.endUptime);
  }
  if (!Number.isNaN(times.durationMs)) {
    if (start !== undefined && end === undefined) end = validTime(start + times.durationMs);
    else if (end !== undefined && start === undefined) start = validTime(end - times.durationMs);
  }
  flow.startMs = start;
  flow.endMs = end;
  if (!Number.isNaN(times.bytesTotal)) {
    if (flow.bytes === undefined) flow.bytes = times.bytesTotal;
    else flow.fields.push('octet_total_count', times.bytesTotal);
  }
  if (!Number.isNaN(times.packetsTotal)) {
    if (flow.packets === undefined) flow.packets = times.packetsTotal;
    else flow.fields.push('packet_total_count', times.packetsTotal);
  }
  if (!Number.isNaN(times.icmpTypeCode)) {
    flow.icmpType ??= times.icmpTypeCode >> 8;
    flow.icmpCode ??= times.icmpTypeCode & 0xff;
  }
  finishIcmp(flow);
}

/** v9 times count from the header's uptime; IPFIX ones from the exporter's system init time. */
function sinceBoot(uptime: number, context: RecordContext, systemInit: number | undefined): number | undefined {
  if (context.uptimeMs !== undefined) return uptimeToUnix(context.exportMs, context.uptimeMs, uptime);
  return systemInit === undefined ? undefined : validTime(systemInit + uptime);
}

/**
 * ICMP flows carry type and code, not ports: exporters without ICMP elements put type × 256 +
 * code in the destination port (Cisco's convention, softflowd's too). They go under netflow.*
 * with the IPFIX names, and the ports leave the flow.
 */
export function finishIcmp(flow: Flow): void {
  const protocol = flow.protocol;
  if (protocol !== 1 && protocol !== 58) {
    flow.icmpType = flow.icmpCode = undefined;
    return;
  }
  if (flow.icmpType === undefined && flow.destinationPort !== undefined) {
    flow.icmpType = flow.destinationPort >> 8;
    flow.icmpCode = flow.destinationPort & 0xff;
  }
  flow.sourcePort = flow.destinationPort = undefined;
  const v4 = protocol === 1;
  if (flow.icmpType !== undefined) flow.fields.push(v4 ? 'icmp_type_ipv4' : 'icmp_type_ipv6', flow.icmpType);
  if (flow.icmpCode !== undefined) flow.fields.push(v4 ? 'icmp_code_ipv4' : 'icmp_code_ipv6', flow.icmpCode);
}

/** Big-endian unsigned integer of 1 to 8 octets (reduced-size encoding, RFC 7011 §6.2); exact below 2^53. */
export function unsigned(buf: Buffer, at: number, length: number): number {
  if (length <= 6) return buf.readUIntBE(at, length);
  return buf.readUIntBE(at, length - 4) * 0x100000000 + buf.readUInt32BE(at + length - 4);
}

/** The value of an element under netflow.*, or undefined when it has nothing to say (or cannot be shown as JSON). */
export function readValue(kind: Kind, buf: Buffer, at: number, length: number): FieldValue | undefined {
  switch (kind) {
    case Kind.Unsigned:
      return length <= 8 ? unsigned(buf, at, length) : buf.toString('hex', at, at + length);
    case Kind.Signed:
      if (length <= 6) return buf.readIntBE(at, length);
      return length === 8 ? Number(buf.readBigInt64BE(at)) : buf.toString('hex', at, at + length);
    case Kind.Float: {
      const value = length === 8 ? buf.readDoubleBE(at) : length === 4 ? buf.readFloatBE(at) : NaN;
      return Number.isFinite(value) ? value : undefined;
    }
    case Kind.Boolean:
      // RFC 7011 §6.1.5: 1 is true, 2 is false.
      return length === 1 && buf[at] === 1 ? true : length === 1 && buf[at] === 2 ? false : undefined;
    case Kind.Mac:
      return length === 6 ? macText(buf, at) : buf.toString('hex', at, at + length);
    case Kind.String: {
      let stop = at + length;
      // Fixed-length strings are padded with NULs.
      while (stop > at && buf[stop - 1] === 0) stop--;
      return stop === at ? undefined : buf.toString('utf8', at, stop);
    }
    case Kind.Seconds:
      return length <= 8 ? isoTime(unsigned(buf, at, length) * 1000) : undefined;
    case Kind.Milliseconds:
      return length <= 8 ? isoTime(unsigned(buf, at, length)) : undefined;
    case Kind.Microseconds:
    case Kind.Nanoseconds:
      return length === 8 ? isoTime(ntpToUnix(buf.readUInt32BE(at), buf.readUInt32BE(at + 4))) : undefined;
    case Kind.Ipv4:
      return length === 4 ? ipv4Text(buf, at) : buf.toString('hex', at, at + length);
    case Kind.Ipv6:
      return length === 16 ? ipv6Text(buf, at) : buf.toString('hex', at, at + length);
    case Kind.Octets:
      return buf.toString('hex', at, at + length);
    default:
      return undefined;
  }
}

function isoTime(ms: number | undefined): string | undefined {
  const valid = ms === undefined ? undefined : validTime(ms);
  return valid === undefined ? undefined : new Date(valid).toISOString();
}
