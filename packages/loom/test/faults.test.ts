import { test } from 'node:test';
import net from 'node:net';
import assert from 'node:assert/strict';
import { request } from './helpers/http.js';
import { baseToml, startLoom } from './helpers/loom-process.js';

test('a sensor flooding far beyond its rate limit does not take the other sensors\' share', async () => {
  const loom = await startLoom({
    toml: baseToml({ limits: 'per_sensor_rps = 20\nper_sensor_burst = 20' }),
    env: { LOOM_SENSOR_flood: 'token-of-the-flooding-sensor', LOOM_SENSOR_calm: 'token-of-the-calm-sensor' },
  });
  try {
    const url = `http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`;
    const send = (token: string) => request(url, '[{"event":{"kind":"event"}}]', { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    let flooding = true;
    const flood: Record<number, number> = {};
    // Sixteen connections post as fast as they can for the whole test.
    const flooders = Array.from({ length: 16 }, async () => {
      while (flooding) {
        const status = (await send('token-of-the-flooding-sensor')).status;
        flood[status] = (flood[status] ?? 0) + 1;
      }
    });
    const calm: number[] = [];
    for (let i = 0; i < 15; i++) {
      calm.push((await send('token-of-the-calm-sensor')).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    flooding = false;
    await Promise.all(flooders);
    assert.deepEqual(calm, new Array(15).fill(204), 'every batch of the calm sensor is accepted');
    assert.ok((flood[429] ?? 0) > 10 * (flood[204] ?? 0), `the flood is mostly refused: ${JSON.stringify(flood)}`);
    assert.ok((flood[204] ?? 0) >= 20, `the flooding sensor still gets its own share: ${JSON.stringify(flood)}`);
    assert.deepEqual(Object.keys(flood).sort(), ['204', '429'], 'nothing but accepted or rate-limited');
  } finally {
    await loom.stop();
  }
});

/** A raw connection that sends `chunks` one by one, `gapMs` apart, and records what comes back and when it closed. */
function trickle(port: number, chunks: string[], gapMs: number): { done: Promise<{ reply: string; closedAfterMs: number }> ; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  const started = Date.now();
  let reply = '';
  socket.setEncoding('latin1');
  socket.on('data', (data: string) => (reply += data));
  socket.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  let i = 0;
  const next = (): void => {
    if (socket.destroyed || i >= chunks.length) return;
    socket.write(chunks[i++] as string);
    timer = setTimeout(next, gapMs);
  };
  socket.once('connect', next);
  const done = new Promise<{ reply: string; closedAfterMs: number }>((resolve) => socket.once('close', () => {
    clearTimeout(timer);
    resolve({ reply, closedAfterMs: Date.now() - started });
  }));
  return { done, socket };
}

test('slowloris: clients trickling headers or bodies are cut off by the timeouts while a sensor is served', async () => {
  const loom = await startLoom({
    toml: baseToml({ server: 'header_timeout_seconds = 1\nrequest_timeout_seconds = 2' }),
    env: { LOOM_SENSOR_calm: 'token-of-the-calm-sensor' },
  });
  try {
    const headerBytes = `POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer token-of-the-calm-sensor\r\nX-Padding: ${'a'.repeat(200)}\r\n`.split('');
    // Forty connections send their headers a byte every 100 ms: they would take 30 s.
    const slowHeaders = Array.from({ length: 40 }, () => trickle(loom.ingestPort, headerBytes, 100));
    // Ten send complete headers, then the body a byte every 100 ms: they would take 20 s.
    const body = `[{"event":{"kind":"event"},"pad":"${'p'.repeat(170)}"}]`;
    const slowBodies = Array.from({ length: 10 }, () => trickle(loom.ingestPort, [`POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer token-of-the-calm-sensor\r\nContent-Length: ${body.length}\r\n\r\n`, ...body.split('')], 100));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const calm = await request(loom.url(), '[{"event":{"kind":"event"}}]', { agent: false, headers: { Authorization: 'Bearer token-of-the-calm-sensor', 'Content-Type': 'application/json' }, timeoutMs: 2000 });
    assert.equal(calm.status, 204, 'a sensor is answered while the slow clients hold their connections');

    const headerResults = await Promise.all(slowHeaders.map((c) => c.done));
    for (const { reply, closedAfterMs } of headerResults) {
      // Node checks the header timeout on a timer of its own, so the cut comes within a few seconds, never at the 30 s the client needed.
      assert.ok(closedAfterMs < 6000, `closed after ${closedAfterMs} ms`);
      assert.match(reply, /^HTTP\/1\.1 408 /, 'told why');
    }
    const bodyResults = await Promise.all(slowBodies.map((c) => c.done));
    for (const { reply, closedAfterMs } of bodyResults) {
      assert.ok(closedAfterMs < 8000, `closed after ${closedAfterMs} ms`);
      assert.match(reply, /^HTTP\/1\.1 408 /);
    }
    const after = await request(loom.url(), '[{"event":{"kind":"event"}}]', { agent: false, headers: { Authorization: 'Bearer token-of-the-calm-sensor', 'Content-Type': 'application/json' } });
    assert.equal(after.status, 204);
    assert.equal(loom.exitCode, undefined);
  } finally {
    await loom.stop();
  }
});

test('oversized headers get 431 and a connection flood beyond max_connections is refused, not queued', async () => {
  const loom = await startLoom({ toml: baseToml({ server: 'max_connections = 20' }), env: { LOOM_SENSOR_calm: 'token-of-the-calm-sensor' } });
  try {
    const huge = trickle(loom.ingestPort, [`POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\n[]`], 10);
    const { reply } = await huge.done;
    assert.match(reply, /^HTTP\/1\.1 431 /);
    assert.match(reply, /"error":"invalid_request"/);
    const many = trickle(loom.ingestPort, [`POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: 2\r\n\r\n[]`], 10);
    assert.match((await many.done).reply, /^HTTP\/1\.1 431 /, '3000 small headers are as oversized as one big one');

    // Thirty idle connections: twenty are held, the rest are closed at once.
    const idle = Array.from({ length: 30 }, () => trickle(loom.ingestPort, [], 1000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const closedEarly = idle.filter((c) => c.socket.destroyed || c.socket.readyState === 'closed').length;
    assert.ok(closedEarly >= 10, `${closedEarly} of 30 refused at once`);
    for (const c of idle) c.socket.destroy();
    await Promise.all(idle.map((c) => c.done));
    // The server counts a connection gone when it sees the close, a moment after the client.
    let calm = 0;
    for (let attempt = 0; attempt < 20 && calm !== 204; attempt++) {
      calm = await request(loom.url(), '[{"event":{"kind":"event"}}]', { agent: false, headers: { Authorization: 'Bearer token-of-the-calm-sensor', 'Content-Type': 'application/json' } }).then((r) => r.status, () => 0);
      if (calm !== 204) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(calm, 204, 'served again once the flood let go');
  } finally {
    await loom.stop();
  }
});
