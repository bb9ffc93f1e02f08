import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { clusterUnavailable, startClickHouseCluster, type ClickHouseCluster, type ClusterNode } from './helpers/clickhouse-cluster.js';
import { request } from './helpers/http.js';
import { baseToml, spipEvent, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';

/*
 * docs/clickhouse/cluster.sql on a real cluster: one ZooKeeper and two ClickHouse servers,
 * one shard with two replicas. Loom inserts into the Distributed tables; every acknowledged
 * event must be readable through them and stored on both replicas, once. Two Loom instances
 * that share nothing but the cluster must not lose or repeat each other's events.
 */

const clusterSql = fileURLToPath(new URL('../../../../docs/clickhouse/cluster.sql', import.meta.url));
/** The sections an 18.16 server can run, in order; the others need newer servers. */
const SECTIONS_FOR_18_16 = ['database', 'events-string-local-explicit', 'events-string-distributed', 'typed-local-explicit', 'typed-distributed'];

const TOKENS = { spip_a: 'cluster-test-token-a-0123456789abcdef', spip_b: 'cluster-test-token-b-0123456789abcdef' };
type Sensor = keyof typeof TOKENS;

/** The statements of each "-- @section <name>" of an SQL file, comments removed. */
function sections(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  const lines: string[] = [];
  const flush = (): void => {
    if (current === undefined) return;
    current.push(...lines.join('\n').split(';').map((s) => s.trim()).filter((s) => s !== ''));
    lines.length = 0;
  };
  for (const line of text.split('\n')) {
    const marker = /^-- @section (\S+)/.exec(line);
    if (marker !== null) {
      flush();
      current = [];
      result.set(marker[1] ?? '', current);
    } else if (!line.trimStart().startsWith('--')) {
      lines.push(line);
    }
  }
  flush();
  return result;
}

const unavailable = clusterUnavailable();
if (unavailable !== undefined) console.log(`# skipping the ClickHouse cluster tests: ${unavailable}`);

describe('ClickHouse cluster: ReplicatedMergeTree and Distributed tables from docs/clickhouse/cluster.sql', { skip: unavailable }, () => {
  let cluster: ClickHouseCluster;
  let first: ClusterNode;
  let second: ClusterNode;
  const looms: LoomProcess[] = [];

  before(async () => {
    cluster = await startClickHouseCluster();
    [first, second] = cluster.nodes;
    const all = sections(await readFile(clusterSql, 'utf8'));
    for (const name of SECTIONS_FOR_18_16) {
      const statements = all.get(name);
      assert.ok(statements !== undefined && statements.length > 0, `docs/clickhouse/cluster.sql has no section ${name}`);
      for (const statement of statements) await first.query(statement);
    }
  });

  after(async () => {
    await Promise.all(looms.map((loom) => loom.cleanup()));
    await cluster?.stop();
  });

  async function startLoomFor(node: ClusterNode, table: string, mode: string, sensor: Sensor): Promise<LoomProcess> {
    const outboxDir = await tempDir('loom-cluster-outbox-');
    const loom = await startLoom({
      toml: baseToml({
        output: `type = "clickhouse"
clickhouse_url = "${node.url}"
clickhouse_database = "loom"
clickhouse_table = "${table}"
clickhouse_mode = "${mode}"
clickhouse_user = "${cluster.user}"
batch_max_wait_ms = 50
[output.outbox]
dir = "${outboxDir}"
retry_backoff_ms = 50
retry_max_backoff_ms = 500`,
      }),
      env: { [`LOOM_SENSOR_${sensor}`]: TOKENS[sensor], LOOM_CLICKHOUSE_PASSWORD: cluster.password },
    });
    looms.push(loom);
    assert.equal(loom.exitCode, undefined, loom.stderrText);
    return loom;
  }

  /** Posts `batches` batches of `size` events with ids from `first` on; returns the ids acknowledged with 204. */
  async function postBatches(loom: LoomProcess, sensor: Sensor, firstId: number, batches: number, size: number): Promise<string[]> {
    const acknowledged: string[] = [];
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: size }, (_, i) => spipEvent(firstId + b * size + i));
      const reply = await request(loom.url(), JSON.stringify(events), {
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKENS[sensor]}` },
      });
      assert.equal(reply.status, 204, reply.text);
      acknowledged.push(...events.map((e) => (e.event as { id: string }).id));
    }
    return acknowledged;
  }

  /** Waits until the output has delivered `count` events in all and holds none back. */
  async function delivered(loom: LoomProcess, count: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    let text = '';
    while (Date.now() < deadline) {
      text = (await request(loom.managementUrl('/metrics'), undefined, { method: 'GET' })).text;
      if (text.includes('loom_outbox_events{output="clickhouse"} 0\n') && text.includes(`loom_output_delivered_events_total{output="clickhouse"} ${count}\n`)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`Loom did not deliver ${count} events within 15 s:\n${text.split('\n').filter((l) => l.includes('clickhouse')).join('\n')}\n${loom.stderrText.slice(-2000)}`);
  }

  /**
   * Checks that `table` on `node` holds each of `ids` exactly once (and no other id in their
   * range), polling up to `waitMs` for replication to catch up.
   */
  async function expectExactlyOnce(node: ClusterNode, table: string, ids: string[], options: { idColumn?: string; waitMs?: number } = {}): Promise<void> {
    const id = options.idColumn ?? "visitParamExtractString(event, 'id')";
    const sorted = [...ids].sort();
    const sql = `SELECT ${id} AS id, count() AS n FROM loom.${table} WHERE ${id} BETWEEN '${sorted[0]}' AND '${sorted[sorted.length - 1]}' GROUP BY id`;
    const deadline = Date.now() + (options.waitMs ?? 15_000);
    let counts: Map<string, number>;
    for (;;) {
      counts = new Map((await node.rows<{ id: string; n: number }>(sql)).map((row) => [row.id, Number(row.n)]));
      if (counts.size >= ids.length || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const missing = ids.filter((one) => !counts.has(one));
    const repeated = [...counts].filter(([, n]) => n !== 1);
    assert.deepEqual({ missing: missing.length, repeated, rows: counts.size }, { missing: 0, repeated: [], rows: ids.length }, `loom.${table} on ${node.replica}`);
  }

  test('one Loom into the Distributed one-column table: every acknowledged event is readable and on both replicas', async () => {
    const loom = await startLoomFor(first, 'loom_events', 'event_string', 'spip_a');
    const ids = await postBatches(loom, 'spip_a', 0, 10, 100);
    await delivered(loom, ids.length);
    // With insert_distributed_sync, ClickHouse confirmed each insert only once a replica of
    // the shard had stored it: the Distributed table returns every row at once.
    await expectExactlyOnce(first, 'loom_events', ids, { waitMs: 0 });
    await expectExactlyOnce(first, 'loom_events_local', ids);
    await expectExactlyOnce(second, 'loom_events_local', ids);
    await expectExactlyOnce(second, 'loom_events', ids);
  });

  test('one Loom into the Distributed typed table: the columns are filled on both replicas', async () => {
    const loom = await startLoomFor(second, 'events', 'typed', 'spip_b');
    const ids = await postBatches(loom, 'spip_b', 10_000, 5, 100);
    await delivered(loom, ids.length);
    await expectExactlyOnce(second, 'events', ids, { idColumn: 'event_id', waitMs: 0 });
    await expectExactlyOnce(first, 'events_local', ids, { idColumn: 'event_id' });
    await expectExactlyOnce(second, 'events_local', ids, { idColumn: 'event_id' });
    const [row] = await first.rows<{ source_ip: string; destination_port: number; transport: string }>(
      `SELECT source_ip, destination_port, transport FROM loom.events WHERE event_id = '${ids[0]}'`,
    );
    assert.deepEqual(row, { source_ip: '167.94.146.54', destination_port: 6379, transport: 'tcp' });
  });

  test('two Loom instances sharing nothing but the cluster: every event of both is stored exactly once', async () => {
    const [a, b] = await Promise.all([startLoomFor(first, 'loom_events', 'event_string', 'spip_a'), startLoomFor(second, 'loom_events', 'event_string', 'spip_b')]);
    const [idsA, idsB] = await Promise.all([postBatches(a, 'spip_a', 100_000, 20, 100), postBatches(b, 'spip_b', 200_000, 20, 100)]);
    await Promise.all([delivered(a, idsA.length), delivered(b, idsB.length)]);
    const ids = [...idsA, ...idsB];
    for (const node of [first, second]) {
      await expectExactlyOnce(node, 'loom_events', ids);
      await expectExactlyOnce(node, 'loom_events_local', ids);
    }
  });
});
