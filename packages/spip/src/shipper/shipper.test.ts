import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestServer, collectLogs, waitUntil } from '../../test/helpers/shipper-server.js';
import { DEAD_LETTER_FILE, QUARANTINE_DIR, scanSegment } from '@loom/spool';
import type { ShipperOptions } from './options.js';
import { Shipper } from './shipper.js';

const root = mkdtempSync(join(tmpdir(), 'spip-shipper-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const spoolDir = (): string => join(root, `spool-${dirCounter++}`);

const token = 'tok-3f9a1c2e7b';
/** Loopback port 9 (discard) has no listener here: connections are refused. */
const refusedUrl = 'http://127.0.0.1:9/api/v1/ingest';

function options(url: string, overrides: Partial<ShipperOptions> = {}): ShipperOptions {
  return {
    url,
    sensorId: 'spip-test',
    token,
    batchSize: 10,
    flushIntervalMs: 50,
    insecureSkipVerify: false,
    spoolDir: undefined,
    spoolMaxBytes: 1024 * 1024,
    memoryMaxEvents: 10_000,
    gzip: false,
    maxBodyBytes: 2 * 1024 * 1024,
    requestTimeoutMs: 2000,
    backoff: { initialMs: 10, maxMs: 100 },
    ...overrides,
  };
}

function event(i: number, padding = 0): Record<string, unknown> {
  return { id: `e${i}`, '@timestamp': '2026-02-15T19:47:09Z', source: { ip: '167.94.146.54', port: 4496 }, pad: 'x'.repeat(padding) };
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `e${from + i}`);

const open: Shipper[] = [];
const servers: IngestServer[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close(0)));
  await Promise.all(servers.map((s) => s.close()));
});

async function startShipper(opts: ShipperOptions, log = collectLogs().log): Promise<Shipper> {
  const shipper = new Shipper(opts, log);
  open.push(shipper);
  await shipper.start();
  return shipper;
}

async function startServer(port = 0): Promise<IngestServer> {
  const server = await IngestServer.start(port);
  servers.push(server);
  return server;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort().map((n) => join(dir, n));
}

describe('batching', () => {
  test('a full batch goes at once; the rest waits for the interval or close()', async () => {
    const server = await startServer();
    const shipper = await startShipper(options(server.url, { batchSize: 10, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 25; i++) shipper.enqueue(event(i));
    await server.until(() => server.accepted.length === 20, 'two full batches');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(server.requests.map((r) => r.events.length), [10, 10]);
    await shipper.close(2000);
    assert.deepEqual(server.requests.map((r) => r.events.length), [10, 10, 5]);
    assert.deepEqual(server.ids(), range(0, 25));
    const stats = shipper.stats();
    assert.equal(stats.sentEvents, 25);
    assert.equal(stats.sentBatches, 3);
    assert.equal(stats.queuedEvents, 0);
  });

  test('a partial batch is sent after flushIntervalMs', async () => {
    const server = await startServer();
    const shipper = await startShipper(options(server.url, { batchSize: 100, flushIntervalMs: 300 }));
    const start = Date.now();
    for (let i = 0; i < 3; i++) shipper.enqueue(event(i));
    await server.until(() => server.accepted.length === 3, 'the batch');
    const waited = (server.requests[0]?.at ?? 0) - start;
    assert.ok(waited >= 250 && waited < 3000, `sent after ${waited} ms`);
    assert.equal(server.requests.length, 1);
    await shipper.close(1000);
  });

  test('headers, gzip, and bodies kept under maxBodyBytes', async () => {
    const server = await startServer();
    const shipper = await startShipper(options(server.url, { batchSize: 50, gzip: true, maxBodyBytes: 1000 }));
    for (let i = 0; i < 20; i++) shipper.enqueue(event(i, 200));
    await server.until(() => server.accepted.length === 20, 'all events');
    await shipper.close(1000);
    for (const r of server.requests) {
      assert.equal(r.headers.authorization, `Bearer ${token}`);
      assert.equal(r.headers['x-spip-id'], 'spip-test');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.ok(r.body.length <= 1000, `body of ${r.body.length} bytes`);
      assert.ok(r.rawBytes < r.body.length, 'compressed');
    }
    assert.ok(server.requests.length >= 5);
    assert.deepEqual(server.ids(), range(0, 20));
  });
});

describe('retries', () => {
  test('503 with Retry-After: the same batch again after the pause', async () => {
    const server = await startServer();
    server.respond = (_r, i) => (i === 0 ? { status: 503, headers: { 'Retry-After': '1' }, body: { error: 'output_unavailable', message: 'disk full' } } : { status: 204 });
    const shipper = await startShipper(options(server.url, { batchSize: 5 }));
    for (let i = 0; i < 5; i++) shipper.enqueue(event(i));
    await waitUntil(() => shipper.stats().sentEvents === 5, 'the retried batch');
    const [first, second] = server.requests;
    assert.ok(first !== undefined && second !== undefined);
    assert.deepEqual(second.body, first.body);
    assert.ok(second.at - first.at >= 950, `retried after ${second.at - first.at} ms`);
    const stats = shipper.stats();
    assert.equal(stats.failedAttempts, 1);
    assert.equal(stats.lastStatus, 204);
    assert.match(stats.lastError ?? '', /status 503: output_unavailable: disk full/);
    assert.ok(stats.lastSuccessAt !== undefined);
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 5));
  });

  test('429 is retried until it passes; nothing is lost or doubled', async () => {
    const server = await startServer();
    server.respond = (_r, i) => (i < 3 ? { status: 429, headers: { 'Retry-After': '0' }, body: { error: 'rate_limit_exceeded' } } : { status: 204 });
    const shipper = await startShipper(options(server.url, { batchSize: 4 }));
    for (let i = 0; i < 12; i++) shipper.enqueue(event(i));
    await server.until(() => server.accepted.length === 12, 'all events');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 12));
    assert.equal(shipper.stats().failedAttempts, 3);
  });

  test('connection refused, then the server appears: everything arrives once', async () => {
    const probe = await IngestServer.start();
    const port = probe.port;
    await probe.close();
    const url = `http://127.0.0.1:${port}/api/v1/ingest`;
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(url, { batchSize: 5 }), log);
    for (let i = 0; i < 12; i++) shipper.enqueue(event(i));
    await waitUntil(() => shipper.stats().failedAttempts >= 3, 'failed attempts');
    assert.match(shipper.stats().lastError ?? '', /ECONNREFUSED/);
    const server = await startServer(port);
    await server.until(() => server.accepted.length === 12, 'all events');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 12));
    assert.ok(entries.some((e) => e.msg.includes('Loom accepts batches again')));
    assert.ok(entries.filter((e) => e.msg.includes('POST to Loom failed')).length <= 2, 'retries are logged at most once a minute');
  });

  test('413: halves are sent, smaller batches follow, and a lone event too large is dead-lettered', async () => {
    const dir = spoolDir();
    const server = await startServer();
    server.respond = (r) => {
      if (r.events.some((e) => e.huge === true)) return { status: 413, body: { error: 'event_too_large', message: 'event 0 is too large' } };
      return r.events.length > 4 ? { status: 413, body: { error: 'payload_too_large', message: 'body too large' } } : { status: 204 };
    };
    const shipper = await startShipper(options(server.url, { batchSize: 16, spoolDir: dir, flushIntervalMs: 20 }));
    for (let i = 0; i < 16; i++) shipper.enqueue(i === 9 ? { ...event(i), huge: true } : event(i));
    await server.until(() => server.accepted.length === 15, 'all but the huge event');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 16).filter((id) => id !== 'e9'));
    assert.deepEqual(shipper.stats().droppedEvents, { too_large: 1 });
    const letters = (await readFile(join(dir, DEAD_LETTER_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.reason, 'too_large');
    assert.equal(letters[0]?.status, 413);
    assert.equal(letters[0]?.error, 'event_too_large');
    assert.equal((letters[0]?.event as Record<string, unknown>).id, 'e9');
  });

  test('400 invalid_request: bisection finds the bad events, dead-letters them with the reason, sends the rest', async () => {
    const dir = spoolDir();
    const server = await startServer();
    server.respond = (r) => (r.events.some((e) => e.bad === true) ? { status: 400, body: { error: 'invalid_request', message: 'event has a bad field' } } : { status: 204 });
    const shipper = await startShipper(options(server.url, { batchSize: 16, spoolDir: dir }));
    const bad = new Set([3, 11]);
    for (let i = 0; i < 16; i++) shipper.enqueue(bad.has(i) ? { ...event(i), bad: true } : event(i));
    await server.until(() => server.accepted.length === 14, 'the good events');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 16).filter((id) => id !== 'e3' && id !== 'e11'));
    assert.deepEqual(shipper.stats().droppedEvents, { rejected: 2 });
    const letters = (await readFile(join(dir, DEAD_LETTER_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(letters.map((l) => (l.event as Record<string, unknown>).id), ['e3', 'e11']);
    for (const l of letters) {
      assert.equal(l.reason, 'rejected');
      assert.equal(l.status, 400);
      assert.equal(l.error, 'invalid_request');
      assert.equal(l.message, 'event has a bad field');
      assert.equal(typeof l.time, 'string');
    }
    // Halving around two bad events among sixteen takes 15 requests in all.
    assert.equal(server.requests.length, 15);
  });

  test('400 without a spool directory: the dead letter is counted and logged', async () => {
    const server = await startServer();
    server.respond = (r) => (r.events.some((e) => e.bad === true) ? { status: 400, body: { error: 'invalid_request', message: 'nope' } } : { status: 204 });
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(server.url, { batchSize: 4 }), log);
    for (let i = 0; i < 4; i++) shipper.enqueue(i === 2 ? { ...event(i), bad: true } : event(i));
    await server.until(() => server.accepted.length === 3, 'the good events');
    await shipper.close(1000);
    assert.deepEqual(shipper.stats().droppedEvents, { rejected: 1 });
    const logged = entries.find((e) => e.msg.includes('dead-lettered'));
    assert.ok(logged !== undefined);
    assert.equal(logged.fields?.reason, 'rejected');
    assert.match(String(logged.fields?.preview), /"id":"e2"/);
  });

  test('401 keeps the events, retries slowly, logs one error a minute, and never logs the token', async () => {
    const server = await startServer();
    server.respond = (_r, i) => (i < 5 ? { status: 401, body: { error: 'unauthorized', message: 'unknown token' } } : { status: 204 });
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(server.url, { batchSize: 3, backoff: { initialMs: 10, maxMs: 60 } }), log);
    for (let i = 0; i < 6; i++) shipper.enqueue(event(i));
    await server.until(() => server.accepted.length === 6, 'all events once the token works');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 6));
    assert.deepEqual(shipper.stats().droppedEvents, {});
    const errors = entries.filter((e) => e.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.fields?.error), /401/);
    // Retried after at least half of backoff.maxMs each time.
    const gaps = server.requests.slice(1, 6).map((r, i) => r.at - (server.requests[i]?.at ?? 0));
    for (const gap of gaps) assert.ok(gap >= 25, `gap ${gap} ms`);
    assert.ok(!JSON.stringify(entries).includes(token));
  });
});

describe('bounds', () => {
  test('a full memory queue drops its oldest events and counts them', async () => {
    const server = await startServer();
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(server.url, { batchSize: 100, flushIntervalMs: 60_000, memoryMaxEvents: 10 }), log);
    for (let i = 0; i < 25; i++) shipper.enqueue(event(i));
    assert.deepEqual(shipper.stats().droppedEvents, { queue_full: 15 });
    assert.equal(shipper.stats().queuedEvents, 10);
    assert.ok(entries.some((e) => e.level === 'warn' && e.fields?.reason === 'queue_full'));
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(15, 25));
  });

  test('enqueue never throws: unserialisable events, events after close', async () => {
    const server = await startServer();
    const shipper = await startShipper(options(server.url));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    shipper.enqueue(circular);
    shipper.enqueue({ n: 1n });
    shipper.enqueue([1, 2] as unknown as object);
    await shipper.close(1000);
    shipper.enqueue(event(1));
    assert.deepEqual(shipper.stats().droppedEvents, { unserializable: 3, closed: 1 });
  });

  test('without a spool, events still queued at the close deadline are counted as lost', async () => {
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(refusedUrl, { batchSize: 5 }), log);
    for (let i = 0; i < 12; i++) shipper.enqueue(event(i));
    const start = Date.now();
    await shipper.close(300);
    assert.ok(Date.now() - start < 2000);
    assert.deepEqual(shipper.stats().droppedEvents, { shutdown: 12 });
    assert.ok(entries.some((e) => e.msg.includes('without a spool directory they are lost')));
  });
});

describe('spool', () => {
  test('what close() could not send is replayed, in order, by the next shipper', async () => {
    const dir = spoolDir();
    const first = await startShipper(options(refusedUrl, { spoolDir: dir, batchSize: 5 }));
    for (let i = 0; i < 30; i++) first.enqueue(event(i));
    await waitUntil(() => first.stats().spooledEvents === 30, 'all events spooled');
    await first.close(200);
    assert.equal(first.stats().spooledEvents, 30);
    assert.deepEqual(first.stats().droppedEvents, {});

    const server = await startServer();
    const { entries, log } = collectLogs();
    const second = await startShipper(options(server.url, { spoolDir: dir, batchSize: 5 }), log);
    assert.ok(entries.some((e) => e.msg.includes('resending events left by the previous run') && e.fields?.events === 30));
    second.enqueue(event(30));
    await server.until(() => server.accepted.length === 31, 'replayed and new events');
    await second.close(1000);
    assert.deepEqual(server.ids(), range(0, 31));
    const stats = second.stats();
    assert.equal(stats.spooledEvents, 0);
    assert.equal(stats.queuedEvents, 0);

    // A third start finds nothing to resend.
    const third = await startShipper(options(server.url, { spoolDir: dir }));
    assert.equal(third.stats().spooledEvents, 0);
    await third.close(100);
    assert.equal(server.accepted.length, 31);
  });

  test('events queued when close() is called are written to the spool before it returns', async () => {
    const dir = spoolDir();
    const first = await startShipper(options(refusedUrl, { spoolDir: dir, batchSize: 100, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 50; i++) first.enqueue(event(i));
    await first.close(0);
    const server = await startServer();
    const second = await startShipper(options(server.url, { spoolDir: dir, batchSize: 100 }));
    await server.until(() => server.accepted.length === 50, 'every event');
    await second.close(1000);
    assert.deepEqual(server.ids(), range(0, 50));
  });

  test('a torn tail (a record cut short by a crash) is cut off; the records before it are replayed', async () => {
    const dir = spoolDir();
    const first = await startShipper(options(refusedUrl, { spoolDir: dir, batchSize: 100, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 20; i++) first.enqueue(event(i));
    await first.close(0);
    const [segment] = await segmentFiles(dir);
    assert.ok(segment !== undefined);
    const size = (await stat(segment)).size;
    await truncate(segment, size - 7);

    const server = await startServer();
    const { entries, log } = collectLogs();
    const second = await startShipper(options(server.url, { spoolDir: dir, batchSize: 100 }), log);
    await server.until(() => server.accepted.length === 19, 'the intact records');
    await second.close(1000);
    assert.deepEqual(server.ids(), range(0, 19));
    assert.ok(entries.some((e) => e.level === 'warn' && e.msg.includes('cut an unfinished write')));
    assert.deepEqual(second.stats().droppedEvents, {});
  });

  test('a damaged segment is quarantined and startup goes on; intact records are kept', async () => {
    const dir = spoolDir();
    // 64 KiB spool: 8 KiB segments, so 100 events of ~300 bytes span several files.
    const first = await startShipper(options(refusedUrl, { spoolDir: dir, spoolMaxBytes: 64 * 1024, batchSize: 100, flushIntervalMs: 60_000 }));
    for (let i = 0; i < 100; i++) first.enqueue(event(i, 200));
    await first.close(0);
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 3, `${files.length} segments`);
    // Flip one payload byte of the third record of the second segment.
    const victim = files[1] as string;
    const buf = await readFile(victim);
    const frame = scanSegment(buf).frames[2] as [number, number];
    const lostId = (JSON.parse(buf.subarray(frame[0] + 12, frame[1]).toString('utf8')) as { id: string }).id;
    buf[frame[0] + 12 + 40] = (buf[frame[0] + 12 + 40] as number) ^ 0xff;
    await writeFile(victim, buf);
    // And a file with a segment's name that is not a segment at all.
    await writeFile(join(dir, '00000000000000009999.seg'), 'not a segment, just text');

    const server = await startServer();
    const { entries, log } = collectLogs();
    const second = await startShipper(options(server.url, { spoolDir: dir, spoolMaxBytes: 64 * 1024, batchSize: 100 }), log);
    await server.until(() => server.accepted.length === 99, 'every intact record');
    await second.close(1000);
    assert.deepEqual(server.ids(), range(0, 100).filter((id) => id !== lostId));
    assert.deepEqual(second.stats().droppedEvents, { corrupt: 1 });
    const quarantined = await readdir(join(dir, QUARANTINE_DIR));
    assert.equal(quarantined.length, 2);
    assert.ok(entries.some((e) => e.level === 'error' && e.msg.includes('damaged') && e.fields?.corruptRecords === 1));
    assert.ok(entries.some((e) => e.level === 'error' && e.msg.includes('no valid header')));
  });

  test('spoolMaxBytes: the oldest segments give way, counted; the spool never grows past the bound', async () => {
    const dir = spoolDir();
    const max = 16 * 1024;
    const { entries, log } = collectLogs();
    const first = await startShipper(options(refusedUrl, { spoolDir: dir, spoolMaxBytes: max, batchSize: 10 }), log);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      first.enqueue(event(i, 100));
      if (i % 20 === 19) {
        await new Promise((r) => setTimeout(r, 5));
        peak = Math.max(peak, first.stats().spooledBytes);
      }
    }
    await waitUntil(() => first.stats().queuedEvents - first.stats().spooledEvents === 0, 'everything written');
    await first.close(0);
    const stats = first.stats();
    assert.ok(peak <= max && stats.spooledBytes <= max, `peak ${peak}, now ${stats.spooledBytes}`);
    const dropped = stats.droppedEvents.spool_full ?? 0;
    assert.ok(dropped > 0);
    assert.ok(entries.some((e) => e.level === 'warn' && e.fields?.reason === 'spool_full'));
    let onDisk = 0;
    for (const f of await segmentFiles(dir)) onDisk += (await stat(f)).size;
    assert.ok(onDisk <= max);

    const server = await startServer();
    const second = await startShipper(options(server.url, { spoolDir: dir, spoolMaxBytes: max, batchSize: 50 }));
    await server.until(() => server.accepted.length === stats.spooledEvents, 'the spooled events');
    await second.close(1000);
    // What survived is the newest events, in order, each once.
    const ids = server.ids();
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(ids, range(200 - ids.length, 200));
    assert.equal(ids.length + dropped, 200);
  });

  test('only what Loom has not acknowledged is resent after a restart', async () => {
    const dir = spoolDir();
    const server = await startServer();
    server.respond = (_r, i) => (i < 2 ? { status: 204 } : { status: 503, body: { error: 'overloaded' } });
    const first = await startShipper(options(server.url, { spoolDir: dir, batchSize: 10 }));
    for (let i = 0; i < 35; i++) first.enqueue(event(i));
    await waitUntil(() => first.stats().sentEvents === 20 && first.stats().failedAttempts > 0, 'two batches through, then refusals');
    await first.close(100);
    assert.equal(first.stats().spooledEvents, 15);

    server.respond = () => ({ status: 204 });
    const second = await startShipper(options(server.url, { spoolDir: dir, batchSize: 10 }));
    await server.until(() => server.accepted.length === 35, 'the rest');
    await second.close(1000);
    assert.deepEqual(server.ids(), range(0, 35));
  });

  test('a damaged ack file means resending the whole spool (duplicates, never loss)', async () => {
    const dir = spoolDir();
    const server = await startServer();
    server.respond = (_r, i) => (i < 1 ? { status: 204 } : { status: 503 });
    const first = await startShipper(options(server.url, { spoolDir: dir, batchSize: 5 }));
    for (let i = 0; i < 8; i++) first.enqueue(event(i));
    await waitUntil(() => first.stats().sentEvents === 5 && first.stats().failedAttempts > 0, 'one batch through');
    await first.close(50);
    await writeFile(join(dir, 'ack'), 'garbage');

    server.respond = () => ({ status: 204 });
    const { entries, log } = collectLogs();
    const second = await startShipper(options(server.url, { spoolDir: dir, batchSize: 5 }), log);
    await server.until(() => server.accepted.length === 13, 'the whole spool again');
    await second.close(1000);
    assert.deepEqual(server.ids(), [...range(0, 5), ...range(0, 8)]);
    assert.ok(entries.some((e) => e.level === 'warn' && e.msg.includes('ack file is damaged')));
  });

  test('while the spool cannot be written, events are shipped from memory; writing resumes later', async () => {
    const dir = spoolDir();
    const server = await startServer();
    const { entries, log } = collectLogs();
    const shipper = await startShipper(options(server.url, { spoolDir: dir, batchSize: 5 }), log);
    // The first segment's name is taken by a directory: creating the file fails.
    await mkdir(join(dir, '00000000000000000001.seg'));
    for (let i = 0; i < 10; i++) shipper.enqueue(event(i));
    await server.until(() => server.accepted.length === 10, 'events sent from memory');
    assert.ok(entries.some((e) => e.level === 'error' && e.msg === 'spool: write failed'));
    await new Promise((r) => setTimeout(r, 600));
    for (let i = 10; i < 20; i++) shipper.enqueue(event(i));
    await waitUntil(() => shipper.stats().sentEvents === 20, 'events through the spool again');
    await shipper.close(1000);
    assert.deepEqual(server.ids(), range(0, 20));
    assert.ok((await segmentFiles(dir)).some((f) => f.endsWith('00000000000000000002.seg')));
    const final = entries.at(-1);
    assert.equal(final?.msg, 'shipper closed');
    assert.deepEqual(Object.keys(final?.fields ?? {}).sort(), ['batches', 'dropped', 'failedAttempts', 'lastError', 'lastSuccessAgeS', 'queued', 'sent', 'sentSinceLast', 'spooled', 'spooledBytes']);
    assert.equal(final?.fields?.sent, 20);

    // The next start moves the obstacle aside instead of failing on it.
    const restarted = collectLogs();
    const next = await startShipper(options(server.url, { spoolDir: dir }), restarted.log);
    await next.close(100);
    assert.ok(restarted.entries.some((e) => e.level === 'error' && e.msg.includes('cannot read a segment')));
    assert.equal(server.accepted.length, 20);
  });

  test('two shippers cannot share a spool directory in one process', async () => {
    const dir = spoolDir();
    const first = await startShipper(options(refusedUrl, { spoolDir: dir }));
    const second = new Shipper(options(refusedUrl, { spoolDir: dir }), collectLogs().log);
    await assert.rejects(second.start(), /already open/);
    await first.close(0);
  });
});

test('invalid options are refused with the option named', () => {
  assert.throws(() => new Shipper(options('ftp://127.0.0.1/'), collectLogs().log), /url: expected http or https/);
  assert.throws(() => new Shipper(options(refusedUrl, { batchSize: 0 }), collectLogs().log), /batchSize: must be > 0/);
});
