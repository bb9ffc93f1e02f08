import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { baseToml, startLoom, type LoomProcess } from './helpers/loom-process.js';
import { request, type Reply } from './helpers/http.js';

const token = 'flows-token-0123456789abcdef';
const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/flows/${name}`, import.meta.url), 'utf8');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('flow records over HTTP', () => {
  let loom: LoomProcess;
  const post = (body: string | Uint8Array, extra: Record<string, string> = {}, path = '/api/v1/flows'): Promise<Reply> =>
    request(loom.url(path), body, { headers: { ...headers, ...extra } });
  /** Posts a batch and returns the events it produced on stdout. */
  async function accepted(body: string | Uint8Array, count: number, extra: Record<string, string> = {}, path?: string): Promise<Json[]> {
    const from = loom.stdoutLines.length;
    const reply = await post(body, extra, path);
    assert.equal(reply.status, 204, reply.text);
    await loom.until(() => loom.stdoutLines.length >= from + count, `${count} events`);
    return loom.stdoutLines.slice(from, from + count).map((line) => JSON.parse(line) as Json);
  }

  before(async () => {
    loom = await startLoom({
      toml: baseToml({ limits: 'per_sensor_rps = -1\nmax_events_per_batch = 5\nmax_event_size_bytes = 2048\nmax_body_size_bytes = 65536' }),
      env: { LOOM_SENSOR_flow_collector_1: token },
    });
    assert.ok(loom.ingestPort > 0, loom.stderrText);
  });
  after(async () => {
    assert.equal(await loom.stop(), 0);
  });

  test('the telemetry-api quickstart record, raw and wrapped, becomes an ECS network event', async () => {
    const [raw] = await accepted(fixture('quickstart.json'), 1);
    assert.deepEqual(raw, {
      '@timestamp': '2024-08-10T11:40:00.000Z',
      event: { kind: 'event', category: ['network'], type: ['connection'], module: 'flows', dataset: 'flows.records' },
      source: { ip: '10.0.0.10', port: 12345 },
      destination: { ip: '1.1.1.1', port: 53 },
      network: { type: 'ipv4', transport: 'udp', iana_number: '17', protocol: 'dns', bytes: 84, packets: 1, community_id: '1:PcV1pDp7ST763j+bX0k/suHgdFA=' },
      observer: { name: 'flow-collector-1' },
    });
    const [wrapped] = await accepted(fixture('quickstart-wrapped.json'), 1);
    assert.deepEqual(wrapped, raw);
  });

  test('gzip is recognised by Content-Encoding and by its magic bytes alone', async () => {
    const body = gzipSync(fixture('quickstart-minimal.json'));
    const [byHeader] = await accepted(body, 1, { 'Content-Encoding': 'gzip' });
    const [byMagic] = await accepted(body, 1);
    assert.deepEqual(byHeader, byMagic);
    assert.deepEqual(byMagic?.network, { type: 'ipv4' });
  });

  test('the telemetry-api samples: flows_v1.json (pretty, "protocol") and a NetFlow mapper batch on /v1/ingest', async () => {
    const [sample] = await accepted(fixture('flows_v1.json'), 1);
    assert.equal(sample?.['@timestamp'], '2024-08-11T04:40:00.456Z');
    assert.equal(sample?.network.transport, 'tcp');
    assert.deepEqual(sample?.labels, { collector_id: 'lab-flows-1' });
    const mapped = await accepted(fixture('nf2ingest.json'), 3, {}, '/v1/ingest');
    assert.deepEqual(mapped.map((e) => e.network.transport), ['tcp', 'ipv6-icmp', 'ospf']);
    assert.deepEqual(mapped[0]?.flow, { ingress_if: 3, egress_if: 1 });
    assert.equal(mapped[1]?.network.type, 'ipv6');
  });

  test('NDJSON, also labelled application/json', async () => {
    const lines = '{"ts":1723290000,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","proto":"tcp","src_port":1,"dst_port":2}\n{"ts":"2024-08-10T11:40:01Z","src_ip":"10.0.0.1","dst_ip":"10.0.0.2"}\n';
    assert.equal((await accepted(lines, 2, { 'Content-Type': 'application/x-ndjson' })).length, 2);
    assert.equal((await accepted(lines, 2)).length, 2);
  });

  test('a bad record refuses the whole batch with 400 naming each record and field', async () => {
    const records = JSON.parse(fixture('quickstart.json')) as Json[];
    const good = records[0] as Json;
    const batch = [good, good, { ...good, dst_port: 70000 }, { ...good, ts: undefined, src_ip: '10.0.0.300' }];
    const from = loom.stdoutLines.length;
    const reply = await post(JSON.stringify(batch));
    assert.equal(reply.status, 400, reply.text);
    const body = JSON.parse(reply.text) as Json;
    assert.equal(body.error, 'invalid_request');
    assert.match(body.message, /^record 2: dst_port 70000 is not a port \(0–65535\) \(3 problems in 2 records, listed in "records"\); nothing of this batch was delivered$/);
    assert.deepEqual(body.records, [
      { index: 2, field: 'dst_port', message: 'dst_port 70000 is not a port (0–65535)' },
      { index: 3, field: 'ts', message: 'has no timestamp: one of ts, time or @timestamp is required' },
      { index: 3, field: 'src_ip', message: 'src_ip "10.0.0.300" is not an IP address' },
    ]);
    // Nothing of it went out: the next event written is the next batch's.
    const [next] = await accepted(JSON.stringify([{ ...good, app: 'marker' }]), 1);
    assert.equal(loom.stdoutLines.length, from + 1);
    assert.equal(next?.network.protocol, 'marker');
  });

  const refused: { name: string; body: () => string | Uint8Array; extra?: Record<string, string>; status: number; code: string; message: RegExp }[] = [
    { name: 'more records than limits.max_events_per_batch', body: () => JSON.stringify(Array.from({ length: 6 }, () => ({ ts: 1, src_ip: '10.0.0.1', dst_ip: '10.0.0.2' }))), status: 413, code: 'batch_too_large', message: /6 records; limits.max_events_per_batch is 5/ },
    { name: 'a record larger than limits.max_event_size_bytes as an event', body: () => JSON.stringify([{ ts: 1, src_ip: '10.0.0.1', dst_ip: '10.0.0.2' }, { ts: 1, src_ip: '10.0.0.1', dst_ip: '10.0.0.2', note: 'x'.repeat(3000) }]), status: 413, code: 'event_too_large', message: /^record 1 is \d+ bytes as an ECS event; limits.max_event_size_bytes is 2048$/ },
    { name: 'a body over limits.max_body_size_bytes', body: () => JSON.stringify([{ note: 'x'.repeat(70_000) }]), status: 413, code: 'payload_too_large', message: /limits.max_body_size_bytes \(65536\)/ },
    { name: 'a gzip bomb', body: () => gzipSync(Buffer.alloc(50 << 20, 0x20)), status: 413, code: 'payload_too_large', message: /decompressed body exceeds/ },
    { name: 'broken JSON', body: () => '[{"ts":1,', status: 400, code: 'invalid_request', message: /body is not valid JSON/ },
    { name: 'a broken NDJSON line', body: () => '{"ts":1,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2"}\n{"ts":', extra: { 'Content-Type': 'application/x-ndjson' }, status: 400, code: 'invalid_request', message: /line 2 is not valid JSON/ },
    { name: 'a Zeek envelope', body: () => '{"format":"zeek.conn.v1","records":[]}', status: 400, code: 'invalid_request', message: /format "zeek.conn.v1" is not supported here.*\/api\/v1\/zeek\/<log>/ },
    { name: 'a string body', body: () => '"flows"', status: 400, code: 'invalid_request', message: /body is a string/ },
    { name: 'no token', body: () => '[]', extra: { Authorization: '' }, status: 401, code: 'unauthorized', message: /missing bearer token/ },
  ];
  for (const c of refused) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const from = loom.stdoutLines.length;
      const reply = await post(c.body(), c.extra);
      assert.equal(reply.status, c.status, reply.text);
      assert.equal(reply.json?.error, c.code);
      assert.match(String(reply.json?.message), c.message);
      assert.equal(loom.stdoutLines.length, from);
    });
  }

  test('an empty batch is accepted as nothing', async () => {
    assert.equal((await post('[]')).status, 204);
    assert.equal((await post('{"records":[]}')).status, 204);
  });

  test('metrics count flow events and refusals by reason', async () => {
    const text = (await (await fetch(loom.managementUrl('/metrics'))).text()).split('\n').filter((line) => /^loom_(input|ingest_requests)/.test(line)).join('\n');
    assert.match(text, /loom_input_events_total\{input="flows"\} 13$/m);
    assert.match(text, /loom_input_rejected_total\{input="flows",reason="invalid_record"\} 1$/m);
    assert.match(text, /loom_input_rejected_total\{input="flows",reason="invalid_json"\} 2/);
    assert.match(text, /loom_input_rejected_total\{input="flows",reason="batch_too_large"\} 1/);
    assert.match(text, /loom_input_rejected_total\{input="flows",reason="event_too_large"\} 1/);
    assert.match(text, /loom_ingest_requests_total\{sensor_id="flow-collector-1",status="204"\} [1-9]/);
  });
});
