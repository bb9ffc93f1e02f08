// Reads TCP conversations out of pcap and pcapng captures so parsers can be
// tested against real traffic. Test-only: it favours clarity over speed and
// skips what it cannot decode (IP fragments, unknown link types) instead of
// failing, because fixtures captured in the wild contain such packets.
import { readFileSync } from 'node:fs';

export interface TcpStream {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  client: Uint8Array;
  server: Uint8Array;
}

interface RawPacket {
  linkType: number;
  data: Uint8Array;
}

interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  flags: number;
  payload: Uint8Array;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

export function readTcpStreams(path: string): TcpStream[] {
  const file = new Uint8Array(readFileSync(path));
  const packets = isPcapng(file) ? readPcapng(file) : readPcap(file);
  const tracker = new StreamTracker();
  for (const packet of packets) {
    const segment = decodeLink(packet.linkType, packet.data);
    if (segment !== undefined) tracker.add(segment);
  }
  return tracker.finish();
}

function isPcapng(file: Uint8Array): boolean {
  return file.length >= 4 && file[0] === 0x0a && file[1] === 0x0d && file[2] === 0x0d && file[3] === 0x0a;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readPcap(file: Uint8Array): RawPacket[] {
  if (file.length < 24) throw new Error('pcap: file shorter than its global header');
  const dv = view(file);
  const magicLE = dv.getUint32(0, true);
  let little: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) little = true;
  else if (dv.getUint32(0, false) === 0xa1b2c3d4 || dv.getUint32(0, false) === 0xa1b23c4d) little = false;
  else throw new Error(`pcap: unknown magic 0x${magicLE.toString(16)}`);
  // The upper bits of the link-type word may carry an FCS length (pcap 2.4 extension).
  const linkType = dv.getUint32(20, little) & 0x0fffffff;
  const packets: RawPacket[] = [];
  let offset = 24;
  while (offset + 16 <= file.length) {
    const capLen = dv.getUint32(offset + 8, little);
    const start = offset + 16;
    if (start + capLen > file.length) break;
    packets.push({ linkType, data: file.subarray(start, start + capLen) });
    offset = start + capLen;
  }
  return packets;
}

function readPcapng(file: Uint8Array): RawPacket[] {
  const dv = view(file);
  const packets: RawPacket[] = [];
  let little = true;
  let interfaces: { linkType: number; snapLen: number }[] = [];
  let offset = 0;
  while (offset + 12 <= file.length) {
    let type = dv.getUint32(offset, little);
    if (type === 0x0a0d0d0a) {
      // Each section header declares its own byte order, so read it before the length.
      const magic = dv.getUint32(offset + 8, true);
      if (magic === 0x1a2b3c4d) little = true;
      else if (magic === 0x4d3c2b1a) little = false;
      else throw new Error(`pcapng: bad byte-order magic at offset ${offset}`);
      type = 0x0a0d0d0a;
      interfaces = [];
    }
    const length = dv.getUint32(offset + 4, little);
    if (length < 12 || length % 4 !== 0 || offset + length > file.length) break;
    const body = offset + 8;
    const bodyEnd = offset + length - 4;
    if (type === 0x00000001 && body + 8 <= bodyEnd) {
      interfaces.push({ linkType: dv.getUint16(body, little), snapLen: dv.getUint32(body + 4, little) });
    } else if (type === 0x00000006 && body + 20 <= bodyEnd) {
      const iface = interfaces[dv.getUint32(body, little)];
      const capLen = dv.getUint32(body + 12, little);
      if (iface !== undefined && body + 20 + capLen <= bodyEnd) {
        packets.push({ linkType: iface.linkType, data: file.subarray(body + 20, body + 20 + capLen) });
      }
    } else if (type === 0x00000003 && body + 4 <= bodyEnd) {
      const iface = interfaces[0];
      if (iface !== undefined) {
        const origLen = dv.getUint32(body, little);
        let capLen = Math.min(origLen, bodyEnd - body - 4);
        if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
        packets.push({ linkType: iface.linkType, data: file.subarray(body + 4, body + 4 + capLen) });
      }
    } else if (type === 0x00000002 && body + 20 <= bodyEnd) {
      // Obsolete Packet Block: interface id is 16 bits, followed by a drops count.
      const iface = interfaces[dv.getUint16(body, little)];
      const capLen = dv.getUint32(body + 12, little);
      if (iface !== undefined && body + 20 + capLen <= bodyEnd) {
        packets.push({ linkType: iface.linkType, data: file.subarray(body + 20, body + 20 + capLen) });
      }
    }
    offset += length;
  }
  return packets;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW_BSD = 12;
const LINKTYPE_RAW_OPENBSD = 14;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

function decodeLink(linkType: number, data: Uint8Array): TcpSegment | undefined {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (data.length < 14) return undefined;
      return decodeEtherType(u16(data, 12), data.subarray(14));
    case LINKTYPE_LINUX_SLL:
      if (data.length < 16) return undefined;
      return decodeEtherType(u16(data, 14), data.subarray(16));
    case LINKTYPE_LINUX_SLL2:
      if (data.length < 20) return undefined;
      return decodeEtherType(u16(data, 0), data.subarray(20));
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      // The 4-byte address family is in the writer's byte order and its
      // IPv6 value differs between BSDs, so the IP version nibble decides.
      return data.length < 4 ? undefined : decodeIp(data.subarray(4));
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD:
    case LINKTYPE_RAW_OPENBSD:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return decodeIp(data);
    default:
      return undefined;
  }
}

function decodeEtherType(etherType: number, payload: Uint8Array): TcpSegment | undefined {
  let type = etherType;
  let rest = payload;
  // 802.1Q, 802.1ad and the pre-standard QinQ tag each add 4 bytes before the real type.
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (rest.length < 4) return undefined;
    type = u16(rest, 2);
    rest = rest.subarray(4);
  }
  if (type === 0x0800 || type === 0x86dd) return decodeIp(rest);
  return undefined;
}

function decodeIp(data: Uint8Array): TcpSegment | undefined {
  const first = data[0];
  if (first === undefined) return undefined;
  const version = first >> 4;
  if (version === 4) return decodeIpv4(data);
  if (version === 6) return decodeIpv6(data);
  return undefined;
}

function decodeIpv4(data: Uint8Array): TcpSegment | undefined {
  if (data.length < 20) return undefined;
  const headerLen = (data[0]! & 0x0f) * 4;
  const totalLen = u16(data, 2);
  const fragment = u16(data, 6);
  if (headerLen < 20 || totalLen < headerLen) return undefined;
  if ((fragment & 0x3fff) !== 0) return undefined;
  if (data[9] !== 6) return undefined;
  // Ethernet pads short frames; the IP total length says where the packet really ends.
  const end = Math.min(totalLen, data.length);
  if (end < headerLen) return undefined;
  return decodeTcp(formatIpv4(data.subarray(12, 16)), formatIpv4(data.subarray(16, 20)), data.subarray(headerLen, end));
}

function decodeIpv6(data: Uint8Array): TcpSegment | undefined {
  if (data.length < 40) return undefined;
  const end = Math.min(40 + u16(data, 4), data.length);
  let next = data[6]!;
  let offset = 40;
  for (;;) {
    if (next === 6) break;
    if (next === 0 || next === 43 || next === 60) {
      if (offset + 8 > end) return undefined;
      const following = data[offset]!;
      offset += (data[offset + 1]! + 1) * 8;
      next = following;
    } else {
      // Fragments (44), ESP, no-next-header and anything else: not reassembled here.
      return undefined;
    }
  }
  if (offset > end) return undefined;
  return decodeTcp(formatIpv6(data.subarray(8, 24)), formatIpv6(data.subarray(24, 40)), data.subarray(offset, end));
}

function decodeTcp(src: string, dst: string, tcp: Uint8Array): TcpSegment | undefined {
  if (tcp.length < 20) return undefined;
  const headerLen = (tcp[12]! >> 4) * 4;
  if (headerLen < 20 || headerLen > tcp.length) return undefined;
  return {
    src,
    dst,
    srcPort: u16(tcp, 0),
    dstPort: u16(tcp, 2),
    seq: view(tcp).getUint32(4, false),
    flags: tcp[13]!,
    payload: tcp.subarray(headerLen),
  };
}

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

function formatIpv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

// RFC 5952: lowercase, no leading zeros, the longest run (leftmost on a tie)
// of two or more zero groups becomes "::".
function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(u16(b, i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

interface Direction {
  // Sequence number of the first payload byte, once known from a SYN.
  base: number | undefined;
  segments: { seq: number; payload: Uint8Array }[];
}

interface Conversation {
  a: { ip: string; port: number };
  b: { ip: string; port: number };
  // 'a' or 'b': which endpoint opened the connection.
  initiator: 'a' | 'b';
  initiatorKnownFromSyn: boolean;
  synSeq: number | undefined;
  closed: boolean;
  toB: Direction;
  toA: Direction;
}

class StreamTracker {
  private readonly conversations: Conversation[] = [];
  private readonly current = new Map<string, Conversation>();

  add(seg: TcpSegment): void {
    const fromA = endpointKey(seg.src, seg.srcPort) < endpointKey(seg.dst, seg.dstPort);
    const key = fromA
      ? `${endpointKey(seg.src, seg.srcPort)}|${endpointKey(seg.dst, seg.dstPort)}`
      : `${endpointKey(seg.dst, seg.dstPort)}|${endpointKey(seg.src, seg.srcPort)}`;
    const isSyn = (seg.flags & (SYN | ACK)) === SYN;
    let conv = this.current.get(key);
    // A fresh SYN with a new initial sequence number on a finished tuple is a
    // new connection reusing the ports, which tshark counts as a new stream.
    if (conv !== undefined && isSyn && conv.synSeq !== undefined && conv.synSeq !== seg.seq && conv.closed) {
      conv = undefined;
    }
    const sender: 'a' | 'b' = fromA ? 'a' : 'b';
    if (conv === undefined) {
      const here = { ip: seg.src, port: seg.srcPort };
      const there = { ip: seg.dst, port: seg.dstPort };
      const synAck = (seg.flags & (SYN | ACK)) === (SYN | ACK);
      conv = {
        a: fromA ? here : there,
        b: fromA ? there : here,
        initiator: synAck ? (sender === 'a' ? 'b' : 'a') : sender,
        initiatorKnownFromSyn: isSyn || synAck,
        synSeq: isSyn ? seg.seq : undefined,
        closed: false,
        toB: { base: undefined, segments: [] },
        toA: { base: undefined, segments: [] },
      };
      this.conversations.push(conv);
      this.current.set(key, conv);
    } else if (isSyn && !conv.initiatorKnownFromSyn) {
      conv.initiator = sender;
      conv.initiatorKnownFromSyn = true;
    }
    if (isSyn) conv.synSeq = seg.seq;
    if ((seg.flags & (FIN | RST)) !== 0) conv.closed = true;
    const dir = sender === 'a' ? conv.toB : conv.toA;
    let seq = seg.seq;
    if ((seg.flags & SYN) !== 0) {
      dir.base = (seg.seq + 1) >>> 0;
      seq = (seq + 1) >>> 0;
    }
    if (seg.payload.length > 0) dir.segments.push({ seq, payload: seg.payload });
  }

  finish(): TcpStream[] {
    return this.conversations.map((conv) => {
      const client = conv.initiator === 'a' ? conv.a : conv.b;
      const server = conv.initiator === 'a' ? conv.b : conv.a;
      const clientDir = conv.initiator === 'a' ? conv.toB : conv.toA;
      const serverDir = conv.initiator === 'a' ? conv.toA : conv.toB;
      return {
        src: client.ip,
        dst: server.ip,
        srcPort: client.port,
        dstPort: server.port,
        client: reassemble(clientDir),
        server: reassemble(serverDir),
      };
    });
  }
}

function endpointKey(ip: string, port: number): string {
  return `${ip}#${port}`;
}

// Orders segments by their sequence offset relative to the stream start,
// dropping retransmitted bytes. Reassembly stops at the first hole: bytes
// after a missing segment would be misleading input for a parser.
function reassemble(dir: Direction): Uint8Array {
  if (dir.segments.length === 0) return new Uint8Array(0);
  const first = dir.segments[0]!.seq;
  // Signed 32-bit distances make sequence wrap-around harmless.
  const relative = dir.segments.map((s) => ({ off: (s.seq - first) | 0, payload: s.payload }));
  relative.sort((x, y) => x.off - y.off);
  const start = dir.base !== undefined ? (dir.base - first) | 0 : relative[0]!.off;
  const parts: Uint8Array[] = [];
  let next = start;
  for (const { off, payload } of relative) {
    const end = off + payload.length;
    if (end <= next) continue;
    if (off > next) break;
    parts.push(payload.subarray(next - off));
    next = end;
  }
  const out = new Uint8Array(next - start);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
