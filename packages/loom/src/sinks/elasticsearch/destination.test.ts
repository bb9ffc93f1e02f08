import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DeliveryBatch } from '../delivery.js';
import {
  FakeElasticsearch,
  mappingError,
  rejectedExecution,
  tooManyRequests,
  unavailable,
  type FakeElasticsearchOptions,
} from '../../../test/fakes/elasticsearch.js';
import { ElasticsearchDestination, type ElasticsearchOptions } from './destination.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const item of open.reverse()) await item.close();
});

async function setup(fakeOptions: FakeElasticsearchOptions = {}, options: Partial<ElasticsearchOptions> = {}) {
  const fake = await FakeElasticsearch.start(fakeOptions);
  const destination = new ElasticsearchDestination({ url: fake.url, index: 'loom-events', timeoutMs: 5000, ...options });
  open.push(fake, destination);
  return { fake, destination };
}

let batchCounter = 0;
function batch(events: Array<Record<string, unknown> | string>): DeliveryBatch {
  const id = `b${batchCounter++}`;
  return {
    id,
    events: events.map((event) => (typeof event === 'string' ? event : JSON.stringify(event))),
    eventIds: events.map((_, i) => `${id}-${i}`),
  };
}

/** The events of `from` at `indices`, with their ids: what the outbox sends again. */
function subset(from: DeliveryBatch, indices: number[]): DeliveryBatch {
  return { id: from.id, events: indices.map((i) => from.events[i] as string), eventIds: indices.map((i) => from.eventIds[i] as string) };
}

function bulkLines(fake: FakeElasticsearch, request = 0): unknown[] {
  const text = fake.bulkRequests[request]?.text ?? '';
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown);
}

const signal = () => new AbortController().signal;
const utcDay = (date: Date) => date.toISOString().slice(0, 10).replace(/-/g, '.');

test('events go to the index of their @timestamp day, with their ids, as gzipped NDJSON', async () => {
  const { fake, destination } = await setup({}, { index: 'loom-%{+yyyy.MM.dd}' });
  const b = batch([
    { '@timestamp': '2024-05-01T23:59:59Z', n: 0 },
    { '@timestamp': '2024-05-02T00:00:00Z', n: 1 },
    { '@timestamp': '2024-05-01T10:00:00Z', n: 2, text: 'quote " backslash \\ unicode ✓' },
    { n: 3 },
  ]);
  const before = utcDay(new Date());
  const result = await destination.deliver(b, signal());
  const afterDay = utcDay(new Date());
  assert.deepEqual(result, { retry: [], rejected: [] });

  assert.deepEqual(fake.documents('loom-2024.05.01').map((d) => [d._id, d.source]), [
    ['b0-0', { '@timestamp': '2024-05-01T23:59:59Z', n: 0 }],
    ['b0-2', { '@timestamp': '2024-05-01T10:00:00Z', n: 2, text: 'quote " backslash \\ unicode ✓' }],
  ]);
  assert.deepEqual(fake.documents('loom-2024.05.02').map((d) => d._id), ['b0-1']);
  const today = fake.documents(`loom-${before}`).length > 0 ? before : afterDay;
  assert.deepEqual(fake.documents(`loom-${today}`).map((d) => d.source), [{ n: 3 }]);

  const [request] = fake.bulkRequests;
  assert.ok(request);
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/_bulk');
  assert.equal(request.headers['content-type'], 'application/x-ndjson');
  assert.equal(request.headers['content-encoding'], 'gzip');
  assert.equal(request.headers.authorization, undefined);
  assert.deepEqual([...request.raw.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(bulkLines(fake)[0], { index: { _index: 'loom-2024.05.01', _id: 'b0-0' } });
  assert.equal(gunzipSync(request.raw).toString(), request.text);
  assert.ok(request.text?.endsWith('}\n'));
});

test('without compression the body is plain; without documentIds the cluster picks ids', async () => {
  const { fake, destination } = await setup({}, { compression: false, documentIds: false });
  assert.deepEqual(await destination.deliver(batch([{ a: 1 }, { a: 2 }]), signal()), { retry: [], rejected: [] });
  const [request] = fake.bulkRequests;
  assert.equal(request?.headers['content-encoding'], undefined);
  assert.equal(request?.raw.toString(), '{"index":{"_index":"loom-events"}}\n{"a":1}\n{"index":{"_index":"loom-events"}}\n{"a":2}\n');
  const ids = fake.documents('loom-events').map((d) => d._id);
  assert.equal(ids.length, 2);
  assert.ok(ids.every((id) => /^[\w-]{20}$/.test(id)));
});

test('a data stream gets create actions and lands in its backing index', async () => {
  const { fake, destination } = await setup({ dataStreams: ['logs-loom-default'] }, { index: 'logs-loom-default', dataStream: true, action: 'index' });
  const b = batch([{ '@timestamp': '2024-05-01T00:00:00Z', n: 0 }, { n: 1 }]);
  const result = await destination.deliver(b, signal());
  assert.deepEqual(result.retry, []);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]?.index, 1);
  assert.match(result.rejected[0]?.reason ?? '', /^400 document_parsing_exception: \[1:2\] failed to parse: data stream timestamp field \[@timestamp\] is missing/);
  assert.deepEqual(bulkLines(fake)[0], { create: { _index: 'logs-loom-default', _id: `${b.id}-0` } });
  const [stored] = fake.documents('logs-loom-default');
  assert.match(stored?._index ?? '', /^\.ds-logs-loom-default-\d{4}\.\d{2}\.\d{2}-000001$/);

  // The same batch again: the stored document answers 409, which means "already there".
  const again = await destination.deliver(subset(b, [0]), signal());
  assert.deepEqual(again, { retry: [], rejected: [] });
  assert.equal(fake.documents('logs-loom-default').length, 1);
  assert.equal(fake.documents('logs-loom-default')[0]?._version, 1);
});

test('the index action on a data stream is refused per document, as the server does', async () => {
  const { destination } = await setup({ dataStreams: ['logs-loom-default'] }, { index: 'logs-loom-default' });
  const result = await destination.deliver(batch([{ '@timestamp': '2024-05-01T00:00:00Z' }]), signal());
  assert.deepEqual(result.rejected, [{ index: 0, reason: '400 illegal_argument_exception: only write ops with an op_type of create are allowed in data streams' }]);
});

test('a dated data stream name is a configuration error', () => {
  assert.throws(() => new ElasticsearchDestination({ url: 'http://127.0.0.1:1', index: 'logs-%{+yyyy}', dataStream: true }), /data stream name cannot contain a date/);
  assert.throws(() => new ElasticsearchDestination({ url: 'http://127.0.0.1:1', index: 'Loom' }), /lowercase/);
  assert.throws(() => new ElasticsearchDestination({ url: 'http://u:p@127.0.0.1:1', index: 'loom' }), /credentials must not be written into the URL/);
  assert.throws(() => new ElasticsearchDestination({ url: 'http://127.0.0.1:1', index: 'loom', maxBulkBytes: 0 }), /maxBulkBytes/);
});

test('per-document failures: 400 goes to rejected with its reason, 429 to retry; the retry keeps the ids', async () => {
  const { fake, destination } = await setup();
  const b = batch([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  fake.failDocument = (doc) => {
    if (doc.position === 1) return mappingError(fake.flavour, fake.version, 'source.port', 'abc');
    if (doc.position === 3 || doc.position === 4) return rejectedExecution();
    return undefined;
  };
  const first = await destination.deliver(b, signal());
  assert.deepEqual(first.retry, [3, 4]);
  assert.deepEqual(first.rejected, [{
    index: 1,
    reason: '400 document_parsing_exception: [1:15] failed to parse field [source.port] of type [long] in document. Preview of field\'s value: \'abc\' (caused by illegal_argument_exception: For input string: "abc")',
  }]);
  assert.match(first.reason ?? '', /^2 of 5 documents not stored by http:\/\/127\.0\.0\.1:\d+, e\.g\. 429 es_rejected_execution_exception: rejected execution/);
  assert.equal(first.retryAfterMs, undefined);

  fake.failDocument = undefined;
  const second = await destination.deliver(subset(b, first.retry), signal());
  assert.deepEqual(second, { retry: [], rejected: [] });
  assert.deepEqual(fake.documents('loom-events').map((d) => [d._id, d._version]), [[`${b.id}-0`, 1], [`${b.id}-2`, 1], [`${b.id}-3`, 1], [`${b.id}-4`, 1]]);

  // Even a whole batch sent again (a crash before the outbox recorded success) adds nothing.
  assert.deepEqual(await destination.deliver(b, signal()), { retry: [], rejected: [] });
  assert.equal(fake.documents('loom-events').length, 5);
  assert.deepEqual(fake.documents('loom-events').map((d) => d._version), [2, 2, 2, 2, 1]);
});

test('create with ids: a document already stored counts as delivered, nothing is duplicated', async () => {
  const { fake, destination } = await setup({}, { action: 'create' });
  const b = batch([{ n: 0 }, { n: 1 }, { n: 2 }]);
  fake.failDocument = (doc) => (doc.position === 2 ? rejectedExecution() : undefined);
  assert.deepEqual((await destination.deliver(b, signal())).retry, [2]);
  fake.failDocument = undefined;
  // The outbox may resend everything after a restart.
  assert.deepEqual(await destination.deliver(b, signal()), { retry: [], rejected: [] });
  assert.deepEqual(fake.documents('loom-events').map((d) => [d._id, d._version]), [[`${b.id}-0`, 1], [`${b.id}-1`, 1], [`${b.id}-2`, 1]]);
  assert.deepEqual(bulkLines(fake, 1)[0], { create: { _index: 'loom-events', _id: `${b.id}-0` } });
});

for (const compression of [false, true]) {
  test(`413${compression ? ' (gzip)' : ''}: the request is halved until it fits; a single document too large is rejected`, async () => {
    const { fake, destination } = await setup({ maxContentLength: 1200 }, { compression });
    const events: Array<Record<string, unknown>> = Array.from({ length: 10 }, (_, n) => ({ n, pad: 'x'.repeat(150) }));
    events.splice(6, 0, { n: 'huge', pad: 'y'.repeat(2000) });
    const result = await destination.deliver(batch(events), signal());
    assert.deepEqual(result.retry, []);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]?.index, 6);
    assert.match(result.rejected[0]?.reason ?? '', /^413 from http:\/\/127\.0\.0\.1:\d+: request larger than the cluster accepts \(http\.max_content_length\) \(this document alone is \d+ bytes with its action line\)$/);
    assert.deepEqual(fake.documents('loom-events').map((d) => (d.source as { n: number }).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 11 events of which one never fits: halving takes more requests than the 3 that would do.
    assert.ok(fake.bulkRequests.length > 6);
  });
}

test('maxBulkBytes splits a batch into several requests before the server has to', async () => {
  const { fake, destination } = await setup({ maxContentLength: 1000 }, { maxBulkBytes: 1000 });
  const b = batch(Array.from({ length: 20 }, (_, n) => ({ n, pad: 'x'.repeat(100) })));
  assert.deepEqual(await destination.deliver(b, signal()), { retry: [], rejected: [] });
  assert.ok(fake.bulkRequests.length >= 3);
  assert.ok(fake.bulkRequests.every((r) => Buffer.byteLength(r.text ?? '') <= 1000));
  assert.equal(fake.documents('loom-events').length, 20);
});

test('a whole-request 429 retries everything after Retry-After and sends no further parts', async () => {
  const { fake, destination } = await setup({}, { maxBulkBytes: 200 });
  fake.scripted.push(tooManyRequests('7'));
  const b = batch(Array.from({ length: 6 }, (_, n) => ({ n, pad: 'x'.repeat(60) })));
  const result = await destination.deliver(b, signal());
  assert.deepEqual(result.retry, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(result.rejected, []);
  assert.equal(result.retryAfterMs, 7000);
  assert.match(result.reason ?? '', /^429 from http:\/\/127\.0\.0\.1:\d+: es_rejected_execution_exception: rejected execution/);
  assert.equal(fake.bulkRequests.length, 1);
  assert.equal(fake.documents('loom-events').length, 0);
});

test('a failure after earlier parts succeeded retries only the rest', async () => {
  const { fake, destination } = await setup({}, { maxBulkBytes: 200 });
  fake.interceptBulk = (_request, n) => (n === 1 ? unavailable() : undefined);
  const b = batch(Array.from({ length: 6 }, (_, n) => ({ n, pad: 'x'.repeat(60) })));
  const result = await destination.deliver(b, signal());
  const stored = fake.documents('loom-events').map((d) => (d.source as { n: number }).n);
  assert.ok(stored.length > 0 && stored.length < 6);
  assert.deepEqual(result.retry, [0, 1, 2, 3, 4, 5].slice(stored.length));
  assert.match(result.reason ?? '', /^503 from .*: cluster_block_exception: blocked by: \[SERVICE_UNAVAILABLE\/2\/no master\];$/);
  assert.equal(fake.bulkRequests.length, 2);
});

test('a whole-request 503 retries everything', async () => {
  const { fake, destination } = await setup();
  fake.scripted.push(unavailable());
  const result = await destination.deliver(batch([{ a: 1 }, { a: 2 }]), signal());
  assert.deepEqual(result.retry, [0, 1]);
  assert.equal(result.retryAfterMs, undefined);
  assert.match(result.reason ?? '', /cluster_block_exception/);
});

test('other whole-request errors retry everything rather than dead-letter', async () => {
  const { fake, destination } = await setup();
  fake.scripted.push({ status: 400, body: '{"error":{"type":"illegal_argument_exception","reason":"pipeline with id [x] does not exist"},"status":400}' });
  fake.scripted.push({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' });
  fake.scripted.push({ status: 301, headers: { location: 'https://es.example/' }, body: '' });
  const b = batch([{ a: 1 }]);
  const r400 = await destination.deliver(b, signal());
  assert.deepEqual(r400.retry, [0]);
  assert.match(r400.reason ?? '', /^400 from http:\/\/127\.0\.0\.1:\d+: illegal_argument_exception: pipeline with id \[x\] does not exist$/);
  const r502 = await destination.deliver(b, signal());
  assert.match(r502.reason ?? '', /^502 from .*: <html><body>502 Bad Gateway<\/body><\/html>$/);
  const r301 = await destination.deliver(b, signal());
  assert.match(r301.reason ?? '', /redirects are not followed; configure the final URL \(https:\/\/es\.example\/\)/);
});

test('a 200 that is not a bulk response retries everything with the reason', async () => {
  const { fake, destination } = await setup();
  fake.scripted.push({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>captive portal</html>' });
  fake.scripted.push({ status: 200, body: '{"took":1,"errors":false,"items":[]}' });
  fake.scripted.push({ status: 200, body: '' });
  const b = batch([{ a: 1 }, { a: 2 }]);
  const garbage = await destination.deliver(b, signal());
  assert.deepEqual(garbage.retry, [0, 1]);
  assert.match(garbage.reason ?? '', /^200 from http:\/\/127\.0\.0\.1:\d+, but not a bulk response: the body is not JSON \(.*\): <html>captive portal<\/html>$/);
  assert.match((await destination.deliver(b, signal())).reason ?? '', /, but the bulk response has 0 items for 2 documents$/);
  assert.match((await destination.deliver(b, signal())).reason ?? '', /, but not a bulk response: the body is empty$/);
});

test('basic auth is sent with every request', async () => {
  const { fake, destination } = await setup({ auth: { user: 'loom', password: 's3cret-pass' } }, { auth: { user: 'loom', password: 's3cret-pass' } });
  assert.equal((await destination.probe(signal())).ok, true);
  assert.deepEqual(await destination.deliver(batch([{ a: 1 }]), signal()), { retry: [], rejected: [] });
  const expected = `Basic ${Buffer.from('loom:s3cret-pass').toString('base64')}`;
  assert.deepEqual(fake.requests.map((r) => r.headers.authorization), [expected, expected]);
});

test('an API key, encoded or as id:key, is sent as ApiKey', async () => {
  const encoded = Buffer.from('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').toString('base64');
  const { fake, destination } = await setup({ auth: { apiKeyId: 'VuaCfGcBCdbkQm-e5aOx', apiKey: 'ui2lp2axTNmsyakw9tvNnw' } }, { auth: { apiKey: encoded } });
  assert.deepEqual(await destination.deliver(batch([{ a: 1 }]), signal()), { retry: [], rejected: [] });
  const pair = new ElasticsearchDestination({ url: fake.url, index: 'loom-events', auth: { apiKey: 'VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw' } });
  open.push(pair);
  assert.deepEqual(await pair.deliver(batch([{ a: 2 }]), signal()), { retry: [], rejected: [] });
  assert.deepEqual(fake.requests.map((r) => r.headers.authorization), [`ApiKey ${encoded}`, `ApiKey ${encoded}`]);
  assert.equal(fake.documents('loom-events').length, 2);
});

test('401: everything is retried, and no reason carries the secret', async () => {
  const password = 'wrong-but-secret';
  const { fake, destination } = await setup({ auth: { user: 'loom', password: 'right' } }, { auth: { user: 'loom', password } });
  const result = await destination.deliver(batch([{ a: 1 }, { a: 2 }]), signal());
  assert.deepEqual(result.retry, [0, 1]);
  assert.match(result.reason ?? '', /^401 from http:\/\/127\.0\.0\.1:\d+: authentication failed, check the credentials \(security_exception: unable to authenticate user \[loom\] for REST request \[\/_bulk\]\)$/);
  const probe = await destination.probe(signal());
  assert.equal(probe.ok, false);
  assert.match(probe.reason ?? '', /^401 from .*authentication failed/);
  const basic = Buffer.from(`loom:${password}`).toString('base64');
  for (const text of [result.reason, probe.reason]) {
    assert.ok(!text?.includes(password) && !text?.includes(basic));
  }
  assert.equal(fake.documents('loom-events').length, 0);

  const missing = new ElasticsearchDestination({ url: fake.url, index: 'loom-events' });
  open.push(missing);
  assert.match((await missing.deliver(batch([{ a: 1 }]), signal())).reason ?? '', /missing authentication credentials for REST request \[\/_bulk\]/);

  const key = 'id:wrong-api-key-value';
  const apiKey = new ElasticsearchDestination({ url: fake.url, index: 'loom-events', auth: { apiKey: key } });
  open.push(apiKey);
  const keyResult = await apiKey.deliver(batch([{ a: 1 }]), signal());
  assert.match(keyResult.reason ?? '', /^401 /);
  assert.ok(!keyResult.reason?.includes('wrong-api-key-value') && !keyResult.reason?.includes(Buffer.from(key).toString('base64')));
});

test('a server that echoes a credential has it redacted', async () => {
  const { fake, destination } = await setup({}, { auth: { user: 'loom', password: 'p4ssw0rd!' } });
  fake.scripted.push({ status: 400, body: '{"error":"bad header Basic bG9vbTpwNHNzdzByZCE= for p4ssw0rd!"}' });
  const result = await destination.deliver(batch([{ a: 1 }]), signal());
  assert.equal(result.reason?.includes('p4ssw0rd!'), false);
  assert.equal(result.reason?.includes('bG9vbTpwNHNzdzByZCE='), false);
  assert.match(result.reason ?? '', /bad header Basic \[redacted\] for \[redacted\]/);
});

test('403 on the bulk request is retried with the missing privilege named', async () => {
  const { fake, destination } = await setup();
  fake.scripted.push({ status: 403, body: '{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized for user [loom]"},"status":403}' });
  const result = await destination.deliver(batch([{ a: 1 }]), signal());
  assert.deepEqual(result.retry, [0]);
  assert.match(result.reason ?? '', /^403 from .*: the credentials lack a privilege \(security_exception: action \[indices:data\/write\/bulk\] is unauthorized for user \[loom\]\)$/);
});

test('connection refused', async () => {
  const { fake, destination } = await setup();
  await fake.close();
  const result = await destination.deliver(batch([{ a: 1 }, { a: 2 }]), signal());
  assert.deepEqual(result.retry, [0, 1]);
  assert.equal(result.reason, `connection refused (${fake.url})`);
  assert.deepEqual(await destination.probe(signal()), { ok: false, reason: `connection refused (${fake.url})` });
});

test('a server that never answers times out', async () => {
  const { fake, destination } = await setup({}, { timeoutMs: 300 });
  fake.hang = true;
  const started = Date.now();
  const result = await destination.deliver(batch([{ a: 1 }]), signal());
  assert.deepEqual(result.retry, [0]);
  assert.equal(result.reason, `timed out after 300 ms (${fake.url})`);
  assert.ok(Date.now() - started < 3000);
  assert.equal((await destination.probe(signal())).reason, `timed out after 300 ms (${fake.url})`);
});

test('an aborted delivery retries everything and sends nothing more', async () => {
  const { fake, destination } = await setup();
  const controller = new AbortController();
  controller.abort();
  const result = await destination.deliver(batch([{ a: 1 }]), controller.signal);
  assert.deepEqual(result.retry, [0]);
  assert.match(result.reason ?? '', /^aborted before sending to /);
  assert.equal(fake.bulkRequests.length, 0);

  fake.hang = true;
  const shutdown = new AbortController();
  setTimeout(() => shutdown.abort(), 50);
  const cut = await destination.deliver(batch([{ a: 1 }]), shutdown.signal);
  assert.deepEqual(cut.retry, [0]);
  assert.equal(cut.reason, `aborted (${fake.url})`);
});

test('an event that would break the NDJSON framing is rejected alone', async () => {
  const { fake, destination } = await setup();
  const result = await destination.deliver(batch(['{"a":1}', '{"a":\n2}', '', '{"a":3}']), signal());
  assert.deepEqual(result, {
    retry: [],
    rejected: [{ index: 1, reason: 'not a single-line JSON document' }, { index: 2, reason: 'not a single-line JSON document' }],
  });
  assert.equal(fake.documents('loom-events').length, 2);
});

test('an ingest pipeline is named in the query string', async () => {
  const { fake, destination } = await setup({}, { pipeline: 'geo ip/v1' });
  await destination.deliver(batch([{ a: 1 }]), signal());
  assert.equal(fake.bulkRequests[0]?.path, '/_bulk?pipeline=geo%20ip%2Fv1');
});

test('probe names Elasticsearch and its version', async () => {
  const { fake, destination } = await setup({ clusterName: 'prod' });
  const probe = await destination.probe(signal());
  assert.deepEqual(probe, { ok: true, server: { flavour: 'elasticsearch', version: '8.15.0', description: 'Elasticsearch 8.15.0 (cluster "prod")' } });
  assert.deepEqual(destination.server, probe.server);
  assert.equal(fake.requests[0]?.method, 'GET');
  assert.equal(fake.requests[0]?.path, '/');
});

test('probe refuses Elasticsearch 6 and accepts 7', async () => {
  const { destination } = await setup({ version: '6.8.23' });
  const probe = await destination.probe(signal());
  assert.equal(probe.ok, false);
  assert.match(probe.reason ?? '', /^Elasticsearch 6\.8\.23 \(cluster "loom-test"\) at http:\/\/127\.0\.0\.1:\d+ is too old: 7\.0 or later is needed$/);
  const seven = await setup({ version: '7.17.22' });
  assert.equal((await seven.destination.probe(signal())).server?.description, 'Elasticsearch 7.17.22 (cluster "loom-test")');
  assert.deepEqual(await seven.destination.deliver(batch([{ a: 1 }]), signal()), { retry: [], rejected: [] });
});

test('probe: a 403 on GET / means reachable with valid credentials (a writer need not see the version)', async () => {
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end('{"error":{"type":"security_exception","reason":"action [cluster:monitor/main] is unauthorized for user [loom]"},"status":403}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const writer = new ElasticsearchDestination({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, index: 'loom-events' });
  open.push(writer);
  const probe = await writer.probe(signal());
  assert.equal(probe.ok, true);
  assert.equal(probe.server?.flavour, 'unknown');
});

test('probe: an answer that is not an info response fails', async () => {
  const { destination } = await setup();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>welcome to nginx</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const nginx = new ElasticsearchDestination({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, index: 'loom-events' });
  open.push(nginx);
  assert.match((await nginx.probe(signal())).reason ?? '', /^200 from http:\/\/127\.0\.0\.1:\d+ is not an Elasticsearch or OpenSearch info response: <html>welcome to nginx<\/html>$/);
  assert.equal((await destination.probe(signal())).ok, true);
});

test('OpenSearch: probe says so, bulk works, its plain-text 401 is reported', async () => {
  const { fake, destination } = await setup({ flavour: 'opensearch', auth: { user: 'admin', password: 'admin-pass' } }, { auth: { user: 'admin', password: 'admin-pass' }, index: 'loom-%{+yyyy}' });
  assert.deepEqual(await destination.probe(signal()), { ok: true, server: { flavour: 'opensearch', version: '2.17.0', description: 'OpenSearch 2.17.0 (cluster "loom-test")' } });
  fake.failDocument = (doc) => (doc.position === 0 ? mappingError(fake.flavour, fake.version, 'source.port', 'x') : undefined);
  const result = await destination.deliver(batch([{ '@timestamp': '2023-01-01T00:00:00Z' }, { '@timestamp': '2023-06-01T00:00:00Z' }]), signal());
  assert.deepEqual(result.retry, []);
  assert.match(result.rejected[0]?.reason ?? '', /^400 mapper_parsing_exception: /);
  assert.equal(fake.documents('loom-2023').length, 1);
  assert.equal(fake.bulkRequests[0]?.headers['x-elastic-product'], undefined);

  const wrong = new ElasticsearchDestination({ url: fake.url, index: 'loom', auth: { user: 'admin', password: 'nope-nope' } });
  open.push(wrong);
  assert.equal((await wrong.deliver(batch([{ a: 1 }]), signal())).reason, `401 from ${fake.url}: authentication failed, check the credentials (Unauthorized)`);
  assert.deepEqual(await wrong.probe(signal()), { ok: false, reason: `401 from ${fake.url}: authentication failed, check the credentials (Unauthorized)` });
});

test('OpenSearch 1 and Elasticsearch 7 responses (with _type) are read the same way', async () => {
  for (const options of [{ flavour: 'opensearch', version: '1.3.19' }, { version: '7.10.2' }] as const) {
    const { fake, destination } = await setup(options, { action: 'create' });
    const b = batch([{ a: 1 }]);
    assert.deepEqual(await destination.deliver(b, signal()), { retry: [], rejected: [] });
    assert.deepEqual(await destination.deliver(b, signal()), { retry: [], rejected: [] });
    assert.equal(fake.documents('loom-events').length, 1);
  }
});

test('TLS: a private CA is trusted through caFile; without it the reason names the certificate problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-es-tls-'));
  open.push({ close: async () => rmSync(dir, { recursive: true, force: true }) });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const fake = await FakeElasticsearch.start({ tls: { key: readFileSync(key), cert: readFileSync(cert) } });
  open.push(fake);
  const trusted = new ElasticsearchDestination({ url: fake.url, index: 'loom-events', caFile: cert });
  const untrusted = new ElasticsearchDestination({ url: fake.url, index: 'loom-events' });
  const insecure = new ElasticsearchDestination({ url: fake.url, index: 'loom-events', insecureSkipVerify: true });
  open.push(trusted, untrusted, insecure);
  assert.equal((await trusted.probe(signal())).ok, true);
  assert.deepEqual(await trusted.deliver(batch([{ a: 1 }]), signal()), { retry: [], rejected: [] });
  const refused = await untrusted.deliver(batch([{ a: 2 }]), signal());
  assert.deepEqual(refused.retry, [0]);
  assert.equal(refused.reason, `self-signed certificate (${fake.url})`);
  assert.deepEqual(await insecure.deliver(batch([{ a: 3 }]), signal()), { retry: [], rejected: [] });
  assert.equal(fake.documents('loom-events').length, 2);
});
