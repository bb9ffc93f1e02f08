import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Builds the capture that softflowd replays in the NetFlow end-to-end test
 * (test/fixtures/netflow/traffic.pcap): a few TCP connections, UDP exchanges, an ICMP echo and
 * an IPv6 TCP connection, with fixed addresses, payload sizes and timestamps, so the file is
 * the same byte for byte every time it is made.
 *
 *   npx tsc -b && node packages/loom/dist/test/helpers/netflow-pcap.js packages/loom/test/fixtures/netflow/traffic.pcap
 */

interface Packet {
  /** Microseconds since the capture's start. */
  at: number;
  /** The IP packet (no link-layer header). */
  ip: Buffer;
}

const START_SECONDS = 1_714_564_800; // 2024-05-01T12:00:00Z

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i);
  if (bytes.length % 2 === 1) sum += (bytes[bytes.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function v4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function v6(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function ipv4(src: string, dst: string, protocol: number, payload: Buffer, id: number): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payload.length, 2);
  header.writeUInt16BE(id & 0xffff, 4);
  header[8] = 64;
  header[9] = protocol;
  v4(src).copy(header, 12);
  v4(dst).copy(header, 16);
  header.writeUInt16BE(checksum(header), 10);
  return Buffer.concat([header, payload]);
}

function ipv6(src: string, dst: string, nextHeader: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(payload.length, 4);
  header[6] = nextHeader;
  header[7] = 64;
  v6(src).copy(header, 8);
  v6(dst).copy(header, 24);
  return Buffer.concat([header, payload]);
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

function tcp(sport: number, dport: number, flags: number, seq: number, ack: number, data: number): Buffer {
  const segment = Buffer.alloc(20 + data);
  segment.writeUInt16BE(sport, 0);
  segment.writeUInt16BE(dport, 2);
  segment.writeUInt32BE(seq >>> 0, 4);
  segment.writeUInt32BE(ack >>> 0, 8);
  segment[12] = 5 << 4;
  segment[13] = flags;
  segment.writeUInt16BE(65535, 14);
  for (let i = 0; i < data; i++) segment[20 + i] = 0x61 + (i % 26);
  return segment;
}

function udp(sport: number, dport: number, data: number): Buffer {
  const datagram = Buffer.alloc(8 + data);
  datagram.writeUInt16BE(sport, 0);
  datagram.writeUInt16BE(dport, 2);
  datagram.writeUInt16BE(8 + data, 4);
  for (let i = 0; i < data; i++) datagram[8 + i] = i & 0xff;
  return datagram;
}

function icmpEcho(type: number, id: number, seq: number, data: number): Buffer {
  const message = Buffer.alloc(8 + data);
  message[0] = type;
  message.writeUInt16BE(id, 4);
  message.writeUInt16BE(seq, 6);
  for (let i = 0; i < data; i++) message[8 + i] = i & 0xff;
  message.writeUInt16BE(checksum(message), 2);
  return message;
}

/** A TCP connection: handshake, `exchanges` request/response pairs, and a FIN from each side. */
function connection(
  packets: Packet[],
  at: number,
  client: string,
  server: string,
  sport: number,
  dport: number,
  exchanges: [number, number][],
  family: 4 | 6 = 4,
): void {
  let t = at;
  let cseq = 1000;
  let sseq = 5000;
  let id = sport;
  const send = (fromClient: boolean, flags: number, data: number): void => {
    const segment = fromClient ? tcp(sport, dport, flags, cseq, sseq, data) : tcp(dport, sport, flags, sseq, cseq, data);
    const ip = family === 4
      ? (fromClient ? ipv4(client, server, 6, segment, id++) : ipv4(server, client, 6, segment, id++))
      : (fromClient ? ipv6(client, server, 6, segment) : ipv6(server, client, 6, segment));
    packets.push({ at: t, ip });
    if (fromClient) cseq += data + (flags & (SYN | FIN) ? 1 : 0);
    else sseq += data + (flags & (SYN | FIN) ? 1 : 0);
    t += 1500;
  };
  send(true, SYN, 0);
  send(false, SYN | ACK, 0);
  send(true, ACK, 0);
  for (const [request, response] of exchanges) {
    send(true, PSH | ACK, request);
    send(false, PSH | ACK, response);
    send(true, ACK, 0);
  }
  send(true, FIN | ACK, 0);
  send(false, FIN | ACK, 0);
  send(true, ACK, 0);
}

export function trafficPackets(): Packet[] {
  const packets: Packet[] = [];
  connection(packets, 0, '10.1.0.1', '192.0.2.10', 40001, 80, [[120, 1400], [90, 600]]);
  connection(packets, 20_000, '10.1.0.1', '192.0.2.10', 40002, 443, [[517, 1200], [80, 40], [300, 900]]);
  connection(packets, 40_000, '10.1.0.4', '198.51.100.22', 51000, 22, [[41, 41], [1600, 900]]);
  connection(packets, 60_000, '2001:db8::1', '2001:db8::80', 40010, 443, [[400, 1000]], 6);
  // DNS-like UDP: a query and an answer, twice over from another port.
  packets.push({ at: 80_000, ip: ipv4('10.1.0.2', '198.51.100.53', 17, udp(53530, 53, 40), 1) });
  packets.push({ at: 80_900, ip: ipv4('198.51.100.53', '10.1.0.2', 17, udp(53, 53530, 120), 2) });
  packets.push({ at: 81_000, ip: ipv4('10.1.0.2', '198.51.100.53', 17, udp(53531, 53, 44), 3) });
  packets.push({ at: 81_700, ip: ipv4('198.51.100.53', '10.1.0.2', 17, udp(53, 53531, 200), 4) });
  // A UDP sender with no answer (a scanner's probe).
  for (let i = 0; i < 3; i++) packets.push({ at: 90_000 + i * 1000, ip: ipv4('203.0.113.99', '10.1.0.5', 17, udp(44444, 161, 30), 10 + i) });
  // ICMP echo request and reply, three times.
  for (let i = 0; i < 3; i++) {
    packets.push({ at: 100_000 + i * 1000, ip: ipv4('10.1.0.3', '203.0.113.7', 1, icmpEcho(8, 77, i, 56), 20 + i) });
    packets.push({ at: 100_400 + i * 1000, ip: ipv4('203.0.113.7', '10.1.0.3', 1, icmpEcho(0, 77, i, 56), 30 + i) });
  }
  return packets.sort((a, b) => a.at - b.at);
}

/** A classic pcap file (microsecond timestamps, Ethernet link type) of the packets. */
export function pcapFile(packets: readonly Packet[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const parts: Buffer[] = [header];
  for (const packet of packets) {
    const ethernet = Buffer.alloc(14);
    Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(ethernet, 0);
    ethernet.writeUInt16BE(((packet.ip[0] as number) >> 4) === 6 ? 0x86dd : 0x0800, 12);
    const frame = Buffer.concat([ethernet, packet.ip]);
    const record = Buffer.alloc(16);
    const micros = START_SECONDS * 1_000_000 + packet.at;
    record.writeUInt32LE(Math.floor(micros / 1_000_000), 0);
    record.writeUInt32LE(micros % 1_000_000, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    parts.push(record, frame);
  }
  return Buffer.concat(parts);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out === undefined) throw new Error('usage: netflow-pcap.js <output.pcap>');
  writeFileSync(out, pcapFile(trafficPackets()));
}
