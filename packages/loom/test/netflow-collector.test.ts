import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigText } from '../src/config/load.js';
import { ApiError } from '../src/errors.js';
import { Metrics } from '../src/management/metrics.js';
import type { EventSubmitter, InputBatch } from '../src/sources/submitter.js';
import { NetflowInput } from '../src/sources/netflow/collector.js';
import { AllowList, parseNetwork } from '../src/net/allow-list.js';
import { DatagramQueue } from '../src/sources/netflow/queue.js';
import { set, templateRecord, v4FlowFields, v4FlowRecord, v5Packet, v9Packet, type FlowEvent, type V5Record } from './helpers/netflow-packets.js';

/**
 * The collector over a real UDP socket, in process: a submitter that records batches (and can
 * refuse them or report no capacity) stands in for the pipeline, so that queueing, batching
 * and every drop reason can be driven exactly. netflow-e2e.test.ts runs the real process.
 */

class RecordingSubmitter implements EventSubmitter {
  readonly batches: InputBatch[] = [];
  capacity = true;
  refuse = false;
  constructor(readonly maxEventsPerBatch: number) {}

  hasCapacity(): boolean {
    return this.capacity;
  }

  async submit(batch: InputBatch): Promise<number> {
    if (this.refuse) throw new ApiError('output_unavailable', 'output "stdout" could not accept the batch');
    this.batches.push(batch);
    return batch.ndjson.toString().split('\n').length - 1;
  }

  events(): FlowEvent[] {
    return this.batches.flatMap((b) => Buffer.from(b.ndjson).toString().trim().split('\n').map((line) => JSON.parse(line) as FlowEvent));
  }
}

interface Harness {
  input: NetflowInput;
  submitter: RecordingSubmitter;
  metrics: Metrics;
  port: number;
  send(packet: Buffer): Promise<void>;
  counter(name: 'rejected' | 'lost' | 'packets', reason?: string): Promise<number>;
}

const running: NetflowInput[] = [];
after(async () => {
  for (const input of running) await input.stop();
});

async function start(netflow: string, options: { maxEvents?: number; family?: 4 | 6; host?: string } = {}): Promise<Harness> {
  const family = options.family ?? 4;
  const host = options.host ?? (family === 4 ? '127.0.0.1' : '[::1]');
  const toml = `[inputs.netflow]\nenabled = true\nlisten_address = "${host}:0"\n${netflow}\n`;
  const { config } = loadConfigText(toml, { env: { LOOM_SENSOR_netflow_test: 'netflow-test-token-0123456789' } });
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  const submitter = new RecordingSubmitter(options.maxEvents ?? 500);
  const metrics = new Metrics();
  const input = new NetflowInput(config.inputs.netflow, { config, submitter, metrics, logger });
  await input.start();
  running.push(input);
  await until(() => logs.some((l) => l.msg === 'netflow collector listening'), 'the listening log line');
  const port = logs.find((l) => l.msg === 'netflow collector listening')?.port as number;
  const client = createSocket(family === 4 ? 'udp4' : 'udp6');
  after(() => client.close());
  return {
    input,
    submitter,
    metrics,
    port,
    send: (packet) => new Promise((resolve, reject) => client.send(packet, port, family === 4 ? '127.0.0.1' : '::1', (error) => (error ? reject(error) : resolve()))),
    async counter(name, reason) {
      const metric = name === 'rejected' ? metrics.inputRejected : name === 'lost' ? metrics.netflowLostFlows : metrics.netflowPackets;
      const values = (await metric.get()).values;
      return values.filter((v) => reason === undefined || v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0);
    },
  };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const v9Header = { uptime: 100_000, secs: 1_714_564_800, sourceId: 1 };
const flow = { src: '10.1.0.1', dst: '192.0.2.10', sport: 40001, dport: 80, protocol: 6, flags: 0x1b, bytes: 530, packets: 8, first: 99_000, last: 99_900 };
const v9Flows = (n: number, from = 0): Buffer =>
  v9Packet(v9Header, [set(0, [templateRecord(256, v4FlowFields)]), set(256, Array.from({ length: n }, (_, i) => v4FlowRecord({ ...flow, sport: 40000 + from + i })))]);
const v5Records = (n: number): V5Record[] =>
  Array.from({ length: n }, (_, i) => ({ src: '10.0.0.1', dst: '10.0.0.2', packets: 1, bytes: 40, first: 0, last: 0, sport: 1000 + i, dport: 22, protocol: 6 }));

describe('NetFlow collector', () => {
  test('flows leave in batches of max_events_per_batch, and the rest after batch_max_wait_ms', async () => {
    const h = await start('batch_max_wait_ms = 50', { maxEvents: 5 });
    await h.send(v9Flows(12));
    await until(() => h.submitter.batches.length === 2, 'two full batches');
    await until(() => h.submitter.batches.length === 3, 'the partial batch after the wait');
    const events = h.submitter.events();
    assert.deepEqual(events.map((e) => e.source.port), Array.from({ length: 12 }, (_, i) => 40000 + i));
    assert.deepEqual(h.submitter.batches.map((b) => [b.input, b.sender]), [['netflow', '127.0.0.1'], ['netflow', '127.0.0.1'], ['netflow', '127.0.0.1']]);
    assert.equal(events[0]?.observer.ip, '127.0.0.1');
    assert.match(events[0]?.netflow.exporter.address ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(await h.counter('packets'), 1);
  });

  test('packets from outside allowed_networks are dropped as not_allowed', async () => {
    const h = await start('allowed_networks = ["10.0.0.0/8", "2001:db8::/32"]');
    for (let i = 0; i < 3; i++) await h.send(v9Flows(1));
    await until(async () => (await h.counter('rejected', 'not_allowed')) === 3, 'three not_allowed');
    assert.equal(h.submitter.batches.length, 0);
  });

  test('an exporter over max_packets_per_second_per_exporter loses the excess, counted as rate_limited', async () => {
    const h = await start('max_packets_per_second_per_exporter = 5\nbatch_max_wait_ms = 0');
    for (let i = 0; i < 50; i++) await h.send(v9Flows(1, i));
    await until(async () => (await h.counter('packets')) === 50, 'fifty packets received');
    await until(async () => (await h.counter('rejected', 'rate_limited')) + h.submitter.events().length === 50, 'every packet accounted for');
    // A burst of 5 passes at once; more only as the bucket refills at 5 a second.
    const passed = h.submitter.events().length;
    assert.ok(passed >= 5, `the first burst passes, got ${passed}`);
    assert.ok(await h.counter('rejected', 'rate_limited') > 0, 'the rest of a 50-packet burst is dropped');
  });

  test('malformed packets and data without a template are counted and dropped', async () => {
    const h = await start('batch_max_wait_ms = 0');
    await h.send(Buffer.from([0, 9, 0, 1, 2]));
    await h.send(v9Packet(v9Header, [set(300, [v4FlowRecord(flow)])]));
    await h.send(v9Flows(2));
    await until(async () => (await h.counter('rejected', 'malformed')) === 1 && (await h.counter('rejected', 'template_missing')) === 1, 'the drops');
    await until(() => h.submitter.events().length === 2, 'the two good flows');
  });

  test('while no batch slot is free the queue absorbs packets; beyond queue_max_bytes they are dropped as queue_full', async () => {
    const h = await start('queue_max_bytes = 65535\nbatch_max_wait_ms = 0', { maxEvents: 30 });
    h.submitter.capacity = false;
    const packet = v5Packet({ uptime: 1000, secs: 1_714_564_800 }, v5Records(30));
    for (let i = 0; i < 100; i++) await h.send(packet);
    await until(async () => (await h.counter('packets')) === 100, 'every datagram received');
    const dropped = await h.counter('rejected', 'queue_full');
    // 65535 octets hold 44 datagrams of 1464; one batch is waiting, decoded, outside the queue.
    assert.ok(dropped >= 50 && dropped <= 56, `queue_full ${dropped}`);
    h.submitter.capacity = true;
    await until(() => h.submitter.events().length === (100 - dropped) * 30, 'the queued flows once the outputs take them');
  });

  test('a batch the outputs refuse is lost and counted by flows', async () => {
    const h = await start('batch_max_wait_ms = 0');
    h.submitter.refuse = true;
    await h.send(v9Flows(7));
    await until(async () => (await h.counter('lost', 'output_unavailable')) === 7, 'seven lost flows');
  });

  test('stop delivers what was received before it', async () => {
    const h = await start('batch_max_wait_ms = 10000', { maxEvents: 50 });
    h.submitter.capacity = false;
    for (let i = 0; i < 10; i++) await h.send(v9Flows(7, i * 7));
    await until(async () => (await h.counter('packets')) === 10, 'every datagram received');
    setTimeout(() => (h.submitter.capacity = true), 50);
    await h.input.stop();
    assert.equal(h.submitter.events().length, 70);
  });

  test('listens on IPv6', async () => {
    const h = await start('batch_max_wait_ms = 0', { family: 6 });
    await h.send(v9Flows(1));
    await until(() => h.submitter.events().length === 1, 'the flow');
    const [event] = h.submitter.events();
    assert.equal(event?.observer.ip, '::1');
    assert.match(event?.netflow.exporter.address ?? '', /^\[::1\]:\d+$/);
  });

  test('":port" receives IPv4 and IPv6 on one socket, IPv4 senders under their IPv4 address', async () => {
    const h = await start('batch_max_wait_ms = 0', { host: '' });
    await h.send(v9Flows(1));
    await until(() => h.submitter.events().length === 1, 'the flow');
    assert.equal(h.submitter.events()[0]?.observer.ip, '127.0.0.1');
    const v6 = createSocket('udp6');
    await new Promise<void>((resolve, reject) => v6.send(v9Flows(1), h.port, '::1', (error) => (error ? reject(error) : resolve())));
    v6.close();
    await until(() => h.submitter.events().length === 2, 'the IPv6 flow');
    assert.equal(h.submitter.events()[1]?.observer.ip, '::1');
  });

  test('a taken port is a startup error naming the key', async () => {
    const h = await start('');
    const { config } = loadConfigText(`[inputs.netflow]\nenabled = true\nlisten_address = "127.0.0.1:${h.port}"\n`, { env: { LOOM_SENSOR_netflow_test: 'netflow-test-token-0123456789' } });
    const second = new NetflowInput(config.inputs.netflow, { config, submitter: new RecordingSubmitter(10), metrics: new Metrics(), logger: pino({ level: 'silent' }) });
    await assert.rejects(second.start(), /inputs\.netflow\.listen_address: cannot listen on 127\.0\.0\.1:\d+: address already in use/);
  });
});

describe('NetFlow config, allow-list and queue', () => {
  const env = { LOOM_SENSOR_netflow_test: 'netflow-test-token-0123456789' };

  test('defaults', () => {
    const { netflow } = loadConfigText('', { env }).config.inputs;
    assert.deepEqual(netflow, {
      enabled: false,
      listen_address: ':2055',
      allowed_networks: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
      max_packets_per_second_per_exporter: 0,
      receive_buffer_bytes: 4194304,
      queue_max_bytes: 16777216,
      batch_max_wait_ms: 100,
      template_timeout_seconds: 1800,
      max_templates: 4096,
      max_templates_per_exporter: 256,
    });
  });

  test('errors name the key', () => {
    const load = (lines: string): void => void loadConfigText(`[inputs.netflow]\n${lines}\n`, { env });
    assert.throws(() => load('allowed_networks = ["10.0.0.0/8", "10.0.0.0/33", "example.com"]'), (error: Error) => {
      assert.match(error.message, /inputs\.netflow\.allowed_networks\[1\]: "10\.0\.0\.0\/33" is not an IP address or CIDR network/);
      assert.match(error.message, /inputs\.netflow\.allowed_networks\[2\]/);
      return true;
    });
    assert.throws(() => load('allowed_networks = []'), /inputs\.netflow\.allowed_networks: is empty/);
    assert.throws(() => load('queue_max_bytes = 1000'), /inputs\.netflow\.queue_max_bytes: must be at least 65535/);
    assert.throws(() => load('max_templates = 0'), /inputs\.netflow\.max_templates: must be > 0/);
    assert.throws(() => load('listen_address = "2055"'), /inputs\.netflow\.listen_address: "2055" is not host:port/);
  });

  test('allow-list', () => {
    assert.deepEqual(parseNetwork('192.0.2.0/24'), { address: '192.0.2.0', prefix: 24, family: 'ipv4' });
    assert.deepEqual(parseNetwork('2001:db8::1'), { address: '2001:db8::1', prefix: 128, family: 'ipv6' });
    assert.equal(parseNetwork('192.0.2.0/-1'), undefined);
    const list = new AllowList(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7']);
    assert.equal(list.allows('192.0.2.200'), true);
    assert.equal(list.allows('192.0.3.1'), false);
    assert.equal(list.allows('2001:db8:1::5'), true);
    assert.equal(list.allows('198.51.100.7'), true);
    assert.equal(list.allows('198.51.100.8'), false);
    assert.equal(list.allows('not an address'), false);
  });

  test('queue bounds by octets and keeps order', () => {
    const queue = new DatagramQueue(100);
    const datagram = (n: number): { data: Buffer; address: string; port: number; receivedMs: number } => ({ data: Buffer.alloc(n), address: 'a', port: n, receivedMs: 0 });
    assert.equal(queue.push(datagram(60)), true);
    assert.equal(queue.push(datagram(50)), false);
    assert.equal(queue.push(datagram(40)), true);
    assert.equal(queue.bytes, 100);
    assert.equal(queue.shift()?.port, 60);
    assert.equal(queue.push(datagram(50)), true);
    assert.deepEqual([queue.shift()?.port, queue.shift()?.port, queue.shift()], [40, 50, undefined]);
    for (let i = 0; i < 5000; i++) {
      queue.push(datagram(0));
      queue.shift();
    }
    assert.equal(queue.length, 0);
  });
});
