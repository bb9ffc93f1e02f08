import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { DeliveryBatch } from '../delivery.js';
import { ClickHouseDestination, MAX_INSERTS_PER_DELIVERY, type ClickHouseOptions } from './destination.js';

/**
 * Behaviour that needs a server newer than the 18.16 the other tests run (the dedup token)
 * or answers a real server does not give on demand (503 with Retry-After). The fake answers
 * as ClickHouse documents: `SELECT version()` as text, an insert 200 with an empty body, a
 * parse error 400 with `Code: 26`.
 */
interface Insert {
  token: string | undefined;
  rows: string[];
}

describe('ClickHouse destination: dedup tokens and splitting, against a fake server', () => {
  let server: http.Server;
  let url: string;
  let version = '24.8.4.13';
  let versionQueries = 0;
  let inserts: Insert[] = [];
  let stored: string[] = [];
  /** Answers for particular inserts, by their number (1 = the first insert of the test). */
  let failures = new Map<number, { status: number; body: string; headers: Record<string, string> }>();
  let authorization: (string | undefined)[] = [];
  const opened: ClickHouseDestination[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        authorization.push(req.headers.authorization);
        const params = new URL(req.url ?? '/', 'http://fake').searchParams;
        const query = params.get('query') ?? '';
        if (query === 'SELECT version()') {
          versionQueries++;
          res.end(`${version}\n`);
          return;
        }
        const raw = Buffer.concat(chunks);
        const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        const rows = text.split('\n').filter((line) => line !== '');
        inserts.push({ token: params.get('insert_deduplication_token') ?? undefined, rows });
        const failure = failures.get(inserts.length);
        if (failure !== undefined) {
          res.writeHead(failure.status, failure.headers).end(failure.body);
          return;
        }
        if (rows.some((row) => row.includes('BAD'))) {
          res.writeHead(400).end('Code: 26, e.displayText() = DB::Exception: Cannot parse JSON string: expected opening quote, e.what() = DB::Exception\n');
          return;
        }
        stored.push(...rows);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const created of opened) await created.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    version = '24.8.4.13';
    versionQueries = 0;
    inserts = [];
    stored = [];
    failures = new Map();
    authorization = [];
  });

  const destination = (options: Partial<ClickHouseOptions> = {}): ClickHouseDestination => {
    const created = new ClickHouseDestination({
      url,
      database: 'loom',
      table: 'events',
      user: 'loom',
      password: 'pw-for-the-fake',
      mode: 'event_string',
      compression: true,
      timeoutMs: 5000,
      dedupToken: 'auto',
      ...options,
    });
    opened.push(created);
    return created;
  };
  const batch = (id: string, events: string[]): DeliveryBatch => ({ id, events, eventIds: events.map((_, i) => `${id}-${i}`) });
  const signal = (): AbortSignal => AbortSignal.timeout(30_000);

  test('"auto" on 22.2 and newer: the version is asked once, every insert carries the batch id', async () => {
    const dest = destination();
    assert.deepEqual(await dest.deliver(batch('b-1', ['{"a":1}']), signal()), { retry: [], rejected: [] });
    assert.deepEqual(await dest.deliver(batch('b-2', ['{"a":2}']), signal()), { retry: [], rejected: [] });
    assert.equal(versionQueries, 1);
    assert.deepEqual(inserts.map((i) => i.token), ['b-1', 'b-2']);
    assert.ok(authorization.every((value) => value === `Basic ${Buffer.from('loom:pw-for-the-fake').toString('base64')}`));
  });

  test('"off" never sends the token and never asks; "on" always sends it without asking', async () => {
    await destination({ dedupToken: 'off' }).deliver(batch('off-1', ['{"a":1}']), signal());
    await destination({ dedupToken: 'on' }).deliver(batch('on-1', ['{"a":1}']), signal());
    assert.equal(versionQueries, 0);
    assert.deepEqual(inserts.map((i) => i.token), [undefined, 'on-1']);
  });

  test('splitting: each part is its own insert with a token from the batch id and its range', async () => {
    const events = Array.from({ length: 8 }, (_, i) => (i === 5 ? '{"BAD":5}' : `{"n":${i}}`));
    const result = await destination().deliver(batch('split', events), signal());
    assert.deepEqual(result.retry, []);
    assert.deepEqual(result.rejected, [{ index: 5, reason: 'ClickHouse 400: Code: 26, DB::Exception: Cannot parse JSON string: expected opening quote' }]);
    assert.deepEqual(inserts.map((i) => i.token), ['split', 'split:0-4', 'split:4-8', 'split:4-6', 'split:4-5', 'split:5-6', 'split:6-8']);
    assert.deepEqual(stored.map((row) => (JSON.parse(row) as { event: string }).event).sort(), events.filter((_, i) => i !== 5).sort());
  });

  test('a failure keeps Retry-After, and the version is asked again afterwards', async () => {
    const dest = destination();
    await dest.deliver(batch('v-1', ['{"a":1}']), signal());
    failures.set(2, { status: 503, body: 'overloaded', headers: { 'Retry-After': '3' } });
    const failed = await dest.deliver(batch('v-2', ['{"a":2}', '{"a":3}']), signal());
    assert.deepEqual(failed, { retry: [0, 1], rejected: [], reason: `ClickHouse 503 from ${url}: overloaded`, retryAfterMs: 3000 });
    // The server was "downgraded" meanwhile: the token must go.
    version = '18.16.1';
    await dest.deliver(batch('v-2', ['{"a":2}', '{"a":3}']), signal());
    assert.equal(versionQueries, 2);
    assert.deepEqual(inserts.map((i) => i.token), ['v-1', 'v-2', undefined]);
  });

  test('a failure while splitting retries what is left without asking again', async () => {
    const events = Array.from({ length: 4 }, (_, i) => (i === 0 ? '{"BAD":0}' : `{"n":${i}}`));
    const dest = destination({ dedupToken: 'off' });
    // The whole batch fails on the bad row, then the first half's insert meets a 500.
    failures.set(2, { status: 500, body: 'Code: 999, e.displayText() = DB::Exception: Keeper went away, e.what() = DB::Exception', headers: {} });
    const result = await dest.deliver(batch('mid', events), signal());
    assert.deepEqual(result.rejected, []);
    assert.deepEqual(result.retry, [0, 1, 2, 3]);
    assert.equal(result.reason, `ClickHouse 500 from ${url}: Code: 999, DB::Exception: Keeper went away`);
    assert.equal(inserts.length, 2);
  });

  test(`isolating bad rows stops after ${MAX_INSERTS_PER_DELIVERY} inserts; the undecided rows are retried`, async () => {
    const events = Array.from({ length: 300 }, (_, i) => `{"BAD":${i}}`);
    const result = await destination({ dedupToken: 'off', compression: false }).deliver(batch('many', events), signal());
    assert.equal(inserts.length, MAX_INSERTS_PER_DELIVERY);
    const decided = [...result.retry, ...result.rejected.map((r) => r.index)].sort((a, b) => a - b);
    assert.deepEqual(decided, events.map((_, i) => i));
    assert.ok(result.rejected.length > 0);
    assert.match(result.reason ?? '', /isolating bad rows took 200 inserts; the undecided rows are retried/);
  });

  test('options that cannot work are refused when the destination is made', () => {
    const base: ClickHouseOptions = { url, database: 'loom', table: 'events', mode: 'typed', compression: true, timeoutMs: 1000, dedupToken: 'auto' };
    assert.throws(() => new ClickHouseDestination({ ...base, table: '' }), /table name is empty/);
    assert.throws(() => new ClickHouseDestination({ ...base, user: 'a:b' }), /must not contain ":"/);
    assert.throws(() => new ClickHouseDestination({ ...base, timeoutMs: 0 }), /timeout must be above 0/);
    assert.throws(() => new ClickHouseDestination({ ...base, url: 'http://u:p@ch:8123' }), /credentials must not be written into the URL/);
    assert.throws(() => new ClickHouseDestination({ ...base, mode: 'json' as ClickHouseOptions['mode'] }), /mode must be "event_string" or "typed"/);
  });

  test('an aborted delivery retries everything and never throws', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await destination({ dedupToken: 'off' }).deliver(batch('abort', ['{"a":1}', '{"a":2}']), controller.signal);
    assert.deepEqual(result, { retry: [0, 1], rejected: [], reason: `ClickHouse at ${url}: aborted` });
  });
});
