import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityId } from '@loom/ecs';
import { ipv6Text } from '../src/sources/netflow/address.js';
import { MAX_RECORDS, NetflowDecoder } from '../src/sources/netflow/decode.js';
import { isoTime, renderFlows } from '../src/sources/netflow/ecs.js';
import { elementKind, elementName, Kind, snakeCase } from '../src/sources/netflow/elements.js';
import type { ExportPacket, Flow } from '../src/sources/netflow/flow.js';
import { uptimeToUnix } from '../src/sources/netflow/flow.js';
import {
  ipfixMessage, ipfixOptionsTemplateRecord, ipv4, ipv6, set, templateRecord, u16, u32, u64, u8, v4FlowFields, v4FlowRecord,
  v5Packet, v9OptionsTemplateRecord, v9Packet, varlen, type FieldSpec, type FlowEvent,
} from './helpers/netflow-packets.js';

const EXPORT_SECS = 1_714_564_800; // 2024-05-01T12:00:00Z
const EXPORTER = '192.0.2.1';
const NOW = 1_000_000;

function decoder(limits: Partial<{ maxTemplates: number; maxPerExporter: number; timeoutMs: number }> = {}): NetflowDecoder {
  return new NetflowDecoder({ maxTemplates: 100, maxPerExporter: 10, timeoutMs: 60_000, ...limits });
}

function decodeOk(d: NetflowDecoder, packet: Buffer, exporter = EXPORTER, now = NOW): ExportPacket {
  const result = d.decode(packet, exporter, now);
  if (!result.ok) assert.fail(`decode failed: ${result.error}`);
  return result.packet;
}

function decodeError(d: NetflowDecoder, packet: Buffer): string {
  const result = d.decode(packet, EXPORTER, NOW);
  if (result.ok) assert.fail('decoded a malformed packet');
  return result.error;
}

function fields(flow: Flow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < flow.fields.length; i += 2) out[flow.fields[i] as string] = flow.fields[i + 1];
  return out;
}

function events(packet: ExportPacket, ip = EXPORTER, port = 40000): FlowEvent[] {
  const lines: string[] = [];
  renderFlows(packet, { ip, port }, Date.UTC(2024, 4, 1, 12, 0, 5), lines);
  return lines.map((line) => JSON.parse(line) as FlowEvent);
}

const tcpFlow = { src: '10.1.0.1', dst: '192.0.2.10', sport: 40001, dport: 80, protocol: 6, flags: 0x1b, bytes: 530, packets: 8, first: 99_000, last: 99_900, input: 3, output: 7, tos: 0x10 };

describe('NetFlow v5', () => {
  const header = { uptime: 100_000, secs: EXPORT_SECS, nsecs: 250_000_000, sequence: 42, engineType: 1, engineId: 7 };

  test('decodes every record field', () => {
    const packet = decodeOk(decoder(), v5Packet(header, [
      { src: '10.1.0.1', dst: '192.0.2.10', nextHop: '10.0.0.254', input: 3, output: 7, packets: 8, bytes: 530, first: 99_000, last: 99_900, sport: 40001, dport: 80, tcpFlags: 0x1b, protocol: 6, tos: 0x10, srcAs: 64500, dstAs: 64501, srcMask: 24, dstMask: 16 },
      { src: '198.51.100.53', dst: '10.1.0.2', packets: 1, bytes: 148, first: 99_500, last: 99_500, sport: 53, dport: 53530, protocol: 17 },
    ]));
    assert.equal(packet.version, 5);
    assert.equal(packet.sequence, 42);
    assert.equal(packet.exportMs, EXPORT_SECS * 1000 + 250);
    assert.equal(packet.flows.length, 2);
    const [tcp, udp] = packet.flows as [Flow, Flow];
    assert.deepEqual(
      [tcp.sourceIp, tcp.destinationIp, tcp.sourcePort, tcp.destinationPort, tcp.protocol, tcp.bytes, tcp.packets],
      ['10.1.0.1', '192.0.2.10', 40001, 80, 6, 530, 8],
    );
    // first switched 1000 ms before the export uptime, last 100 ms before.
    assert.equal(tcp.startMs, EXPORT_SECS * 1000 + 250 - 1000);
    assert.equal(tcp.endMs, EXPORT_SECS * 1000 + 250 - 100);
    assert.deepEqual(fields(tcp), {
      ip_next_hop_ipv4_address: '10.0.0.254', ingress_interface: 3, egress_interface: 7, tcp_control_bits: 0x1b, ip_class_of_service: 0x10,
      bgp_source_as_number: 64500, bgp_destination_as_number: 64501, source_ipv4_prefix_length: 24, destination_ipv4_prefix_length: 16,
      engine_type: 1, engine_id: 7,
    });
    assert.equal(udp.protocol, 17);
    assert.equal(udp.sourcePort, 53);
  });

  test('sampling header and ICMP type/code in the destination port', () => {
    const packet = decodeOk(decoder(), v5Packet({ ...header, sampling: (1 << 14) | 100 }, [
      { src: '10.1.0.3', dst: '203.0.113.7', packets: 3, bytes: 252, first: 99_000, last: 99_100, sport: 0, dport: 0x0800, protocol: 1 },
    ]));
    const flow = packet.flows[0] as Flow;
    assert.equal(flow.sourcePort, undefined);
    assert.equal(flow.destinationPort, undefined);
    assert.equal(flow.icmpType, 8);
    assert.equal(flow.icmpCode, 0);
    const f = fields(flow);
    assert.equal(f.sampling_algorithm, 1);
    assert.equal(f.sampling_interval, 100);
    assert.equal(f.icmp_type_ipv4, 8);
    assert.equal(f.icmp_code_ipv4, 0);
  });

  test('a header claiming more records than the packet holds is malformed', () => {
    const packet = v5Packet({ ...header, count: 3 }, [{ src: '10.0.0.1', dst: '10.0.0.2', packets: 1, bytes: 1, first: 0, last: 0, sport: 1, dport: 2, protocol: 6 }]);
    assert.match(decodeError(decoder(), packet), /claims 3 records/);
    assert.match(decodeError(decoder(), packet.subarray(0, 20)), /shorter than its header/);
  });
});

describe('uptime arithmetic', () => {
  test('wraps around the 32-bit counter', () => {
    // The flow started 5 s before the counter wrapped; the packet was exported 3 s after.
    assert.equal(uptimeToUnix(1_000_000_000, 3000, 0xffffffff - 4999), 1_000_000_000 - 8000);
  });

  test('a time slightly after the export uptime is a small step forward, not 49 days back', () => {
    assert.equal(uptimeToUnix(1_000_000_000, 5000, 5020), 1_000_000_020);
  });
});

describe('NetFlow v9', () => {
  const header = { uptime: 100_000, secs: EXPORT_SECS, sequence: 7, sourceId: 3 };

  test('template and data in one packet; times from the header uptime', () => {
    const packet = decodeOk(decoder(), v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)]), set(256, [v4FlowRecord(tcpFlow)], 4)]));
    assert.equal(packet.version, 9);
    assert.equal(packet.sourceId, 3);
    assert.equal(packet.missingTemplates, 0);
    const flow = packet.flows[0] as Flow;
    assert.deepEqual([flow.sourceIp, flow.destinationIp, flow.sourcePort, flow.destinationPort, flow.protocol, flow.bytes, flow.packets], ['10.1.0.1', '192.0.2.10', 40001, 80, 6, 530, 8]);
    assert.equal(flow.startMs, EXPORT_SECS * 1000 - 1000);
    assert.equal(flow.endMs, EXPORT_SECS * 1000 - 100);
    assert.deepEqual(fields(flow), { tcp_control_bits: 0x1b, ingress_interface: 3, egress_interface: 7, ip_class_of_service: 0x10 });
    // The set was padded to four octets: padding is not a record.
    assert.equal(packet.flows.length, 1);
  });

  test('data before its template is counted, not decoded; later packets decode', () => {
    const d = decoder();
    const data = set(256, [v4FlowRecord(tcpFlow), v4FlowRecord({ ...tcpFlow, sport: 40002 })]);
    const early = decodeOk(d, v9Packet(header, [data]));
    assert.equal(early.missingTemplates, 1);
    assert.equal(early.flows.length, 0);
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]));
    const late = decodeOk(d, v9Packet(header, [data]));
    assert.equal(late.missingTemplates, 0);
    assert.deepEqual(late.flows.map((f) => f.sourcePort), [40001, 40002]);
  });

  test('templates are scoped by exporter address and source id', () => {
    const d = decoder();
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]));
    const data = set(256, [v4FlowRecord(tcpFlow)]);
    assert.equal(decodeOk(d, v9Packet({ ...header, sourceId: 4 }, [data])).missingTemplates, 1);
    assert.equal(decodeOk(d, v9Packet(header, [data]), '192.0.2.2').missingTemplates, 1);
    assert.equal(decodeOk(d, v9Packet(header, [data])).flows.length, 1);
    // IPFIX from the same exporter does not see v9 templates either.
    assert.equal(decodeOk(d, ipfixMessage({ exportTime: EXPORT_SECS, domain: 3 }, [data])).missingTemplates, 1);
  });

  test('a refreshed template keeps working; a redefined one replaces the old layout', () => {
    const d = decoder();
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]));
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]));
    assert.equal(d.templates.size, 1);
    const redefined: FieldSpec[] = [[12, 4], [8, 4], [2, 4]];
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, redefined)])]));
    assert.equal(d.templates.size, 1);
    const flow = decodeOk(d, v9Packet(header, [set(256, [Buffer.concat([ipv4('192.0.2.10'), ipv4('10.1.0.1'), u32(9)])])])).flows[0] as Flow;
    assert.deepEqual([flow.sourceIp, flow.destinationIp, flow.packets, flow.bytes], ['10.1.0.1', '192.0.2.10', 9, undefined]);
  });

  test('templates expire unless refreshed', () => {
    const d = decoder({ timeoutMs: 1000 });
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]), EXPORTER, NOW);
    const data = v9Packet(header, [set(256, [v4FlowRecord(tcpFlow)])]);
    assert.equal(decodeOk(d, data, EXPORTER, NOW + 900).flows.length, 1);
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]), EXPORTER, NOW + 900);
    assert.equal(decodeOk(d, data, EXPORTER, NOW + 1800).flows.length, 1);
    assert.equal(decodeOk(d, data, EXPORTER, NOW + 3000).missingTemplates, 1);
    assert.equal(d.templates.size, 0);
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(257, v4FlowFields)])]), EXPORTER, NOW);
    assert.equal(d.templates.expire(NOW + 5000), 1);
  });

  test('options templates and their records are read, never turned into flows', () => {
    const d = decoder();
    const options = v9OptionsTemplateRecord(300, [[1, 4]], [[34, 4], [35, 1]]);
    const packet = decodeOk(d, v9Packet(header, [
      set(1, [options], 4),
      set(300, [Buffer.concat([u32(1), u32(100), u8(2)])], 4),
      set(0, [templateRecord(256, v4FlowFields)]),
      set(256, [v4FlowRecord(tcpFlow)]),
    ]));
    assert.equal(packet.flows.length, 1);
    assert.equal(d.templates.size, 2);
  });

  test('limits refuse templates beyond them, per exporter and overall', () => {
    const d = decoder({ maxTemplates: 3, maxPerExporter: 2 });
    const packet = decodeOk(d, v9Packet(header, [set(0, [256, 257, 258].map((id) => templateRecord(id, v4FlowFields)))]));
    assert.equal(packet.refusedTemplates, 1);
    assert.equal(d.templates.size, 2);
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]), '192.0.2.2');
    const third = decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])]), '192.0.2.3');
    assert.equal(third.refusedTemplates, 1);
    assert.equal(d.templates.size, 3);
    // A refresh of a known template is never refused.
    assert.equal(decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, v4FlowFields)])])).refusedTemplates, 0);
  });

  test('malformed templates and sets', () => {
    const d = decoder();
    assert.match(decodeError(d, v9Packet(header, [set(0, [templateRecord(255, v4FlowFields)])])), /below 256/);
    assert.match(decodeError(d, v9Packet(header, [set(0, [templateRecord(256, [])])])), /no fields/);
    assert.match(decodeError(d, v9Packet(header, [set(0, [templateRecord(256, [[8, 0xffff]])])])), /65535/);
    assert.match(decodeError(d, v9Packet(header, [set(0, [templateRecord(256, [[8, 0]])])])), /empty records/);
    assert.match(decodeError(d, v9Packet(header, [set(0, [templateRecord(256, Array.from({ length: 513 }, (): FieldSpec => [8, 4]))])])), /513 fields/);
    const truncated = set(0, [templateRecord(256, v4FlowFields).subarray(0, 10)]);
    assert.match(decodeError(d, v9Packet(header, [truncated])), /truncated/);
    assert.match(decodeError(d, Buffer.concat([v9Packet(header, []), u16(256), u16(2)])), /less than its own header/);
    assert.match(decodeError(d, Buffer.concat([v9Packet(header, []), u16(256), u16(40), Buffer.alloc(10)])), /runs past the end/);
    assert.match(decodeError(d, v9Packet(header, []).subarray(0, 19)), /shorter than its header/);
  });

  test('records are read while a whole record fits; a shorter remainder is padding', () => {
    const d = decoder();
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, [[8, 4], [12, 4]])])]));
    assert.equal(decodeOk(d, v9Packet(header, [set(256, [Buffer.alloc(10, 1)])])).flows.length, 1);
  });

  test('at most MAX_RECORDS records per packet', () => {
    const d = decoder();
    decodeOk(d, v9Packet(header, [set(0, [templateRecord(256, [[4, 1]])])]));
    assert.equal(decodeOk(d, v9Packet(header, [set(256, [Buffer.alloc(MAX_RECORDS, 6)])])).flows.length, MAX_RECORDS);
    assert.match(decodeError(d, v9Packet(header, [set(256, [Buffer.alloc(MAX_RECORDS + 1, 6)])])), /more than 4096 records/);
  });
});

describe('IPFIX', () => {
  const header = { exportTime: EXPORT_SECS, sequence: 11, domain: 9 };

  test('variable-length fields, enterprise-specific fields and reduced-size counters', () => {
    const d = decoder();
    const fields2: FieldSpec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 2], [82, 0xffff], [100, 4, 9], [96, 0xffff], [83, 0xffff, 6871], [152, 8], [153, 8]];
    const long = 'x'.repeat(300);
    const record = Buffer.concat([
      ipv4('10.1.0.1'), ipv4('192.0.2.10'), u16(40001), u16(443), u8(6), u32(1297), u16(10),
      varlen('eth0'), u32(0xdeadbeef), varlen(long), varlen('vendor text'), u64(EXPORT_SECS * 1000 - 21), u64(EXPORT_SECS * 1000 - 1),
    ]);
    const packet = decodeOk(d, ipfixMessage(header, [set(2, [templateRecord(400, fields2)]), set(400, [record, record])]));
    assert.equal(packet.version, 10);
    assert.equal(packet.sourceId, 9);
    assert.equal(packet.flows.length, 2);
    const flow = packet.flows[0] as Flow;
    assert.deepEqual([flow.sourceIp, flow.destinationPort, flow.bytes, flow.packets], ['10.1.0.1', 443, 1297, 10]);
    assert.equal(flow.startMs, EXPORT_SECS * 1000 - 21);
    assert.equal(flow.endMs, EXPORT_SECS * 1000 - 1);
    assert.deepEqual(fields(flow), { interface_name: 'eth0', application_name: long });
  });

  test('options records give the system init time that uptime timestamps count from', () => {
    const d = decoder();
    const boot = EXPORT_SECS * 1000 - 3_600_000;
    const packet = decodeOk(d, ipfixMessage(header, [
      set(3, [ipfixOptionsTemplateRecord(256, 1, [[143, 4], [160, 8], [305, 4]])]),
      set(256, [Buffer.concat([u32(1), u64(boot), u32(1)])]),
      set(2, [templateRecord(1024, [[8, 4], [12, 4], [4, 1], [22, 4], [21, 4]])]),
      set(1024, [Buffer.concat([ipv4('10.0.0.1'), ipv4('10.0.0.2'), u8(47), u32(1000), u32(2500)])]),
    ]));
    assert.equal(packet.flows.length, 1);
    const flow = packet.flows[0] as Flow;
    assert.equal(flow.startMs, boot + 1000);
    assert.equal(flow.endMs, boot + 2500);
    // Without an init time the uptime values cannot be dated: they stay as they are.
    const other = decodeOk(decoder(), ipfixMessage(header, [
      set(2, [templateRecord(1024, [[8, 4], [12, 4], [4, 1], [22, 4], [21, 4]])]),
      set(1024, [Buffer.concat([ipv4('10.0.0.1'), ipv4('10.0.0.2'), u8(47), u32(1000), u32(2500)])]),
    ])).flows[0] as Flow;
    assert.equal(other.startMs, undefined);
    assert.deepEqual(fields(other), { flow_start_sys_up_time: 1000, flow_end_sys_up_time: 2500 });
  });

  test('template withdrawal: one template, and all templates of the domain', () => {
    const d = decoder();
    decodeOk(d, ipfixMessage(header, [set(2, [templateRecord(400, v4FlowFields), templateRecord(401, v4FlowFields)]), set(3, [ipfixOptionsTemplateRecord(402, 1, [[143, 4], [160, 8]])])]));
    assert.equal(d.templates.size, 3);
    decodeOk(d, ipfixMessage(header, [set(2, [Buffer.concat([u16(400), u16(0)])])]));
    assert.equal(d.templates.size, 2);
    assert.equal(decodeOk(d, ipfixMessage(header, [set(400, [v4FlowRecord(tcpFlow)])])).missingTemplates, 1);
    decodeOk(d, ipfixMessage(header, [set(2, [Buffer.concat([u16(2), u16(0)])])]));
    assert.equal(d.templates.size, 1, 'the options template stays');
    decodeOk(d, ipfixMessage(header, [set(3, [Buffer.concat([u16(3), u16(0)])])]));
    assert.equal(d.templates.size, 0);
  });

  test('IPv6 flows, ICMPv6 type and code, delta times, duplicate elements', () => {
    const d = decoder();
    const template: FieldSpec[] = [[27, 16], [28, 16], [4, 1], [139, 2], [1, 8], [2, 8], [158, 4], [159, 4], [4, 1], [999, 2]];
    const packet = decodeOk(d, ipfixMessage(header, [
      set(2, [templateRecord(500, template)]),
      set(500, [Buffer.concat([ipv6('2001:db8::1'), ipv6('2001:db8:0:0:1::80'), u8(58), u16((128 << 8) | 0), u64(104), u64(1), u32(2_000_000), u32(1_000_000), u8(6), u16(1)])], 4),
    ]));
    const flow = packet.flows[0] as Flow;
    assert.equal(flow.sourceIp, '2001:db8::1');
    assert.equal(flow.destinationIp, '2001:db8::1:0:0:80');
    assert.equal(flow.protocol, 58, 'the first of two protocolIdentifier fields counts');
    assert.equal(flow.icmpType, 128);
    assert.equal(flow.startMs, EXPORT_SECS * 1000 - 2000);
    assert.equal(flow.endMs, EXPORT_SECS * 1000 - 1000);
    assert.deepEqual(fields(flow), { icmp_type_ipv6: 128, icmp_code_ipv6: 0 });
  });

  test('malformed messages', () => {
    const d = decoder();
    assert.match(decodeError(d, ipfixMessage({ ...header, length: 200 }, [])), /does not fit/);
    assert.match(decodeError(d, ipfixMessage({ ...header, length: 8 }, [])), /does not fit/);
    assert.match(decodeError(d, ipfixMessage(header, [set(2, [Buffer.concat([u16(255), u16(0)])])])), /withdrawal of template id 255/);
    assert.match(decodeError(d, ipfixMessage(header, [set(3, [ipfixOptionsTemplateRecord(256, 0, [[143, 4]])])])), /scope fields/);
    assert.match(decodeError(d, ipfixMessage(header, [set(2, [Buffer.concat([u16(256), u16(1), u16(8 | 0x8000), u16(4), u16(0)])])])), /truncated/);
    decodeOk(d, ipfixMessage(header, [set(2, [templateRecord(256, [[8, 4], [82, 0xffff]])])]));
    assert.match(decodeError(d, ipfixMessage(header, [set(256, [ipv4('10.0.0.1'), u8(200), Buffer.from('short')])])), /runs past the end of its set/);
    assert.match(decodeError(d, ipfixMessage(header, [set(256, [ipv4('10.0.0.1'), u8(255), u8(1)])])), /runs past/);
    assert.match(decodeError(d, Buffer.from([0, 7, 0, 0])), /version 7/);
    assert.match(decodeError(d, Buffer.from([0, 10])), /too short/);
  });

  test('reserved set ids are skipped whole, and a trailing short remainder is padding', () => {
    const packet = decodeOk(decoder(), ipfixMessage(header, [set(4, [Buffer.alloc(12, 0xff)]), set(2, [templateRecord(256, v4FlowFields)]), set(256, [v4FlowRecord(tcpFlow)]), Buffer.alloc(3)]));
    assert.equal(packet.flows.length, 1);
  });
});

describe('ECS events', () => {
  test('a v9 flow as an ECS event', () => {
    const d = decoder();
    const packet = decodeOk(d, v9Packet({ uptime: 100_000, secs: EXPORT_SECS, sourceId: 3 }, [set(0, [templateRecord(256, v4FlowFields)]), set(256, [v4FlowRecord(tcpFlow)])]));
    const [event] = events(packet);
    assert.ok(event);
    assert.equal(event['@timestamp'], '2024-05-01T12:00:00.000Z');
    assert.deepEqual(event.event, {
      kind: 'event', category: ['network'], type: ['connection'], dataset: 'netflow.flow',
      start: '2024-05-01T11:59:59.000Z', end: '2024-05-01T11:59:59.900Z', duration: 900_000_000,
    });
    assert.deepEqual(event.source, { ip: '10.1.0.1', port: 40001 });
    assert.deepEqual(event.destination, { ip: '192.0.2.10', port: 80 });
    assert.deepEqual(event.network, {
      type: 'ipv4', transport: 'tcp', iana_number: '6', bytes: 530, packets: 8,
      community_id: communityId({ sourceIp: '10.1.0.1', destinationIp: '192.0.2.10', protocol: 6, sourcePort: 40001, destinationPort: 80 }),
    });
    assert.deepEqual(event.observer, { ip: EXPORTER });
    assert.deepEqual(event.netflow, {
      exporter: { address: `${EXPORTER}:40000`, version: 9, source_id: 3, uptime_millis: 100_000 },
      tcp_control_bits: 0x1b, ingress_interface: 3, egress_interface: 7, ip_class_of_service: 0x10,
    });
  });

  test('ICMP, IPv6 exporters, strings that need escaping, missing export time', () => {
    const d = decoder();
    const packet = decodeOk(d, ipfixMessage({ exportTime: 0, domain: 1 }, [
      set(2, [templateRecord(256, [[8, 4], [12, 4], [4, 1], [32, 2], [82, 0xffff], [56, 6]])]),
      set(256, [Buffer.concat([ipv4('10.1.0.3'), ipv4('203.0.113.7'), u8(1), u16(0x0800), varlen('a"b\\c\n\u00e9'), Buffer.from([2, 0, 0, 0, 0xab, 1])])]),
    ]));
    const [event] = events(packet, '2001:db8::7', 2055);
    assert.ok(event);
    assert.equal(event['@timestamp'], '1970-01-01T00:00:00.000Z');
    assert.equal(event.source.port, undefined);
    assert.equal(event.network.transport, 'icmp');
    assert.equal(event.network.community_id, communityId({ sourceIp: '10.1.0.3', destinationIp: '203.0.113.7', protocol: 1, icmpType: 8, icmpCode: 0 }));
    assert.equal(event.netflow.interface_name, 'a"b\\c\n\u00e9');
    assert.equal(event.netflow.source_mac_address, '02:00:00:00:ab:01');
    assert.equal(event.netflow.icmp_type_ipv4, 8);
    assert.equal(event.netflow.exporter.address, '[2001:db8::7]:2055');
    assert.equal(event.observer.ip, '2001:db8::7');
  });
});

describe('element registry, address and time text', () => {
  test('isoTime is Date#toISOString', () => {
    const samples = [0, 1, 999, 59_999, 60_000, 1_714_564_799_999, 1_714_564_800_000, 951_782_400_000, 253_402_300_799_999];
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      samples.push((x % 4_000_000) * 1_000_000 + (x % 997));
    }
    for (const ms of samples) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  });

  test('IANA names in snake_case', () => {
    assert.equal(snakeCase('sourceIPv4Address'), 'source_ipv4_address');
    assert.equal(snakeCase('postMCastPacketDeltaCount'), 'post_mcast_packet_delta_count');
    assert.equal(snakeCase('minimumTTL'), 'minimum_ttl');
    assert.equal(snakeCase('VRFname'), 'vrf_name');
    assert.equal(snakeCase('selectorIDTotalFlowsObserved'), 'selector_id_total_flows_observed');
    assert.equal(elementName[6], 'tcp_control_bits');
    assert.equal(elementName[5], 'ip_class_of_service');
    assert.equal(elementKind[27], Kind.Ipv6);
    assert.equal(elementKind[65], Kind.Skip, 'reserved for v9 compatibility, not named by IANA');
    assert.equal(elementName[482], 'vpn_identifier');
  });

  test('RFC 5952 IPv6 text', () => {
    const text = (address: string): string => ipv6Text(ipv6(address), 0);
    assert.equal(text('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
    assert.equal(text('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(text('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
    assert.equal(text('::'), '::');
    assert.equal(text('::1'), '::1');
    assert.equal(text('fe80::'), 'fe80::');
    assert.equal(text('::ffff:c000:0201'), '::ffff:192.0.2.1');
  });
});
