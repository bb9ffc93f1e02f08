import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryBatch, DeliveryResult } from '../delivery.js';
import { FakeSplunkHec, type FakeHecOptions } from '../../../test/fakes/splunk-hec.js';
import { SplunkHecDestination } from './destination.js';
import type { SplunkHecOptions } from './options.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setup(
  fakeOptions: FakeHecOptions = {},
  options: Partial<SplunkHecOptions> = {},
): Promise<{ fake: FakeSplunkHec; destination: SplunkHecDestination }> {
  const fake = await FakeSplunkHec.start(fakeOptions);
  const destination = new SplunkHecDestination({ url: fake.url, token: fake.token, timeoutMs: 5_000, ...options });
  cleanups.push(() => fake.close(), () => destination.close());
  return { fake, destination };
}

function ecs(n: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    '@timestamp': `2024-05-01T12:34:56.${String(n).padStart(3, '0')}Z`,
    observer: { hostname: 'sensor-1', type: 'honeypot' },
    source: { ip: '203.0.113.7', port: 40000 + n },
    message: `attempt ${n} "quoted" é`,
    ...extra,
  });
}

function batch(events: string[], id = 'batch-1'): DeliveryBatch {
  return { id, events, eventIds: events.map((_, i) => `${id}-${i}`) };
}

const never = new AbortController().signal;

test('happy path: one request with the documented envelope per event, the event unchanged', async () => {
  const { fake, destination } = await setup({}, { index: 'main', source: 'loom', compression: 'none' });
  const events = [ecs(1), ecs(2), JSON.stringify({ message: 'no timestamp, no host' })];
  const result = await destination.deliver(batch(events), never);
  assert.deepEqual(result, { retry: [], rejected: [] });
  const [request, ...others] = fake.eventRequests();
  assert.equal(others.length, 0);
  assert.ok(request);
  assert.equal(request.headers.authorization, `Splunk ${fake.token}`);
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['content-encoding'], undefined);
  assert.equal(request.headers['x-splunk-request-channel'], undefined);
  assert.equal(
    request.body,
    [
      `{"time":1714566896.001,"host":"sensor-1","source":"loom","sourcetype":"loom:ecs","index":"main","fields":{"loom_event_id":"batch-1-0"},"event":${events[0]}}`,
      `{"time":1714566896.002,"host":"sensor-1","source":"loom","sourcetype":"loom:ecs","index":"main","fields":{"loom_event_id":"batch-1-1"},"event":${events[1]}}`,
      `{"source":"loom","sourcetype":"loom:ecs","index":"main","fields":{"loom_event_id":"batch-1-2"},"event":${events[2]}}`,
    ].join('\n'),
  );
  assert.deepEqual(fake.events.map((e) => e.event), events.map((e) => JSON.parse(e)));
  assert.deepEqual(fake.events.map((e) => e.time), [1714566896.001, 1714566896.002, undefined]);
});

test('gzip is the default and the collector reads the same events', async () => {
  const { fake, destination } = await setup();
  const events = Array.from({ length: 50 }, (_, i) => ecs(i));
  assert.deepEqual(await destination.deliver(batch(events), never), { retry: [], rejected: [] });
  const [request] = fake.eventRequests();
  assert.ok(request);
  assert.equal(request.headers['content-encoding'], 'gzip');
  assert.ok(request.wireBytes < Buffer.byteLength(request.body) / 3, `${request.wireBytes} bytes on the wire for ${request.body.length}`);
  assert.deepEqual(fake.events.map((e) => e.event), events.map((e) => JSON.parse(e)));
  assert.deepEqual(fake.events.map((e) => e.sourcetype), events.map(() => 'loom:ecs'));
  assert.deepEqual(fake.events.map((e) => e.index), events.map(() => 'main'), "absent index: the token's default");
});

test('a batch above maxRequestBytes is split into requests under the limit, in order', async () => {
  const { fake, destination } = await setup({}, { maxRequestBytes: 1_000 });
  const events = Array.from({ length: 20 }, (_, i) => ecs(i));
  assert.deepEqual(await destination.deliver(batch(events), never), { retry: [], rejected: [] });
  const requests = fake.eventRequests();
  assert.ok(requests.length >= 5, `${requests.length} requests`);
  for (const request of requests) assert.ok(Buffer.byteLength(request.body) <= 1_000, `${Buffer.byteLength(request.body)} bytes`);
  assert.deepEqual(fake.events.map((e) => e.event), events.map((e) => JSON.parse(e)));
});

test('an event larger than the collector takes is refused alone; its neighbours are delivered', async () => {
  const { fake, destination } = await setup({ maxContentLength: 2_000 }, { maxRequestBytes: 1_500, compression: 'none' });
  const big = ecs(1, { payload: 'x'.repeat(3_000) });
  const result = await destination.deliver(batch([ecs(0), big, ecs(2)]), never);
  assert.deepEqual(result.retry, []);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]?.index, 1);
  assert.match(result.rejected[0]?.reason ?? '', /^the event alone is larger than the collector accepts: 413 Content-Length of \d+ too large/);
  assert.deepEqual(fake.events.map((e) => (e.event as { message: string }).message), ['attempt 0 "quoted" é', 'attempt 2 "quoted" é']);
});

test('an event that is not JSON is refused without being sent; the others are delivered', async () => {
  const { fake, destination } = await setup();
  const result = await destination.deliver(batch([ecs(0), '{"broken":', ecs(2)]), never);
  assert.deepEqual(result.retry, []);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]?.index, 1);
  assert.match(result.rejected[0]?.reason ?? '', /^not sent: the event is not valid JSON/);
  assert.equal(fake.events.length, 2);
});

test('a wrong or disabled token: everything is retried, the reason names the problem but never the token', async () => {
  const { fake } = await setup();
  const wrongToken = '11111111-2222-3333-4444-555555555555';
  const wrong = new SplunkHecDestination({ url: fake.url, token: wrongToken, timeoutMs: 5_000 });
  cleanups.push(() => wrong.close());
  const result = await wrong.deliver(batch([ecs(0), ecs(1)]), never);
  assert.deepEqual(result.retry, [0, 1]);
  assert.deepEqual(result.rejected, []);
  assert.equal(result.reason, `the collector refused the token: 403 Invalid token (HEC code 4) (${fake.url})`);
  assert.ok(!result.reason?.includes(wrongToken));
  const probe = await wrong.probe(never);
  assert.equal(probe.ok, false);
  assert.match(probe.reason ?? '', /refused the token: 403 Invalid token/);
  assert.ok(!probe.reason?.includes(wrongToken));

  const { fake: disabledFake, destination: disabled } = await setup({ tokenDisabled: true });
  const off = await disabled.deliver(batch([ecs(0)]), never);
  assert.deepEqual(off.retry, [0]);
  assert.match(off.reason ?? '', /403 Token disabled \(HEC code 1\)/);
  assert.ok(!off.reason?.includes(disabledFake.token));
  assert.equal(fake.events.length + disabledFake.events.length, 0);
});

test('an empty token or one that could break the header is refused at construction, without quoting it', () => {
  for (const token of ['', 'abc def', 'abc\r\nX-Evil: 1']) {
    assert.throws(
      () => new SplunkHecDestination({ url: 'http://127.0.0.1:1', token, timeoutMs: 1_000 }),
      (error: Error) => /token is empty or contains/.test(error.message) && (token === '' || !error.message.includes(token)),
    );
  }
});

test('invalid data format at event N: before N delivered, N rejected with the HEC text, after N retried', async () => {
  const { fake, destination } = await setup();
  fake.malformed = (envelope) => (envelope.event as { message?: string }).message?.startsWith('attempt 2 ') === true;
  const events = [0, 1, 2, 3, 4].map((i) => ecs(i));
  const result = await destination.deliver(batch(events), never);
  assert.deepEqual(result.rejected, [{ index: 2, reason: '400 Invalid data format (HEC code 6)' }]);
  assert.deepEqual(result.retry, [3, 4]);
  assert.match(result.reason ?? '', /not looked at: the collector stopped at an earlier event/);
  assert.deepEqual(fake.events.map((e) => e.fields), [{ loom_event_id: 'batch-1-0' }, { loom_event_id: 'batch-1-1' }]);

  const retried = await destination.deliver({ id: 'batch-1', events: [events[3] as string, events[4] as string], eventIds: ['batch-1-3', 'batch-1-4'] }, never);
  assert.deepEqual(retried, { retry: [], rejected: [] });
  assert.deepEqual(fake.events.map((e) => (e.fields as { loom_event_id: string }).loom_event_id), ['batch-1-0', 'batch-1-1', 'batch-1-3', 'batch-1-4']);
});

test('an index the token may not write to: every event is rejected with the HEC text', async () => {
  const { fake, destination } = await setup({ indexes: ['main'] }, { index: 'honeypot' });
  const result = await destination.deliver(batch([ecs(0), ecs(1), ecs(2)]), never);
  assert.deepEqual(result.retry, []);
  assert.deepEqual(result.rejected, [0, 1, 2].map((index) => ({ index, reason: '400 Incorrect index (HEC code 7)' })));
  assert.equal(fake.events.length, 0);
});

test('busy: everything retried after the Retry-After, or after a default pause without one', async () => {
  const { fake, destination } = await setup();
  fake.busy = { retryAfter: '7' };
  const withHeader = await destination.deliver(batch([ecs(0), ecs(1)]), never);
  assert.deepEqual(withHeader, { retry: [0, 1], rejected: [], reason: `503 Server is busy (HEC code 9) (${fake.url})`, retryAfterMs: 7_000 });
  fake.busy = {};
  const without = await destination.deliver(batch([ecs(0)]), never);
  assert.equal(without.retryAfterMs, 5_000);
  const probe = await destination.probe(never);
  assert.deepEqual(probe, { ok: false, reason: `health check: 503 HEC is unhealthy, queues are full (HEC code 18) (${fake.url})` });
  fake.busy = undefined;
  assert.deepEqual(await destination.deliver(batch([ecs(0)]), never), { retry: [], rejected: [] });
});

test('busy in the middle of a split batch: earlier requests delivered, the rest retried without being sent', async () => {
  const { fake, destination } = await setup({}, { maxRequestBytes: 700 });
  let answered = 0;
  fake.beforeEventRequest = () => {
    if (++answered > 2) fake.busy = {};
  };
  const events = Array.from({ length: 12 }, (_, i) => ecs(i));
  const result = await destination.deliver(batch(events), never);
  const delivered = fake.events.length;
  assert.ok(delivered > 0 && delivered < events.length, `${delivered} delivered`);
  assert.deepEqual(result.retry, events.map((_, i) => i).slice(delivered));
  assert.equal(fake.eventRequests().length, 3, 'no request after the busy answer');
  assert.equal(result.retryAfterMs, 5_000);
});

test('ack: delivered only once the ackId is reported indexed', async () => {
  const { fake, destination } = await setup({ ack: true }, { ack: { enabled: true, pollIntervalMs: 50, timeoutMs: 5_000 } });
  fake.ackDelayMs = 300;
  const started = Date.now();
  const result = await destination.deliver(batch([ecs(0), ecs(1)]), never);
  assert.deepEqual(result, { retry: [], rejected: [] });
  assert.ok(Date.now() - started >= 300, 'not before the ack turned true');
  assert.ok(fake.ackQueries >= 2, `${fake.ackQueries} ack queries`);
  const [request] = fake.eventRequests();
  assert.equal(request?.headers['x-splunk-request-channel'], destination.channel);
  assert.deepEqual(fake.events.map((e) => e.channel), [destination.channel, destination.channel]);
  const ackQuery = fake.requests.find((r) => r.path.startsWith('/services/collector/ack'));
  assert.equal(ackQuery?.path, `/services/collector/ack?channel=${destination.channel}`);
  assert.deepEqual(JSON.parse(ackQuery?.body ?? ''), { acks: [0] });
  assert.deepEqual(await destination.probe(never), { ok: true });
});

test('ack: several requests of one batch are confirmed together', async () => {
  const { fake, destination } = await setup({ ack: true }, { maxRequestBytes: 700, ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 5_000 } });
  const events = Array.from({ length: 8 }, (_, i) => ecs(i));
  assert.deepEqual(await destination.deliver(batch(events), never), { retry: [], rejected: [] });
  assert.ok(fake.eventRequests().length > 1);
  assert.equal(fake.events.length, 8);
});

test('ack: an ackId handed out twice (the collector restarted mid-batch) retries the earlier request', async () => {
  const { fake, destination } = await setup({ ack: true }, { maxRequestBytes: 700, ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 2_000 } });
  fake.beforeEventRequest = () => fake.restartAcks();
  const events = [0, 1, 2, 3].map((i) => ecs(i));
  const result = await destination.deliver(batch(events), never);
  const requests = fake.eventRequests().length;
  assert.ok(requests >= 2, `${requests} requests`);
  const lastRequestEvents = fake.eventRequests().at(-1)?.body.split('\n').length ?? 0;
  assert.deepEqual(result.retry, events.map((_, i) => i).slice(0, events.length - lastRequestEvents));
  assert.match(result.reason ?? '', /handed out ackId 0 twice/);
});

test('ack: an ackId that never turns true is retried after the ack timeout', async () => {
  const { fake, destination } = await setup({ ack: true }, { ack: { enabled: true, pollIntervalMs: 50, timeoutMs: 300 } });
  fake.loseAcks = true;
  const result = await destination.deliver(batch([ecs(0), ecs(1)]), never);
  assert.deepEqual(result.retry, [0, 1]);
  assert.equal(result.reason, `no indexer acknowledgement within 300 ms for ackId 0 (${fake.url})`);
});

test('ack: a refused event carries no ackId, so the events taken before it are sent again', async () => {
  const { fake, destination } = await setup({ ack: true }, { ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 1_000 } });
  fake.malformed = (envelope) => (envelope.event as { message?: string }).message?.startsWith('attempt 1 ') === true;
  const result = await destination.deliver(batch([ecs(0), ecs(1), ecs(2)]), never);
  assert.deepEqual(result.rejected, [{ index: 1, reason: '400 Invalid data format (HEC code 6)' }]);
  assert.deepEqual(result.retry, [0, 2]);
  assert.match(result.reason ?? '', /sent again: the collector took them before refusing a later event/);
});

test('ack wanted by the token but off here: retried with a reason that says to enable it', async () => {
  const { fake, destination } = await setup({ ack: true });
  const result = await destination.deliver(batch([ecs(0)]), never);
  assert.deepEqual(result.retry, [0]);
  assert.match(result.reason ?? '', /Data channel is missing \(HEC code 10\): the token requires indexer acknowledgement/);
  assert.equal(fake.events.length, 0);
  const probe = await destination.probe(never);
  assert.equal(probe.ok, false);
  assert.match(probe.reason ?? '', /the token requires indexer acknowledgement/);
});

test('ack on here but off for the token: HEC gives no ackId, events count as delivered, probe says why', async () => {
  const { fake, destination } = await setup({ ack: false }, { ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 1_000 } });
  assert.deepEqual(await destination.deliver(batch([ecs(0)]), never), { retry: [], rejected: [] });
  assert.equal(fake.events.length, 1);
  const probe = await destination.probe(never);
  assert.equal(probe.ok, false);
  assert.match(probe.reason ?? '', /indexer acknowledgement is disabled for this token.*400 ACK is disabled \(HEC code 14\)/);
});

test('ack: shutdown while waiting for the ack retries the events at once', async () => {
  const { fake, destination } = await setup({ ack: true }, { ack: { enabled: true, pollIntervalMs: 50, timeoutMs: 60_000 } });
  fake.loseAcks = true;
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const result = await destination.deliver(batch([ecs(0)]), controller.signal);
  assert.ok(Date.now() - started < 5_000);
  assert.deepEqual(result.retry, [0]);
  assert.match(result.reason ?? '', /aborted while waiting for indexer acknowledgement/);
});

test('collector down: retried with "connection refused"; the probe says the same', async () => {
  const fake = await FakeSplunkHec.start();
  await fake.close();
  const destination = new SplunkHecDestination({ url: fake.url, token: fake.token, timeoutMs: 2_000 });
  cleanups.push(() => destination.close());
  const result = await destination.deliver(batch([ecs(0), ecs(1)]), never);
  assert.deepEqual(result, { retry: [0, 1], rejected: [], reason: `connection refused (${fake.url})` });
  assert.deepEqual(await destination.probe(never), { ok: false, reason: `connection refused (${fake.url})` });
});

test('a collector that never answers: retried after the request timeout', async () => {
  const { fake, destination } = await setup({}, { timeoutMs: 300 });
  fake.hang = true;
  const started = Date.now();
  const result = await destination.deliver(batch([ecs(0)]), never);
  assert.ok(Date.now() - started < 3_000);
  assert.deepEqual(result, { retry: [0], rejected: [], reason: `timed out after 300 ms (${fake.url})` });
});

test('a 200 that is not a HEC answer (a proxy page) is retried with an excerpt', async () => {
  const { fake, destination } = await setup();
  fake.garbage = '<html><body>Please log in</body></html>';
  const result = await destination.deliver(batch([ecs(0)]), never);
  assert.deepEqual(result, {
    retry: [0],
    rejected: [],
    reason: `not a HEC answer: HTTP 200: <html><body>Please log in</body></html> (${fake.url})`,
  });
});

test('probe: healthy collector and a token it takes', async () => {
  const { fake, destination } = await setup();
  assert.deepEqual(await destination.probe(never), { ok: true });
  assert.deepEqual(
    fake.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /services/collector/health', 'POST /services/collector/event'],
  );
  assert.equal(fake.events.length, 0, 'the empty request indexes nothing');
});

test('a trailing slash in the URL is harmless; target and type are for logs', async () => {
  const { fake } = await setup();
  const destination = new SplunkHecDestination({ url: `${fake.url}/`, token: fake.token, timeoutMs: 2_000 });
  cleanups.push(() => destination.close());
  assert.equal(destination.target, fake.url);
  assert.equal(destination.type, 'splunk_hec');
  const result: DeliveryResult = await destination.deliver(batch([ecs(0)]), never);
  assert.deepEqual(result, { retry: [], rejected: [] });
  assert.equal(fake.eventRequests()[0]?.path, '/services/collector/event');
});
