import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapFlowRecord } from './map.js';
import { protocolNumber, transportName } from './protocol.js';
import { parseTimestamp } from './timestamp.js';

const origin = { sensor: 'lab-01' };

test('timestamps: seconds, fractions, numeric strings and RFC 3339 with offsets', () => {
  const ok = (value: unknown, millisAbove?: number) => {
    const result = parseTimestamp(value, millisAbove);
    assert.ok(result.ok, JSON.stringify(value));
    return result.value;
  };
  assert.equal(ok(1723290000), '2024-08-10T11:40:00.000Z');
  assert.equal(ok(1723351200.456), '2024-08-11T04:40:00.456Z');
  assert.equal(ok(1723351200.456789), '2024-08-11T04:40:00.456789Z');
  assert.equal(ok(1723351201 - 1e-7), '2024-08-11T04:40:01.000Z');
  assert.equal(ok('1723290000'), '2024-08-10T11:40:00.000Z');
  assert.equal(ok('2024-08-10T11:40:00Z'), '2024-08-10T11:40:00.000Z');
  assert.equal(ok('2024-08-10T13:40:00.123456+02:00'), '2024-08-10T11:40:00.123456Z');
  assert.equal(ok('2024-08-10 11:40:00.1z'), '2024-08-10T11:40:00.100Z');
  assert.equal(ok(1723290000123, 1e11), '2024-08-10T11:40:00.123Z');
  for (const bad of [-1, Number.NaN, 1723290000123, '2024-02-30T00:00:00Z', '2024-08-10', 'yesterday', true, null, {}]) {
    assert.equal(parseTimestamp(bad).ok, false, JSON.stringify(bad));
  }
});

test('protocols by number, decimal string or name; transport keywords as ECS spells them', () => {
  assert.equal(protocolNumber('udp'), 17);
  assert.equal(protocolNumber('TCP'), 6);
  assert.equal(protocolNumber('icmpv6'), 58);
  assert.equal(protocolNumber('47'), 47);
  assert.equal(protocolNumber(132), 132);
  assert.equal(protocolNumber(256), undefined);
  assert.equal(protocolNumber('quic'), undefined);
  assert.equal(transportName(58), 'ipv6-icmp');
  assert.equal(transportName(253), undefined);
});

test('the telemetry-api quickstart record becomes an ECS network event with a Community ID', () => {
  const result = mapFlowRecord({ ts: 1723290000, src_ip: '10.0.0.10', dst_ip: '1.1.1.1', src_port: 12345, dst_port: 53, proto: 'udp', bytes: 84, packets: 1, app: 'dns' }, { ...origin, collectorId: 'gw-1' });
  assert.ok(result.ok);
  assert.deepEqual(result.event, {
    '@timestamp': '2024-08-10T11:40:00.000Z',
    event: { kind: 'event', category: ['network'], type: ['connection'], module: 'flows', dataset: 'flows.records' },
    source: { ip: '10.0.0.10', port: 12345 },
    destination: { ip: '1.1.1.1', port: 53 },
    network: { type: 'ipv4', transport: 'udp', iana_number: '17', protocol: 'dns', bytes: 84, packets: 1, community_id: '1:PcV1pDp7ST763j+bX0k/suHgdFA=' },
    observer: { name: 'lab-01' },
    labels: { collector_id: 'gw-1' },
  });
});

test('optional fields may be absent; unknown fields are kept under flow.*; "protocol" is read like "proto"', () => {
  const minimal = mapFlowRecord({ ts: 1723290000, src_ip: '10.0.0.10', dst_ip: '1.1.1.1' }, origin);
  assert.ok(minimal.ok);
  assert.deepEqual(minimal.event.network, { type: 'ipv4' });
  const extra = mapFlowRecord({ time: '2024-08-10T11:40:00Z', src_ip: '2001:db8::1', dst_ip: '2001:db8::2', protocol: 'icmpv6', src_port: 128, dst_port: 0, ingress_if: 3, exporter: '192.0.2.1' }, origin);
  assert.ok(extra.ok);
  assert.deepEqual(extra.event.flow, { ingress_if: 3, exporter: '192.0.2.1' });
  assert.equal((extra.event.network as Record<string, unknown>).transport, 'ipv6-icmp');
  assert.equal((extra.event.network as Record<string, unknown>).type, 'ipv6');
  assert.match(String((extra.event.network as Record<string, unknown>).community_id), /^1:/);
});

test('every problem of a record is reported with its field', () => {
  const result = mapFlowRecord({ src_ip: '10.0.0.300', dst_port: 70000, src_port: -1, proto: 'quic', bytes: 1.5, packets: '12x', app: 5 }, origin);
  assert.ok(!result.ok);
  assert.deepEqual(result.problems.map((p) => p.field), ['ts', 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'proto', 'bytes', 'packets', 'app']);
  assert.equal(result.problems.find((p) => p.field === 'dst_port')?.message, 'dst_port 70000 is not a port (0–65535)');
  assert.equal(result.problems[0]?.message, 'has no timestamp: one of ts, time or @timestamp is required');
  const notObject = mapFlowRecord([1, 2], origin);
  assert.ok(!notObject.ok);
  assert.match(notObject.problems[0]?.message ?? '', /is an array; every record must be a JSON object/);
});
