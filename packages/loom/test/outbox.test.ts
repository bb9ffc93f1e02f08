import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startClickHouse, type ClickHouseServer } from './helpers/clickhouse-server.js';
import { request } from './helpers/http.js';
import { baseToml, loomBin, spipEvent, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';

/*
 * The acknowledgement contract with a real ClickHouse: a 204 means the batch is on disk in
 * the outbox, whatever ClickHouse does; kill -9 at any moment loses nothing acknowledged.
 */

const TOKEN = 'outbox-test-token-0123456789abcdef';
const ADMIN = 'admin-token-for-the-outbox-test-0123';
const env = { LOOM_SENSOR_spip_01: TOKEN, LOOM_ADMIN_TOKEN: ADMIN };
const TABLE = 'loom_events';

let clickhouse: ClickHouseServer;
before(async () => {
  clickhouse = await startClickHouse();
});
after(async () => {
  await clickhouse.stop();
});

function configFor(outboxDir: string, extra = ''): string {
  return baseToml({
    output: `type = "clickhouse"
clickhouse_url = "${clickhouse.url}"
clickhouse_table = "${TABLE}"
batch_max_wait_ms = 50
${extra}
[output.outbox]
dir = "${outboxDir}"
retry_backoff_ms = 50
retry_max_backoff_ms = 200`,
  });
}

async function resetTable(): Promise<void> {
  await clickhouse.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await clickhouse.query(`CREATE TABLE ${TABLE} (event String) ENGINE = MergeTree ORDER BY tuple()`);
}

async function post(loom: LoomProcess, events: Record<string, unknown>[]): Promise<number> {
  const reply = await request(`http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`, JSON.stringify(events), {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
    timeoutMs: 10_000,
  });
  return reply.status;
}

/** Event ids stored in ClickHouse, with how often each is there. */
async function storedIds(): Promise<Map<string, number>> {
  const rows = await clickhouse.rows<{ id: string; n: number }>(`SELECT visitParamExtractString(event, 'id') AS id, count() AS n FROM ${TABLE} GROUP BY id`);
  return new Map(rows.map((row) => [row.id, Number(row.n)]));
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function batchOf(first: number, size: number): Record<string, unknown>[] {
  return Array.from({ length: size }, (_, i) => spipEvent(first + i));
}

function idOf(i: number): string {
  return (spipEvent(i).event as { id: string }).id;
}

describe('ClickHouse output with the outbox', () => {
  test('kill -9 under load, then restart: every acknowledged event reaches ClickHouse', async () => {
    await resetTable();
    const dir = await tempDir('loom-outbox-');
    const toml = configFor(join(dir, 'outbox'));
    let loom = await startLoom({ toml, env });
    const acknowledged = new Set<number>();
    let next = 0;
    // Four clients post 50-event batches until Loom dies under them.
    const client = async (): Promise<void> => {
      for (;;) {
        const first = next;
        next += 50;
        let status: number;
        try {
          status = await post(loom, batchOf(first, 50));
        } catch {
          return; // the connection died with Loom: that batch was not acknowledged
        }
        if (status === 204) for (let i = first; i < first + 50; i++) acknowledged.add(i);
        else return;
      }
    };
    const clients = [client(), client(), client(), client()];
    await eventually(async () => acknowledged.size >= 3000, '3000 acknowledged events');
    loom.child.kill('SIGKILL');
    await Promise.all(clients);
    await loom.waitForExit();
    const beforeRestart = acknowledged.size;

    loom = await startLoom({ toml, env, cwd: dir });
    try {
      assert.equal(await post(loom, batchOf(1_000_000, 10)), 204);
      for (let i = 1_000_000; i < 1_000_010; i++) acknowledged.add(i);
      await eventually(async () => {
        const stored = await storedIds();
        return [...acknowledged].every((i) => stored.has(idOf(i)));
      }, `all ${acknowledged.size} acknowledged events in ClickHouse`, 30_000);
      const stored = await storedIds();
      const missing = [...acknowledged].filter((i) => !stored.has(idOf(i)));
      assert.deepEqual(missing, [], `acknowledged before the kill: ${beforeRestart}`);
    } finally {
      await loom.stop();
    }
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`ClickHouse stopped with ${signal} and restarted under load: nothing acknowledged is missing, duplicates only whole batches`, { timeout: 120_000 }, async (t) => {
      await resetTable();
      const dir = await tempDir('loom-outbox-');
      const loom = await startLoom({ toml: configFor(join(dir, 'outbox')), env });
      try {
        const BATCH = 50;
        const acknowledged: number[] = [];
        const refused: Record<string, number> = {};
        let next = 0;
        let down = false;
        let acknowledgedWhileDown = 0;
        let posting = true;
        // Four clients post batches back to back for the whole test, ClickHouse up or not.
        const client = async (): Promise<void> => {
          while (posting) {
            const first = next;
            next += BATCH;
            let status: number | string;
            try {
              status = await post(loom, batchOf(first, BATCH));
            } catch (error) {
              status = error instanceof Error ? error.message : String(error);
            }
            if (status === 204) {
              acknowledged.push(first);
              if (down) acknowledgedWhileDown++;
            } else {
              refused[status] = (refused[status] ?? 0) + 1;
            }
          }
        };
        const clients = [client(), client(), client(), client()];
        const storedCount = async (): Promise<number> => Number((await clickhouse.query(`SELECT count() FROM ${TABLE}`)).trim());
        await eventually(async () => (await storedCount()) >= 1000, 'ClickHouse to hold 1000 events');

        // Under load a graceful stop takes 15–25 s: ClickHouse 18.16 goes on answering inserts on
        // the keep-alive connections it already has. The outage counted here starts once the
        // process is gone.
        const stopping = Date.now();
        await clickhouse.halt(signal);
        const outage = Date.now();
        down = true;
        t.diagnostic(`ClickHouse took ${outage - stopping} ms to exit after ${signal}`);
        await eventually(async () => acknowledgedWhileDown >= 20 && Date.now() - outage >= 1000, '20 batches acknowledged while ClickHouse is down');
        await clickhouse.start();
        down = false;
        const restarted = await storedCount();
        await eventually(async () => (await storedCount()) >= restarted + 1000, '1000 more events delivered after the restart');
        posting = false;
        await Promise.all(clients);

        await eventually(async () => {
          const metrics = await request(`http://127.0.0.1:${loom.managementPort}/metrics`, undefined, { method: 'GET' });
          return /loom_outbox_events\{output="clickhouse"\} 0\n/.test(metrics.text);
        }, 'the outbox to drain');
        const stored = await storedIds();
        const missing: number[] = [];
        const duplicatedBatches: number[] = [];
        const partlyDuplicated: string[] = [];
        for (const first of acknowledged) {
          const counts = Array.from({ length: BATCH }, (_, i) => stored.get(idOf(first + i)) ?? 0);
          for (let i = 0; i < BATCH; i++) if (counts[i] === 0) missing.push(first + i);
          if (counts.some((n) => n > 1)) {
            if (counts.every((n) => n === counts[0])) duplicatedBatches.push(first);
            else partlyDuplicated.push(`batch ${first}: ${counts.join(',')}`);
          }
        }
        const acknowledgedIds = new Set(acknowledged.flatMap((first) => Array.from({ length: BATCH }, (_, i) => idOf(first + i))));
        const unacknowledged = [...stored.keys()].filter((id) => !acknowledgedIds.has(id));
        t.diagnostic(`${acknowledged.length} batches (${acknowledged.length * BATCH} events) acknowledged, ${acknowledgedWhileDown} of them while ClickHouse was down; ` +
          `${duplicatedBatches.length} stored twice or more${duplicatedBatches.length > 0 ? ` (first events ${duplicatedBatches.slice(0, 10).join(', ')})` : ''}; ` +
          `${unacknowledged.length} stored events of batches not acknowledged; not acknowledged: ${JSON.stringify(refused)}`);
        assert.deepEqual(missing, [], 'every acknowledged event is in ClickHouse');
        assert.deepEqual(partlyDuplicated, [], 'a duplicate is a whole batch stored again, never part of one');
        assert.deepEqual(refused, {}, 'the outbox accepts every batch while ClickHouse is away');
      } finally {
        await loom.stop();
        await clickhouse.start().catch(() => undefined);
      }
    });
  }

  test('starts while ClickHouse is down, spools, reports the backlog, and delivers once it is back', async () => {
    await resetTable();
    const dir = await tempDir('loom-outbox-');
    const outboxDir = join(dir, 'outbox');
    await clickhouse.halt();
    const toml = configFor(outboxDir);
    const loom = await startLoom({ toml, env });
    try {
      assert.ok(loom.hasLog('output not reachable; events wait in the outbox until it is'), 'the outage is reported at startup');
      for (let b = 0; b < 5; b++) assert.equal(await post(loom, batchOf(b * 20, 20)), 204);

      await eventually(async () => {
        const metrics = await request(`http://127.0.0.1:${loom.managementPort}/metrics`, undefined, { method: 'GET' });
        return /loom_outbox_events\{output="clickhouse"\} 100\n/.test(metrics.text) && /loom_outbox_oldest_age_seconds\{output="clickhouse"\} [0-9.]+\n/.test(metrics.text);
      }, 'the outbox metrics to show 100 waiting events');

      const configPath = join(loom.dir, 'loom.toml');
      const status = spawnSync(process.execPath, [loomBin, 'outbox', 'status', '-config', configPath, '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(status.status, 0, status.stderr);
      const [report] = JSON.parse(status.stdout) as [{ output: string; events: number; records: number; bySensor: Record<string, number>; oldestReceivedAt: number }];
      assert.equal(report.output, 'clickhouse');
      assert.equal(report.events, 100);
      assert.equal(report.records, 5);
      assert.deepEqual(report.bySensor, { 'spip-01': 100 });
      assert.ok(Date.now() - report.oldestReceivedAt < 60_000);
      const verify = spawnSync(process.execPath, [loomBin, 'outbox', 'verify', '-config', configPath], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(verify.status, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /every record is intact/);

      const ready = await request(`http://127.0.0.1:${loom.managementPort}/ready`, undefined, { method: 'GET' });
      assert.equal(ready.status, 200, 'an outbox with room keeps Loom ready while ClickHouse is down');
      assert.match(ready.text, /^ok\noutput clickhouse \(clickhouse\): ok; outbox 100 events \(\d+ bytes\), oldest [0-9.]+ s; delivery failing: .*connection refused/m);
      const outputs = await request(`http://127.0.0.1:${loom.managementPort}/api/v1/outputs`, undefined, { method: 'GET', headers: { Authorization: `Bearer ${ADMIN}` } });
      assert.equal(outputs.status, 200);
      const [state] = (JSON.parse(outputs.text) as { outputs: { name: string; target: string; outbox: { events: number }; last_error: string }[] }).outputs;
      assert.equal(state?.name, 'clickhouse');
      assert.equal(state?.target, clickhouse.url);
      assert.equal(state?.outbox.events, 100);
      assert.match(state?.last_error ?? '', /connection refused/);
      const anonymous = await request(`http://127.0.0.1:${loom.managementPort}/api/v1/outputs`, undefined, { method: 'GET' });
      assert.equal(anonymous.status, 401);

      await clickhouse.start();
      await eventually(async () => (await storedIds()).size === 100, '100 events in ClickHouse');
      const stored = await storedIds();
      for (let i = 0; i < 100; i++) assert.equal(stored.get(idOf(i)), 1, `event ${i} stored exactly once`);
      await eventually(async () => {
        const text = (await request(`http://127.0.0.1:${loom.managementPort}/metrics`, undefined, { method: 'GET' })).text;
        return /loom_outbox_events\{output="clickhouse"\} 0/.test(text) && /loom_output_delivered_events_total\{output="clickhouse"\} 100/.test(text);
      }, 'the outbox metrics to show it drained');
    } finally {
      await loom.stop();
      await clickhouse.start().catch(() => undefined);
    }
  });

  test('a full outbox refuses new batches with 503 and Retry-After, and keeps what it acknowledged', async () => {
    await resetTable();
    const dir = await tempDir('loom-outbox-');
    await clickhouse.halt();
    const copy = join(dir, 'copy.ndjson');
    const toml = configFor(join(dir, 'outbox')).replace('retry_max_backoff_ms = 200', 'retry_max_backoff_ms = 200\nmax_bytes = 40000')
      + `\n[outputs.copy]\ntype = "file"\nfile_path = "${copy}"\n`;
    const loom = await startLoom({ toml, env });
    try {
      const statuses: number[] = [];
      let lastReply;
      for (let b = 0; b < 20; b++) {
        lastReply = await request(`http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`, JSON.stringify(batchOf(b * 10, 10)), {
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        });
        statuses.push(lastReply.status);
      }
      const accepted = statuses.filter((s) => s === 204).length;
      assert.ok(accepted > 0 && accepted < 20, `some accepted, then refused: ${statuses.join(',')}`);
      assert.deepEqual(statuses.slice(accepted), new Array(20 - accepted).fill(503), 'once full, every batch is refused');
      assert.equal(lastReply?.json?.error, 'output_unavailable');
      assert.match(String(lastReply?.json?.message), /outbox of output "clickhouse" is full/);
      assert.equal(lastReply?.headers['retry-after'], '30');
      const copied = (await readFile(copy, 'utf8')).trim().split('\n');
      assert.equal(copied.length, accepted * 10, 'the other output gets only the accepted batches, not every retry of the refused ones');

      await clickhouse.start();
      await eventually(async () => (await storedIds()).size === accepted * 10, `${accepted * 10} events in ClickHouse`);
      assert.equal(await post(loom, batchOf(5000, 10)), 204, 'room again once drained');
    } finally {
      await loom.stop();
      await clickhouse.start().catch(() => undefined);
    }
  });

  test('ClickHouse answering 500, then hanging past the request timeout: events wait, then arrive exactly once', async () => {
    await resetTable();
    const dir = await tempDir('loom-outbox-');
    const loom = await startLoom({ toml: configFor(join(dir, 'outbox'), 'request_timeout_ms = 500'), env });
    try {
      // Every insert fails inside ClickHouse (HTTP 500, Code 395) while this column exists.
      await clickhouse.query(`ALTER TABLE ${TABLE} ADD COLUMN guard UInt8 DEFAULT throwIf(length(event) >= 0)`);
      for (let b = 0; b < 3; b++) assert.equal(await post(loom, batchOf(b * 10, 10)), 204);
      await eventually(async () => {
        const ready = await request(`http://127.0.0.1:${loom.managementPort}/ready`, undefined, { method: 'GET' });
        return ready.status === 200 && /delivery failing: .*500/.test(ready.text);
      }, '/ready to show the 500');
      assert.equal((await storedIds()).size, 0);

      // Now the server stops answering at all; deliveries time out after 500 ms and are retried.
      await clickhouse.pause();
      for (let b = 3; b < 6; b++) assert.equal(await post(loom, batchOf(b * 10, 10)), 204);
      await eventually(async () => {
        const ready = await request(`http://127.0.0.1:${loom.managementPort}/ready`, undefined, { method: 'GET' });
        return /delivery failing: .*timed out/.test(ready.text);
      }, '/ready to show the timeout');
      clickhouse.resume();
      await clickhouse.query(`ALTER TABLE ${TABLE} DROP COLUMN guard`);

      await eventually(async () => (await storedIds()).size === 60, '60 events in ClickHouse');
      const stored = await storedIds();
      for (let i = 0; i < 60; i++) assert.equal(stored.get(idOf(i)), 1, `event ${i} stored exactly once`);
      const metrics = (await request(`http://127.0.0.1:${loom.managementPort}/metrics`, undefined, { method: 'GET' })).text;
      assert.match(metrics, /loom_output_retries_total\{output="clickhouse"\} [1-9]/);
    } finally {
      clickhouse.resume();
      await loom.stop();
    }
  });

  test('a full disk under the outbox: clear 503s, nothing acknowledged is lost, the outbox verifies clean', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to mount a small tmpfs for the outbox');
      return;
    }
    await resetTable();
    const dir = await tempDir('loom-outbox-');
    const outboxDir = join(dir, 'outbox');
    await mkdir(outboxDir);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', outboxDir], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, mounted.stderr);
    await clickhouse.halt();
    const toml = configFor(outboxDir);
    const loom = await startLoom({ toml, env });
    try {
      const acknowledged: number[] = [];
      let refused: Awaited<ReturnType<typeof request>> | undefined;
      for (let b = 0; b < 200 && refused === undefined; b++) {
        const reply = await request(`http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`, JSON.stringify(batchOf(b * 10, 10)), {
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        });
        if (reply.status === 204) acknowledged.push(b);
        else refused = reply;
      }
      assert.ok(refused !== undefined, 'the 200 KiB disk fills up');
      assert.equal(refused.status, 503);
      assert.equal(refused.json?.error, 'output_unavailable');
      assert.match(String(refused.json?.message), /outbox of output "clickhouse" could not store the batch: spool write failed: .*ENOSPC/);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.ok(acknowledged.length > 5, `some batches fit first (${acknowledged.length})`);

      const verify = spawnSync(process.execPath, [loomBin, 'outbox', 'verify', '-config', join(loom.dir, 'loom.toml')], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.match(verify.stdout, /undelivered +\d+ events/);
      assert.doesNotMatch(verify.stdout, /fail their checksum|unreadable|no valid outbox header/, verify.stdout);

      await clickhouse.start();
      await eventually(async () => {
        const stored = await storedIds();
        return acknowledged.every((b) => stored.has(idOf(b * 10)) && stored.has(idOf(b * 10 + 9)));
      }, 'every acknowledged batch in ClickHouse');
      const stored = await storedIds();
      for (const b of acknowledged) for (let i = b * 10; i < b * 10 + 10; i++) assert.equal(stored.get(idOf(i)), 1, `event ${i} stored exactly once`);
      await eventually(async () => (await post(loom, batchOf(100_000, 10))) === 204, 'room again once drained');
    } finally {
      await loom.stop();
      spawnSync('umount', ['-l', outboxDir]);
      await clickhouse.start().catch(() => undefined);
    }
  });
});
