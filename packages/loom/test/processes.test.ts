import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseToml, spipEvent, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { occupyPort, request } from './helpers/http.js';
import { FakeElasticsearch } from './fakes/elasticsearch.js';

// Several ingest processes on one listener (server.processes): the primary keeps the outputs,
// the token set and the rate-limit buckets; these tests check that clients cannot tell.

const tokenA = 'tokA-procs-7c1e94d0b2a5';
const tokenB = 'tokB-procs-3f08a6e1c9d4';

/** A new connection per request, so that the cluster's round robin spreads them over the processes. */
function post(loom: LoomProcess, token: string, events: Record<string, unknown>[]): Promise<{ status: number; retryAfter: string | undefined }> {
  return request(loom.url(), JSON.stringify(events), {
    agent: false,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  }).then((reply) => ({ status: reply.status, retryAfter: reply.headers['retry-after'] as string | undefined }));
}

function ingestPids(loom: LoomProcess): number[] {
  const line = [...loom.logs].reverse().find((l) => l.msg === 'ingest processes listening');
  return (line?.pids as number[] | undefined) ?? [];
}

/** Which ingest processes accepted batches (debug log lines carry the process). */
function servedBy(loom: LoomProcess, from = 0): Set<string> {
  return new Set(loom.logsSince(from).filter((l) => l.msg === 'ingest batch ok').map((l) => String(l.process)));
}

/**
 * Which ingest processes answered at all: an accepted batch, or a 429 (each process logs its
 * first one). Which process accepts the burst depends on who asks the primary first, so
 * only this says whether both saw the sensor's traffic.
 */
function answeredBy(loom: LoomProcess, from = 0): Set<string> {
  const answers = new Set(['ingest batch ok', 'rate limit exceeded (429)']);
  return new Set(loom.logsSince(from).filter((l) => answers.has(String(l.msg))).map((l) => String(l.process)));
}

async function metric(loom: LoomProcess, name: string, labels = ''): Promise<number> {
  const text = (await request(loom.managementUrl('/metrics'), undefined, { method: 'GET' })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('several ingest processes', () => {
  let loom: LoomProcess;
  let tokenFile: string;

  before(async () => {
    const dir = await tempDir();
    tokenFile = join(dir, 'tokens');
    await writeFile(tokenFile, `${tokenA},sensor-a\n`, { mode: 0o600 });
    loom = await startLoom({
      toml: baseToml({
        server: 'processes = 2',
        auth: `token_file = "${tokenFile}"`,
        // Burst 6 at 1/s: a burst of 20 requests must get exactly 6 through, whichever process takes them.
        limits: 'per_sensor_rps = 1\nper_sensor_burst = 6',
      }).replace('level = "info"', 'level = "debug"'),
    });
    assert.equal(loom.exitCode, undefined, loom.stderrText);
  });

  after(async () => {
    await loom.cleanup();
  });

  test('both processes listen on the one port and answer batches', async () => {
    assert.equal(ingestPids(loom).length, 2, 'two ingest processes forked');
    // Each process writes its own log line; the primary may report both listening before the
    // second line has come through the shared stdout.
    await loom.until(() => loom.logs.filter((l) => l.msg === 'ingest server listening (no TLS)').length === 2, 'both processes to log that they listen');
    const ports = new Set(loom.logs.filter((l) => l.msg === 'ingest server listening (no TLS)').map((l) => l.port));
    assert.equal(ports.size, 1, 'one listener shared by both');
    const ready = await request(loom.managementUrl('/ready'), undefined, { method: 'GET' });
    assert.equal(ready.status, 200, ready.text);
  });

  test('the per-sensor budget is one budget across the processes', async () => {
    const from = loom.logs.length;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(loom, tokenA, [spipEvent(100 + i)])));
    const accepted = answers.filter((a) => a.status === 204).length;
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(accepted, 6, `exactly the burst gets through: ${JSON.stringify(answers.map((a) => a.status))}`);
    assert.equal(limited.length, 14);
    assert.ok(limited.every((a) => Number(a.retryAfter) >= 1), 'every 429 says when to come back');
    // Both processes took requests of sensor-a; with a budget each, more than 6 would pass.
    // (Each process writes its log lines itself, asynchronously: they may follow the answers.)
    await loom.until(() => answeredBy(loom, from).size === 2, 'both processes to take part');
    // Every accepted event reached the one stdout output, once.
    await loom.until(() => loom.stdoutLines.filter((l) => l.includes('-0000000001')).length >= 6, 'the accepted events on stdout');
    const ids = loom.stdoutLines.map((l) => (JSON.parse(l) as { event: { id: string } }).event.id).filter((id) => /-00000000010\d|-00000000011\d/.test(id));
    assert.equal(ids.length, 6);
    assert.equal(new Set(ids).size, 6);
  });

  test('/metrics adds the processes up', async () => {
    assert.equal(await metric(loom, 'loom_ingest_events_total', '{sensor_id="sensor-a"}'), 6);
    assert.equal(await metric(loom, 'loom_ingest_requests_total', '{sensor_id="sensor-a",status="429"}'), 14);
    assert.equal(await metric(loom, 'loom_auth_tokens'), 1, 'a gauge every process shares is not summed');
  });

  test('a token reload reaches every process', async () => {
    const tmp = `${tokenFile}.tmp`;
    await writeFile(tmp, `${tokenB},sensor-b\n`, { mode: 0o600 });
    await rename(tmp, tokenFile);
    await loom.until(() => loom.hasLog(/^tokens reloaded/), 'the reload');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // sensor-b's bucket starts full; let sensor-a's refill too
    const from = loom.logs.length;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(loom, tokenB, [spipEvent(200 + i)])));
    assert.deepEqual(answers.map((a) => a.status), [204, 204, 204, 204, 204, 204]);
    await loom.until(() => servedBy(loom, from).size === 2, 'the new token to work in both processes');
    const old = await Promise.all(Array.from({ length: 4 }, () => post(loom, tokenA, [spipEvent(300)])));
    assert.deepEqual(old.map((a) => a.status), [401, 401, 401, 401], 'the removed token is refused by both');
  });

  test('a process that dies is replaced while the other keeps serving', async () => {
    const [victim, survivor] = ingestPids(loom) as [number, number];
    process.kill(victim, 'SIGKILL');
    // Soon after the kill (and after sensor-b's bucket refilled a token), the survivor answers.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const during = await post(loom, tokenB, [spipEvent(400)]);
    assert.equal(during.status, 204);
    await loom.until(() => loom.logs.filter((l) => l.msg === 'ingest server listening (no TLS)').length === 3, 'the replacement listening', 15_000);
    assert.equal(await metric(loom, 'loom_ingest_process_restarts_total'), 1);
    assert.ok(alive(survivor));
    assert.ok(!alive(victim));
    const ready = await request(loom.managementUrl('/ready'), undefined, { method: 'GET' });
    assert.equal(ready.status, 200);
  });

  test('SIGTERM stops every process', async () => {
    const pids = [...new Set(loom.logs.filter((l) => l.msg === 'ingest process forked').map((l) => l.pid as number))];
    assert.equal(pids.length, 3, 'two at the start and the replacement');
    assert.equal(await loom.stop(), 0);
    assert.ok(loom.hasLog('stopped'));
    for (const pid of pids) assert.ok(!alive(pid), `ingest process ${pid} is gone`);
  });
});

describe('several ingest processes: the primary dies', () => {
  test('kill -9 of the primary takes the ingest processes with it', async () => {
    const loom = await startLoom({ toml: baseToml({ server: 'processes = 2', auth: `[auth.tokens]\n"${tokenA}" = "sensor-a"` }) });
    try {
      const pids = ingestPids(loom);
      assert.equal(pids.length, 2);
      loom.child.kill('SIGKILL');
      await loom.waitForExit();
      const deadline = Date.now() + 5000;
      while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(pids.filter(alive), [], 'no orphaned ingest process keeps the port');
    } finally {
      await loom.cleanup();
    }
  });
});

describe('several ingest processes: load, then kill -9 of the primary with the outbox on', () => {
  test('no refusal under load, and every acknowledged event is delivered after the restart', async () => {
    const elasticsearch = await FakeElasticsearch.start();
    const dir = await tempDir();
    const toml = baseToml({
      server: 'processes = 2',
      auth: `[auth.tokens]\n"${tokenA}" = "sensor-a"`,
      output: `type = "elasticsearch"
elasticsearch_url = "${elasticsearch.url}"
elasticsearch_index = "loom-%{+yyyy.MM.dd}"
batch_max_wait_ms = 20
[output.outbox]
dir = "${join(dir, 'outbox')}"
retry_backoff_ms = 50`,
    });
    let loom = await startLoom({ toml });
    try {
      assert.equal(loom.exitCode, undefined, loom.stderrText);
      const acknowledged = new Set<string>();
      const refused: number[] = [];
      let next = 0;
      let killed = false;
      // Keep-alive clients, many batches in flight at once: the IPC channel backs up, which must not look like a lost primary.
      const client = async (): Promise<void> => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (!killed) {
            const events = Array.from({ length: 20 }, () => spipEvent(next++));
            const reply = await request(loom.url(), JSON.stringify(events), { agent, headers: { Authorization: `Bearer ${tokenA}`, 'Content-Type': 'application/json' } }).catch(() => undefined);
            if (reply === undefined) continue;
            if (reply.status === 204) for (const event of events) acknowledged.add((event.event as { id: string }).id);
            else if (!killed) refused.push(reply.status);
          }
        } finally {
          agent.destroy();
        }
      };
      const clients = Array.from({ length: 12 }, () => client());
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const beforeKill = acknowledged.size;
      loom.child.kill('SIGKILL');
      killed = true;
      await Promise.all(clients);
      await loom.waitForExit();
      assert.deepEqual(refused, [], 'no batch was refused while the primary was up');
      assert.ok(beforeKill >= 200, `load ran: ${beforeKill} events acknowledged`);
      assert.ok(acknowledged.size < 100_000, 'the id check below stays cheap');

      // The same config and outbox: whatever was acknowledged and not yet sent goes out now.
      const first = loom;
      loom = await startLoom({ toml });
      await first.cleanup();
      const delivered = (): Set<string> => new Set(elasticsearch.documents('loom-2026.02.15').map((d) => (d.source as { event: { id: string } }).event.id));
      const allThere = (): boolean => {
        const stored = delivered();
        return [...acknowledged].every((id) => stored.has(id));
      };
      await loom.until(allThere, `all ${acknowledged.size} acknowledged events in Elasticsearch`, 20_000);
      const stored = delivered();
      const missing = [...acknowledged].filter((id) => !stored.has(id));
      assert.deepEqual(missing, []);
    } finally {
      await loom.cleanup();
      await elasticsearch.close();
    }
  });
});

describe('several ingest processes: startup', () => {
  test('an ingest port in use fails the start with the key and the reason, and leaves no process behind', async () => {
    const taken = await occupyPort();
    try {
      const loom = await startLoom({ toml: baseToml({ server: 'processes = 2' }).replace('listen_address = "127.0.0.1:0"', `listen_address = "127.0.0.1:${taken.port}"`), env: { LOOM_SENSOR_a: tokenA } });
      try {
        assert.equal(await loom.waitForExit(), 1);
        assert.match(loom.stderrText, /server\.listen_address: cannot listen on 127\.0\.0\.1:\d+: address already in use/);
        const pids = loom.logs.filter((l) => l.msg === 'ingest process forked').map((l) => l.pid as number);
        assert.equal(pids.length, 2);
        const deadline = Date.now() + 5000;
        while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(pids.filter(alive), []);
        assert.ok(!loom.hasLog('ingest process died; the others go on serving, restarting it'), 'a failed first start is not restarted');
      } finally {
        await loom.cleanup();
      }
    } finally {
      await taken.close();
    }
  });
});
