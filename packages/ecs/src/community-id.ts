import { hash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Community ID v1 (corelight/community-id-spec): a direction-free SHA-1 over the flow tuple, so
 * a connection seen by Spip, a NetFlow exporter, Zeek and Suricata carries the same string.
 */
export interface CommunityIdFlow {
  sourceIp: string;
  destinationIp: string;
  /** IANA protocol number: 6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6, anything else port-less. */
  protocol: number;
  sourcePort?: number;
  destinationPort?: number;
  /** ICMP/ICMPv6 message type; falls back to sourcePort, as flow exporters often store it there. */
  icmpType?: number;
  /** ICMP/ICMPv6 code; falls back to destinationPort. */
  icmpCode?: number;
}

export interface CommunityIdOptions {
  /** 0–65535; hashed first, so sensors in different "domains" can keep their IDs apart. */
  seed?: number;
  /** false renders the digest as lowercase hex instead of base64 (the spec's --no-base64). */
  base64?: boolean;
}

const TCP = 6;
const UDP = 17;
const SCTP = 132;
const ICMP = 1;
const ICMP6 = 58;

// Zeek's request/reply pairs (ICMP.cc, ICMP4_counterpart/ICMP6_counterpart). Types outside these
// maps are one-way: their code stands in for the second port and the endpoints are never swapped.
const ICMP4_COUNTERPART = new Map<number, number>([
  [8, 0], [0, 8], // echo
  [13, 14], [14, 13], // timestamp
  [15, 16], [16, 15], // information
  [10, 9], [9, 10], // router solicitation / advertisement
  [17, 18], [18, 17], // address mask
]);
const ICMP6_COUNTERPART = new Map<number, number>([
  [128, 129], [129, 128], // echo
  [130, 131], [131, 130], // multicast listener query / report
  [133, 134], [134, 133], // router solicitation / advertisement
  [135, 136], [136, 135], // neighbour solicitation / advertisement
  [139, 140], [140, 139], // node information (who-are-you)
  [144, 145], [145, 144], // home agent address discovery
]);

/**
 * The Community ID of a flow, e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`.
 *
 * Returns undefined when an address does not parse, the two addresses are of different
 * families, or a port-carrying protocol (TCP, UDP, SCTP, ICMP, ICMPv6) lacks its ports or has
 * one outside 0–65535: the spec says to report nothing rather than a colliding value.
 * IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) are hashed
 * as IPv4, as a capture of the same packets would see them. For other protocols any ports
 * given are ignored. Throws RangeError for a seed outside 0–65535 (a configuration error).
 */
export function communityId(flow: CommunityIdFlow, options: CommunityIdOptions = {}): string | undefined {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff) throw new RangeError(`community ID seed must be an integer from 0 to 65535, got ${seed}`);
  const proto = flow.protocol;
  if (proto === TCP || proto === UDP || proto === SCTP) {
    const fast = portFlowV4(seed, proto, flow, options.base64 === false ? 'hex' : 'base64');
    if (fast !== undefined) return fast;
  }
  let a = parseAddress(flow.sourceIp);
  let b = parseAddress(flow.destinationIp);
  if (a === undefined || b === undefined || a.length !== b.length) return undefined;
  if (!Number.isInteger(proto) || proto < 0 || proto > 255) return undefined;

  let ports: [number, number] | undefined;
  let oneWay = false;
  if (proto === ICMP || proto === ICMP6) {
    const type = flow.icmpType ?? flow.sourcePort;
    const code = flow.icmpCode ?? flow.destinationPort ?? 0;
    if (!isPort(type) || !isPort(code)) return undefined;
    const counterpart = (proto === ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART).get(type);
    oneWay = counterpart === undefined;
    ports = [type, counterpart ?? code];
  } else if (proto === TCP || proto === UDP || proto === SCTP) {
    if (!isPort(flow.sourcePort) || !isPort(flow.destinationPort)) return undefined;
    ports = [flow.sourcePort, flow.destinationPort];
  }

  if (!oneWay && !isOrdered(a, b, ports)) {
    [a, b] = [b, a];
    if (ports !== undefined) ports = [ports[1], ports[0]];
  }

  const input = Buffer.alloc(2 + a.length * 2 + 2 + (ports === undefined ? 0 : 4));
  let offset = input.writeUInt16BE(seed, 0);
  input.set(a, offset);
  offset += a.length;
  input.set(b, offset);
  offset += b.length;
  offset = input.writeUInt8(proto, offset);
  offset = input.writeUInt8(0, offset);
  if (ports !== undefined) {
    offset = input.writeUInt16BE(ports[0], offset);
    input.writeUInt16BE(ports[1], offset);
  }
  const digest = hash('sha1', input, options.base64 === false ? 'hex' : 'base64');
  return `1:${digest}`;
}

// Seed, two IPv4 addresses, protocol, padding and two ports: the input of every IPv4 TCP, UDP
// or SCTP flow, which is nearly every flow a sensor sees. Reused, as hashing copies it at once.
const v4Input = Buffer.alloc(16);

/**
 * The common case without the general parser's arrays and buffers: both addresses plain dotted
 * quads and both ports valid. Anything else (IPv6, mapped or unusual spellings, bad ports) is
 * left to the general path, which also decides whether it is valid at all.
 */
function portFlowV4(seed: number, proto: number, flow: CommunityIdFlow, encoding: 'hex' | 'base64'): string | undefined {
  const { sourcePort, destinationPort } = flow;
  if (!isPort(sourcePort) || !isPort(destinationPort)) return undefined;
  const source = dottedQuad(flow.sourceIp);
  if (source < 0) return undefined;
  const destination = dottedQuad(flow.destinationIp);
  if (destination < 0) return undefined;
  const ordered = source !== destination ? source < destination : sourcePort <= destinationPort;
  v4Input.writeUInt16BE(seed, 0);
  v4Input.writeUInt32BE(ordered ? source : destination, 2);
  v4Input.writeUInt32BE(ordered ? destination : source, 6);
  v4Input[10] = proto;
  v4Input[11] = 0;
  v4Input.writeUInt16BE(ordered ? sourcePort : destinationPort, 12);
  v4Input.writeUInt16BE(ordered ? destinationPort : sourcePort, 14);
  return `1:${hash('sha1', v4Input, encoding)}`;
}

/** The address as an unsigned 32-bit number, or -1 unless it is four decimal octets without leading zeros (what isIPv4 accepts). */
function dottedQuad(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 0x30);
      digits++;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function isPort(value: number | undefined): value is number {
  return value !== undefined && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/** Smaller address first; equal addresses are decided by the ports (spec: is_lt). */
function isOrdered(a: Uint8Array, b: Uint8Array, ports: [number, number] | undefined): boolean {
  const byAddress = Buffer.compare(a, b);
  if (byAddress !== 0) return byAddress < 0;
  return ports === undefined || ports[0] <= ports[1];
}

/** Network-order bytes of an IPv4 or IPv6 address (zone index dropped), or undefined. */
function parseAddress(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return ipv4Bytes(text);
  if (!isIPv6(text)) return undefined;
  const zone = text.indexOf('%');
  const bytes = ipv6Bytes(zone < 0 ? text : text.slice(0, zone));
  if (bytes === undefined) return undefined;
  const mapped = bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), (part) => Number(part));
}

// Only called on strings node:net already accepted, so the grammar is known to be valid.
function ipv6Bytes(text: string): Uint8Array | undefined {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = ipv4Bytes(piece);
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  const head = groups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2));
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (gap < 0 && missing !== 0)) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}
