import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeElasticsearch, unavailable } from '../../test/fakes/elasticsearch.js';
import { Metrics } from '../management/metrics.js';
import { DestinationSink, type DestinationSinkOptions } from './destination-sink.js';
import { ElasticsearchDestination } from './elasticsearch/destination.js';
import { SinkUnavailableError, type Batch } from './types.js';

/*
 * The outbox's delivery loop against a real HTTP server (the Elasticsearch fake): retry
 * pacing, replay after a restart, and delivery without an outbox.
 */

let elasticsearch: FakeElasticsearch;
let root: string;
before(async () => {
  elasticsearch = await FakeElasticsearch.start();
  root = await mkdtemp(join(tmpdir(), 'loom-destination-sink-'));
});
after(async () => {
  await elasticsearch.close();
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
function batchOf(count: number, tag: string): Batch {
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ '@timestamp': '2026-03-01T00:00:00Z', tag, n: i }));
  return { id: `batch-${++counter}`, source: 'test', sensorId: 's1', receivedAt: Date.now(), count, ndjson: Buffer.from(`${lines.join('\n')}\n`) };
}

function sinkFor(index: string, dir: string, overrides: Partial<DestinationSinkOptions> = {}): DestinationSink {
  return new DestinationSink({
    name: 'search',
    destination: new ElasticsearchDestination({ url: elasticsearch.url, index, timeoutMs: 2000 }),
    outbox: { enabled: true, dir, maxBytes: 0, whenFull: 'reject', retryBackoffMs: 400, retryMaxBackoffMs: 400 },
    batchMaxEvents: 1000,
    batchMaxBytes: 8 * 1024 * 1024,
    batchMaxWaitMs: 0,
    syncTimeoutMs: 1000,
    deadLetterMaxBytes: 1024 * 1024,
    metrics: new Metrics(),
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('while the destination fails, new batches do not cut the retry backoff short', async () => {
  let failing = true;
  let attempts = 0;
  elasticsearch.interceptBulk = () => {
    attempts++;
    return failing ? unavailable() : undefined;
  };
  const sink = sinkFor('pacing', join(root, 'pacing'));
  try {
    await sink.start();
    const started = Date.now();
    // 40 batches arrive over about a second while every delivery fails.
    for (let i = 0; i < 40; i++) {
      await sink.write(batchOf(5, 'pacing'));
      await new Promise((r) => setTimeout(r, 25));
    }
    const elapsed = Date.now() - started;
    assert.ok(attempts <= Math.ceil(elapsed / 400) + 2, `${attempts} attempts in ${elapsed} ms with a 400 ms backoff`);
    assert.equal(sink.status().outbox?.events, 200, 'every acknowledged event waits in the outbox');
    assert.match(sink.status().lastError ?? '', /503/);
    failing = false;
    await eventually(() => elasticsearch.documents('pacing').length === 200, '200 documents');
    await eventually(() => sink.status().outbox?.events === 0, 'an empty outbox');
  } finally {
    elasticsearch.interceptBulk = undefined;
    await sink.close();
  }
});

test('events left in the outbox at shutdown are delivered by the next start, in order', async () => {
  const dir = join(root, 'replay');
  elasticsearch.interceptBulk = () => unavailable();
  const first = sinkFor('replay', dir);
  await first.start();
  for (let i = 0; i < 3; i++) await first.write(batchOf(4, `replay-${i}`));
  await first.close();
  elasticsearch.interceptBulk = undefined;
  assert.equal(elasticsearch.documents('replay').length, 0);

  const second = sinkFor('replay', dir);
  try {
    await second.start();
    assert.equal(second.status().outbox?.events, 12, 'the count of waiting events survives the restart');
    await eventually(() => elasticsearch.documents('replay').length === 12, '12 documents');
    const tags = elasticsearch.documents('replay').map((doc) => (doc.source as { tag: string }).tag);
    assert.deepEqual(tags, [...Array(4).fill('replay-0'), ...Array(4).fill('replay-1'), ...Array(4).fill('replay-2')]);
  } finally {
    await second.close();
  }
});

test('without an outbox a batch is delivered while the request waits, or refused with a reason at the deadline', async () => {
  const sink = sinkFor('sync', join(root, 'sync'), { outbox: { enabled: false, dir: join(root, 'sync'), maxBytes: 0, whenFull: 'reject', retryBackoffMs: 200, retryMaxBackoffMs: 200 } });
  try {
    await sink.start();
    await sink.write(batchOf(3, 'sync'));
    assert.equal(elasticsearch.documents('sync').length, 3, 'delivered before write() resolved');

    elasticsearch.interceptBulk = () => unavailable();
    const started = Date.now();
    await assert.rejects(sink.write(batchOf(3, 'sync')), (error: unknown) => {
      assert.ok(error instanceof SinkUnavailableError);
      assert.match(error.message, /did not accept the batch: .*503/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, 'refused around the 1 s deadline');
    assert.equal(sink.health().ok, false);
  } finally {
    elasticsearch.interceptBulk = undefined;
    await sink.close();
  }
});

test('the dead-letter file keeps each refused event with the destination\'s reason', async () => {
  const dir = join(root, 'dead');
  elasticsearch.failDocument = (document) => (document.source.includes('"n":1') ? { status: 400, type: 'illegal_argument_exception', reason: 'field [n] is not allowed' } : undefined);
  const sink = sinkFor('dead', dir);
  try {
    await sink.start();
    await sink.write(batchOf(3, 'dead'));
    await eventually(() => elasticsearch.documents('dead').length === 2 && sink.status().deadLetters === 1, 'two documents and one dead letter');
    const letters = (await readFile(join(dir, 'dead-letter.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { reason: string; error: string; event: { n: number } });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.event.n, 1);
    assert.equal(letters[0]?.error, '400 illegal_argument_exception: field [n] is not allowed');
  } finally {
    elasticsearch.failDocument = undefined;
    await sink.close();
  }
});
