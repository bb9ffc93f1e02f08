import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { sqlStatements, startClickHouse, type ClickHouseServer } from '../../../test/helpers/clickhouse-server.js';
import type { DeliveryBatch } from '../delivery.js';
import { ClickHouseDestination, type ClickHouseOptions } from './destination.js';

const root = new URL('../../../../../../', import.meta.url);
const signal = (): AbortSignal => AbortSignal.timeout(60_000);

let batches = 0;
function batchOf(events: string[]): DeliveryBatch {
  const id = `batch-${++batches}`;
  return { id, events, eventIds: events.map((_, i) => `${id}-${i}`) };
}

/** The fenced ```sql blocks of a Markdown file, by the title comment on their first line. */
async function sqlBlocks(path: string): Promise<Map<string, string>> {
  const text = await readFile(new URL(path, root), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/```sql\n-- (.+)\n([\s\S]*?)```/g)) blocks.set(match[1] ?? '', (match[2] ?? '').trim());
  return blocks;
}

describe('ClickHouse destination against a real ClickHouse server', () => {
  let server: ClickHouseServer;
  const opened: ClickHouseDestination[] = [];
  const destination = (table: string, options: Partial<ClickHouseOptions> = {}): ClickHouseDestination => {
    const created = new ClickHouseDestination({
      url: server.url,
      database: 'loom',
      table,
      user: server.user,
      password: server.password,
      mode: 'event_string',
      compression: true,
      timeoutMs: 10_000,
      dedupToken: 'auto',
      ...options,
    });
    opened.push(created);
    return created;
  };
  const eventTable = async (name: string): Promise<void> => {
    await server.query(`CREATE TABLE loom.${name} (event String) ENGINE = MergeTree ORDER BY tuple()`);
  };
  const typedTable = async (name: string): Promise<void> => {
    const schema = await readFile(new URL('docs/clickhouse/schema-18.16.sql', root), 'utf8');
    for (const statement of sqlStatements(schema)) await server.query(statement.replaceAll('loom.events', `loom.${name}`));
  };
  const storedEvents = async (table: string): Promise<string[]> =>
    (await server.rows<{ event: string }>(`SELECT event FROM loom.${table}`)).map((r) => r.event);

  before(async () => {
    server = await startClickHouse();
    await server.query('CREATE DATABASE loom');
  });
  after(async () => {
    for (const created of opened) await created.close();
    await server?.stop();
  });

  test('probe: ping and SELECT 1 with the credentials', async () => {
    assert.deepEqual(await destination('unused').probe(signal()), { ok: true });
  });

  test('event_string: nasty strings and a 100 KB event come back exactly, gzipped or not', async () => {
    const events = [
      JSON.stringify({ message: 'say "hi" \\ back\\slash \\" \\\\' }),
      JSON.stringify({ message: 'é ü ß 中文 日本語 😀 \u2028\u2029 \ufeff' }),
      JSON.stringify({ message: '\u0000\u0001\u0007\b\f\u001b\u001f\u007f\t\r\n', nested: { 'we"ird': ['\\u0000'] } }),
      JSON.stringify({ '@timestamp': '2025-12-01T19:35:18Z', big: 'x'.repeat(50_000) + 'ü'.repeat(25_000) }),
      '{"plain":"as sent, not re-serialised"   }',
    ];
    assert.ok(Buffer.byteLength(events[3] ?? '') > 100_000);
    for (const compression of [true, false]) {
      const table = compression ? 'raw_gzip' : 'raw_plain';
      await eventTable(table);
      const result = await destination(table, { compression }).deliver(batchOf(events), signal());
      assert.deepEqual(result, { retry: [], rejected: [] });
      assert.deepEqual((await storedEvents(table)).sort(), [...events].sort());
    }
  });

  test('event_string from NDJSON bytes (TabSeparated, no per-event encoding): the same events come back exactly', async () => {
    const events = [
      JSON.stringify({ message: 'say "hi" \\ back\\slash \\" \\\\ \\N \\t' }),
      JSON.stringify({ message: 'é ü ß 中文 日本語 😀 \u2028\u2029 \ufeff' }),
      JSON.stringify({ message: '\u0000\u0001\u0007\b\f\u001b\u001f\u007f\t\r\n', nested: { 'we"ird': ['\\u0000'] } }),
      JSON.stringify({ '@timestamp': '2025-12-01T19:35:18Z', big: 'x'.repeat(50_000) + 'ü'.repeat(25_000) }),
      '{"plain":"as sent, not re-serialised"   }',
    ];
    for (const compression of [true, false]) {
      const table = compression ? 'tsv_gzip' : 'tsv_plain';
      await eventTable(table);
      const batch = { ...batchOf(events), ndjson: Buffer.from(`${events.join('\n')}\n`) };
      const result = await destination(table, { compression }).deliver(batch, signal());
      assert.deepEqual(result, { retry: [], rejected: [] });
      assert.deepEqual((await storedEvents(table)).sort(), [...events].sort());
    }
  });

  test('event_string: a lone surrogate arrives as U+FFFD instead of costing the event', async () => {
    await eventTable('surrogate');
    const result = await destination('surrogate').deliver(batchOf(['{"m":"a\ud800b"}', '{"m":"ok"}']), signal());
    assert.deepEqual(result, { retry: [], rejected: [] });
    assert.deepEqual((await storedEvents('surrogate')).sort(), ['{"m":"a\ufffdb"}', '{"m":"ok"}']);
  });

  test('typed: columns and timestamps (ISO with ms and Z, with an offset, missing, garbage)', async () => {
    await typedTable('typed');
    const full = {
      '@timestamp': '2025-12-01T19:35:18.123Z',
      event: { id: 'e-1', kind: 'event', action: 'tls-handshake', dataset: 'spip.connection', risk_score: 72.5 },
      source: { ip: '146.70.1.1', port: 35882, geo: { country_iso_code: 'NL' }, as: { number: 9009, organization: { name: 'M247 "Europe" SRL' } } },
      destination: { ip: '2001:db8::1', port: 443 },
      network: { transport: 'tcp', protocol: 'tls' },
      observer: { hostname: 'spip-fra-1', id: 'spip-fra-1' },
      tls: { client: { ja4: 't13d1516h2_8daaf6152771_02713d6af862', ja3: 'cd08e31494f9531f560d64c695473da9' } },
      ssh: { client: { hash: { hassh: 'ec7378c1a92f5a8dde7e8b7a1ddf33d1' } } },
      http: { request: { hash: { ja4h: 'ge11nn05enus_a1b2' } } },
    };
    const events = [
      JSON.stringify(full),
      JSON.stringify({ '@timestamp': '2025-12-01T21:35:19+02:00', event: { id: 'offset' } }),
      JSON.stringify({ event: { id: 'missing' } }),
      JSON.stringify({ '@timestamp': 'last tuesday', event: { id: 'garbage' } }),
    ];
    const sentFrom = Math.floor(Date.now() / 1000);
    const result = await destination('typed', { mode: 'typed' }).deliver(batchOf(events), signal());
    const sentUntil = Math.ceil(Date.now() / 1000);
    assert.deepEqual(result, { retry: [], rejected: [] });
    const rows = await server.rows<Record<string, unknown>>('SELECT *, toUnixTimestamp(timestamp) AS unix FROM loom.typed ORDER BY event_id');
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    assert.deepEqual(byId.get('e-1'), {
      timestamp: '2025-12-01 19:35:18',
      sensor: 'spip-fra-1',
      event_id: 'e-1',
      event_dataset: 'spip.connection',
      event_kind: 'event',
      event_action: 'tls-handshake',
      source_ip: '146.70.1.1',
      source_port: 35882,
      destination_ip: '2001:db8::1',
      destination_port: 443,
      transport: 'tcp',
      protocol: 'tls',
      source_country: 'NL',
      source_asn: 9009,
      source_as_org: 'M247 "Europe" SRL',
      ja4: 't13d1516h2_8daaf6152771_02713d6af862',
      ja3: 'cd08e31494f9531f560d64c695473da9',
      hassh: 'ec7378c1a92f5a8dde7e8b7a1ddf33d1',
      ja4h: 'ge11nn05enus_a1b2',
      risk_score: 72.5,
      event: events[0],
      unix: 1764617718,
    });
    assert.equal(byId.get('offset')?.timestamp, '2025-12-01 19:35:19');
    for (const id of ['missing', 'garbage']) {
      const unix = Number(byId.get(id)?.unix);
      assert.ok(unix >= sentFrom && unix <= sentUntil, `${id}: ${unix} not within [${sentFrom}, ${sentUntil}]`);
      assert.equal(byId.get(id)?.source_port, 0);
      assert.equal(byId.get(id)?.sensor, '');
    }
  });

  test('typed: a narrower table takes the columns it has', async () => {
    await server.query('CREATE TABLE loom.narrow (timestamp DateTime, sensor String, event String) ENGINE = MergeTree ORDER BY timestamp');
    const event = JSON.stringify({ '@timestamp': '2025-12-01T19:35:18Z', observer: { id: 's1' }, source: { ip: '192.0.2.1', port: 1 } });
    const result = await destination('narrow', { mode: 'typed' }).deliver(batchOf([event]), signal());
    assert.deepEqual(result, { retry: [], rejected: [] });
    assert.deepEqual(await server.rows('SELECT * FROM loom.narrow'), [{ timestamp: '2025-12-01 19:35:18', sensor: 's1', event }]);
  });

  test('10,000 events in one gzipped insert', async () => {
    await eventTable('bulk');
    const events = Array.from({ length: 10_000 }, (_, i) =>
      JSON.stringify({ '@timestamp': '2025-12-01T19:35:18Z', event: { id: `bulk-${i}`, summary: `GET /${i} "q" \\ é` }, source: { ip: '203.0.113.9', port: 40_000 + (i % 20_000) } }),
    );
    const result = await destination('bulk').deliver(batchOf(events), signal());
    assert.deepEqual(result, { retry: [], rejected: [] });
    assert.deepEqual(await server.rows("SELECT count() AS n, uniqExact(visitParamExtractString(event, 'id')) AS ids FROM loom.bulk"), [{ n: 10_000, ids: 10_000 }]);
  });

  test('one bad row in 100 is isolated by splitting; the others are stored exactly once', async () => {
    // A derived column whose expression fails for one event: the error names no row.
    await server.query("CREATE TABLE loom.derived (event String, n UInt64 DEFAULT toUInt64(visitParamExtractString(event, 'n'))) ENGINE = MergeTree ORDER BY n");
    const events = Array.from({ length: 100 }, (_, i) => JSON.stringify({ n: i === 37 ? 'thirty-seven' : String(i) }));
    const result = await destination('derived').deliver(batchOf(events), signal());
    assert.deepEqual(result.retry, []);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]?.index, 37);
    assert.match(result.rejected[0]?.reason ?? '', /^ClickHouse 400: Code: 6, DB::Exception: Cannot parse string 'thirty-seven' as UInt64/);
    const stored = await server.rows<{ n: number; copies: number }>('SELECT n, count() AS copies FROM loom.derived GROUP BY n ORDER BY n');
    assert.deepEqual(stored, Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 37).map((n) => ({ n, copies: 1 })));
  });

  test('typed: values too large for an operator\'s column (HTTP 500 on 18.16) are rejected row by row', async () => {
    await server.query('CREATE TABLE loom.fixed (timestamp DateTime, transport FixedString(3), event_id String) ENGINE = MergeTree ORDER BY timestamp');
    const events = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ '@timestamp': '2025-12-01T19:35:18Z', event: { id: `f-${i}` }, network: { transport: i === 3 || i === 15 ? 'sctp' : 'tcp' } }),
    );
    const result = await destination('fixed', { mode: 'typed' }).deliver(batchOf(events), signal());
    assert.deepEqual(result.retry, []);
    assert.deepEqual(result.rejected.map((r) => r.index), [3, 15]);
    for (const rejected of result.rejected) assert.match(rejected.reason, /^ClickHouse 500: Code: 131, .*Too large value for FixedString\(3\)/);
    const ids = (await server.rows<{ event_id: string }>('SELECT event_id FROM loom.fixed')).map((r) => r.event_id).sort();
    assert.deepEqual(ids, events.map((_, i) => `f-${i}`).filter((id) => id !== 'f-3' && id !== 'f-15').sort());
  });

  test('wrong password: everything retried, the reason says authentication and holds no password', async () => {
    await eventTable('auth');
    const wrong = 'not-the-Password-42';
    const dest = destination('auth', { password: wrong });
    const result = await dest.deliver(batchOf(['{"a":1}', '{"a":2}']), signal());
    assert.deepEqual(result.retry, [0, 1]);
    assert.deepEqual(result.rejected, []);
    assert.match(result.reason ?? '', /^ClickHouse 401 from http:\/\/127\.0\.0\.1:\d+: authentication failed .*Wrong password for user loom/);
    const probe = await dest.probe(signal());
    assert.equal(probe.ok, false);
    assert.match(probe.reason ?? '', /authentication failed/);
    for (const text of [result.reason ?? '', probe.reason ?? '']) {
      assert.equal(text.includes(wrong), false);
      assert.equal(text.includes(server.password), false);
    }
    assert.equal(await server.query('SELECT count() FROM loom.auth'), '0\n');
  });

  test('missing table: everything retried, the reason names the table', async () => {
    const result = await destination('nope', { dedupToken: 'off' }).deliver(batchOf(['{"a":1}']), signal());
    assert.deepEqual(result.retry, [0]);
    assert.match(result.reason ?? '', /^ClickHouse 404 from .*Code: 60, DB::Exception: Table loom\.nope doesn't exist\..*create loom\.nope first/);
  });

  test('dedup token: "auto" leaves it out on 18.16, "on" makes 18.16 refuse every insert', async () => {
    await eventTable('dedup');
    assert.deepEqual(await destination('dedup', { dedupToken: 'auto' }).deliver(batchOf(['{"a":1}']), signal()), { retry: [], rejected: [] });
    const forced = await destination('dedup', { dedupToken: 'on' }).deliver(batchOf(['{"a":2}', '{"a":3}']), signal());
    assert.deepEqual(forced.retry, [0, 1]);
    assert.match(forced.reason ?? '', /Unknown setting insert_deduplication_token \(this server predates/);
    assert.equal(await server.query('SELECT count() FROM loom.dedup'), '1\n');
  });

  test('a server that stops answering: the request times out and is retried', async () => {
    await eventTable('hang');
    const dest = destination('hang', { timeoutMs: 400 });
    assert.deepEqual(await dest.deliver(batchOf(['{"before":1}']), signal()), { retry: [], rejected: [] });
    await server.pause();
    try {
      const result = await dest.deliver(batchOf(['{"during":1}', '{"during":2}']), signal());
      assert.deepEqual(result.retry, [0, 1]);
      assert.match(result.reason ?? '', /^ClickHouse at http:\/\/127\.0\.0\.1:\d+: timed out after 400 ms$/);
      const probe = await dest.probe(signal());
      assert.deepEqual(probe, { ok: false, reason: probe.reason });
      assert.match(probe.reason ?? '', /timed out/);
    } finally {
      server.resume();
    }
    assert.deepEqual(await dest.deliver(batchOf(['{"after":1}']), signal()), { retry: [], rejected: [] });
  });

  test('server down: probe false and "connection refused"; after a restart delivery works again', async () => {
    await eventTable('restart');
    const dest = destination('restart');
    assert.deepEqual(await dest.deliver(batchOf(['{"n":1}']), signal()), { retry: [], rejected: [] });
    await server.halt();
    try {
      const probe = await dest.probe(signal());
      assert.deepEqual(probe, { ok: false, reason: `ClickHouse at ${server.url}: connection refused` });
      const result = await dest.deliver(batchOf(['{"n":2}', '{"n":3}']), signal());
      assert.deepEqual(result, { retry: [0, 1], rejected: [], reason: `ClickHouse at ${server.url}: connection refused` });
    } finally {
      await server.start();
    }
    assert.deepEqual(await dest.probe(signal()), { ok: true });
    assert.deepEqual(await dest.deliver(batchOf(['{"n":2}', '{"n":3}']), signal()), { retry: [], rejected: [] });
    assert.deepEqual((await storedEvents('restart')).sort(), ['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  test('the example queries in docs/outputs/clickhouse.md run on 18.16 and give the expected answers', async () => {
    const blocks = await sqlBlocks('docs/outputs/clickhouse.md');
    await typedTable('events');
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = (minutesAgo: number, second: number): string => new Date(minute - minutesAgo * 60_000 + second * 1000).toISOString();
    const spip = (sensor: string, time: string, ip: string, asn: number, org: string, ja4: string): string =>
      JSON.stringify({
        '@timestamp': time,
        observer: { id: sensor },
        source: { ip, port: 40_000, as: { number: asn, organization: { name: org } } },
        tls: { client: { ja4, hash: { ja4 } } },
      });
    const events = [
      spip('fra-1', at(10, 1), '198.51.100.1', 14061, 'DigitalOcean', 'ja4-a'),
      spip('fra-1', at(10, 2), '198.51.100.2', 14061, 'DigitalOcean', 'ja4-a'),
      spip('fra-1', at(9, 3), '198.51.100.2', 14061, 'DigitalOcean', 'ja4-b'),
      spip('nyc-1', at(10, 4), '203.0.113.7', 4134, 'Chinanet', 'ja4-a'),
      spip('nyc-1', at(5, 5), '203.0.113.7', 4134, 'Chinanet', ''),
      // Older than a day: outside every window.
      spip('nyc-1', new Date(minute - 2 * 86_400_000).toISOString(), '192.0.2.1', 9009, 'M247', 'ja4-c'),
    ];
    assert.deepEqual(await destination('events', { mode: 'typed' }).deliver(batchOf(events), signal()), { retry: [], rejected: [] });

    const query = (title: string): string => {
      const sql = blocks.get(title);
      assert.ok(sql !== undefined, `no query titled "${title}" in docs/outputs/clickhouse.md`);
      return sql;
    };
    assert.deepEqual(await server.rows(query('Top source ASNs in the last 24 hours')), [
      { source_asn: 14061, org: 'DigitalOcean', events: 3, sources: 2 },
      { source_asn: 4134, org: 'Chinanet', events: 2, sources: 1 },
    ]);
    assert.deepEqual(await server.rows(query('Top JA4 fingerprints in the last 24 hours')), [
      { ja4: 'ja4-a', events: 3, sources: 3, sensors: 2 },
      { ja4: 'ja4-b', events: 1, sources: 1, sensors: 1 },
    ]);
    const minuteText = (minutesAgo: number): string => new Date(minute - minutesAgo * 60_000).toISOString().replace('T', ' ').slice(0, 19);
    assert.deepEqual(await server.rows(query('Events per sensor per minute in the last hour')), [
      { sensor: 'fra-1', minute: minuteText(10), events: 2 },
      { sensor: 'fra-1', minute: minuteText(9), events: 1 },
      { sensor: 'nyc-1', minute: minuteText(10), events: 1 },
      { sensor: 'nyc-1', minute: minuteText(5), events: 1 },
    ]);

    await server.query(query('Go-compatible table, ClickHouse 18.16 (no DateTime64)'));
    const goTable = new ClickHouseDestination({
      url: server.url,
      database: 'default',
      table: 'loom_events',
      mode: 'event_string',
      compression: false,
      timeoutMs: 10_000,
      dedupToken: 'auto',
    });
    opened.push(goTable);
    assert.deepEqual(await goTable.deliver(batchOf(events), signal()), { retry: [], rejected: [] });
    assert.deepEqual(await server.rows(query('Go-compatible table: top JA4 fingerprints in the last 24 hours')), [
      { ja4: 'ja4-a', events: 3 },
      { ja4: 'ja4-b', events: 1 },
      // _ts is the insert time, so the two-day-old event counts here.
      { ja4: 'ja4-c', events: 1 },
    ]);
  });
});
