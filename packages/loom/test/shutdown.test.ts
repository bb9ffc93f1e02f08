import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baseToml, spipEvent, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { parseResponses, request, SlowPost } from './helpers/http.js';

const token = 'shutdown-token-4e0b7a';
const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
const env = { LOOM_SENSOR_spip_001: token };

/** Resolves with the connection error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * The "shutting down" line is written by a background thread and can reach the test a
 * moment before the listener is closed, so refusal is polled for, briefly.
 */
async function refusedSoon(port: number): Promise<string> {
  const deadline = Date.now() + 2000;
  let outcome = '';
  while (Date.now() < deadline) {
    outcome = await tryConnect(port);
    if (outcome === 'ECONNREFUSED') break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return outcome;
}

async function waitForLog(loom: LoomProcess, msg: string): Promise<void> {
  await loom.until(() => loom.hasLog(msg), `log "${msg}"`);
}

/**
 * Shutdown contract, as tested here: on SIGTERM or SIGINT the ingest listener closes at
 * once, so new connections are refused (ECONNREFUSED) rather than answered 503; idle
 * keep-alive connections are closed; requests already being received finish normally and
 * their 204 carries "Connection: close"; /ready turns 503 while /health stays 200; once
 * the outputs are flushed the process exits 0.
 */
describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} with three slow requests in flight: they complete, new connections are refused, exit 0`, async () => {
      const loom = await startLoom({ toml: baseToml({ server: 'shutdown_timeout_seconds = 10' }), env });
      try {
        const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        assert.equal((await request(loom.url(), '[]', { headers, agent: idleAgent })).status, 204);
        const idleSocket = Object.values(idleAgent.freeSockets).flat()[0];
        assert.ok(idleSocket, 'a keep-alive connection is open and idle');
        const idleClosed = new Promise<void>((resolve) => idleSocket.once('close', () => resolve()));

        const events = [0, 1, 2].map((i) => spipEvent(9100 + i));
        const slow = events.map((event) => new SlowPost(loom.ingestPort, Buffer.from(JSON.stringify([event])), headers));
        await Promise.all(slow.map((s) => s.accepted));

        const signalledAt = Date.now();
        loom.child.kill(signal);
        await waitForLog(loom, 'shutting down');

        assert.equal(await refusedSoon(loom.ingestPort), 'ECONNREFUSED');
        await idleClosed;
        idleAgent.destroy();
        const ready = await request(loom.managementUrl('/ready'), undefined, { method: 'GET' });
        assert.equal(ready.status, 503);
        assert.equal(ready.text.split('\n')[0], 'not ready: shutting down');
        assert.equal((await request(loom.managementUrl('/health'), undefined, { method: 'GET' })).status, 200);
        assert.equal(loom.exitCode, undefined, 'loom waits for the requests in flight');

        for (const s of slow) s.finish();
        const replies = await Promise.all(slow.map((s) => s.response));
        for (const reply of replies) {
          assert.equal(reply.status, 204, reply.text);
          assert.equal(reply.headers.connection, 'close');
        }
        assert.equal(await loom.waitForExit(10_000), 0);
        assert.ok(Date.now() - signalledAt < 10_000, 'exited within shutdown_timeout_seconds');
        for (const event of events) assert.ok(loom.stdoutLines.includes(JSON.stringify(event)), `event ${String((event.event as { id: string }).id)} written`);
        const stopped = loom.logs.find((l) => l.msg === 'stopped');
        assert.equal(stopped?.clean, true);
      } finally {
        await loom.cleanup();
      }
    });
  }

  test('a request pipelined behind an in-flight one during shutdown is neither answered nor written', async () => {
    const loom = await startLoom({ toml: baseToml({ server: 'shutdown_timeout_seconds = 10' }), env });
    try {
      const socket = net.connect(loom.ingestPort, '127.0.0.1');
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const first = JSON.stringify([spipEvent(9201)]);
      const second = JSON.stringify([spipEvent(9202)]);
      const head = (body: string, expect: boolean): string =>
        `POST /ingest HTTP/1.1\r\nHost: loom\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n${expect ? 'Expect: 100-continue\r\n' : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      socket.write(head(first, true));
      await loom.until(() => received.toString('latin1').startsWith('HTTP/1.1 100 Continue\r\n\r\n'), '100 Continue');
      loom.child.kill('SIGTERM');
      await waitForLog(loom, 'shutting down');
      socket.write(first + head(second, false) + second);
      await closed;
      const { responses, malformed } = parseResponses(received);
      assert.equal(malformed, undefined);
      assert.deepEqual(responses.map((r) => r.status), [100, 204]);
      assert.equal(responses[1]?.headers.get('connection'), 'close');
      assert.equal(await loom.waitForExit(10_000), 0);
      assert.ok(loom.stdoutLines.includes(first.slice(1, -1)));
      assert.ok(!loom.stdoutLines.includes(second.slice(1, -1)), 'the unanswered batch was not written');
    } finally {
      await loom.cleanup();
    }
  });

  test('shutdown_timeout_seconds = 1: a body that never completes does not hold the exit, and is never acknowledged', async () => {
    const loom = await startLoom({ toml: baseToml({ server: 'shutdown_timeout_seconds = 1' }), env });
    try {
      const event = spipEvent(9301);
      const stuck = new SlowPost(loom.ingestPort, Buffer.from(JSON.stringify([event])), headers);
      await stuck.accepted;
      const signalledAt = Date.now();
      loom.child.kill('SIGTERM');
      assert.equal(await loom.waitForExit(5000), 0);
      const elapsed = Date.now() - signalledAt;
      // It waited for the deadline (the timer cannot fire early), and not much longer.
      assert.ok(elapsed >= 900, `exited after ${elapsed} ms, before the deadline`);
      assert.ok(elapsed < 3500, `exited after ${elapsed} ms`);
      const outcome = await stuck.response.then((r) => `status ${r.status}`, (e: NodeJS.ErrnoException) => e.code ?? e.message);
      assert.match(outcome, /^(ECONNRESET|socket hang up|EPIPE)$/, outcome);
      assert.ok(!loom.stdoutLines.includes(JSON.stringify(event)));
      const deadline = loom.logs.find((l) => /shutdown deadline reached/.test(l.msg));
      assert.equal(deadline?.in_flight, 1, loom.stderrText);
      assert.equal(loom.logs.find((l) => l.msg === 'stopped')?.clean, false);
    } finally {
      await loom.cleanup();
    }
  });

  for (const fsync of [true, false]) {
    test(`file output (file_fsync = ${fsync}): every batch acknowledged around SIGTERM is in the file after exit`, async () => {
      const dir = await tempDir('loom-shutdown-file-');
      const path = join(dir, 'events.ndjson');
      const loom = await startLoom({
        toml: baseToml({ server: 'shutdown_timeout_seconds = 10', output: `type = "file"\nfile_path = ${JSON.stringify(path)}\nfile_fsync = ${fsync}` }),
        env,
      });
      try {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
        const acknowledged: string[] = [];
        let sent = 0;
        let signalled = false;
        const sender = async (): Promise<void> => {
          // Keep sending until the server stops answering: batches race the signal.
          for (let failures = 0; failures < 3;) {
            const n = sent++;
            const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ batch: n, i, pad: 'x'.repeat(200) }));
            try {
              const res = await request(loom.url(), `[${lines.join(',')}]`, { headers, agent, timeoutMs: 5000 });
              if (res.status === 204) acknowledged.push(...lines);
              else failures++;
            } catch {
              failures++;
              if (!signalled) throw new Error('a request failed before the signal');
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            if (!signalled && acknowledged.length >= 600) {
              signalled = true;
              loom.child.kill('SIGTERM');
            }
          }
        };
        await Promise.all([sender(), sender(), sender(), sender()]);
        agent.destroy();
        assert.equal(await loom.waitForExit(10_000), 0);
        const text = await readFile(path, 'utf8');
        assert.ok(text.endsWith('\n'), 'no torn last line');
        const written = text.split('\n').slice(0, -1);
        const writtenSet = new Set(written);
        assert.equal(writtenSet.size, written.length, 'no line written twice');
        const missing = acknowledged.filter((line) => !writtenSet.has(line));
        assert.equal(missing.length, 0, `${missing.length} acknowledged events missing from the file`);
        assert.ok(acknowledged.length >= 600);
        for (const line of written) JSON.parse(line);
      } finally {
        await loom.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
