import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { alpnExtension, buildClientHello, sniExtension, supportedVersionsExtension, u16ListExtension } from '../src/protocols/tls/hello-builder.js';
import { buildKexInitPacket } from '../src/protocols/ssh/kexinit-builder.js';
import { Random, mulberry32, seedFromEnv } from '@loom/test-support';
import { freePort, type SpipEvent, type SpipProcess } from './helpers/spip-process.js';
import {
  RawClient, disposeSpip, exitOf, httpExchange, launchSpip, readEventFile, rssKiB, sleep, spawnSpip, untilActive,
} from './helpers/robust-spip.js';

/** A TLS 1.2 ClientHello that Node's server can answer with an ECDSA P-256 certificate. */
function clientHello(serverName: string): Buffer {
  return Buffer.from(buildClientHello({
    legacyVersion: 0x0303,
    ciphers: [0xc02b, 0xc02f, 0xc009, 0xc013],
    extensions: [
      sniExtension(serverName),
      u16ListExtension(0x000a, [0x0017, 0x0018]),
      { type: 0x000b, data: Uint8Array.from([1, 0]) },
      u16ListExtension(0x000d, [0x0403, 0x0804, 0x0401]),
      alpnExtension(['http/1.1']),
      supportedVersionsExtension([0x0303]),
    ],
  }));
}

async function withSpip(extra: string, body: (spip: SpipProcess) => Promise<void>): Promise<void> {
  const spip = await launchSpip(extra);
  try {
    await body(spip);
  } finally {
    await disposeSpip(spip);
  }
}

function eventsFrom(spip: SpipProcess, port: number): SpipEvent[] {
  return spip.events.filter((e) => e.source?.port === port);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

describe('deadlines', { concurrency: true }, () => {
  test('a silent client is closed after first_byte_timeout_seconds (timeout); one that leaves at once is connect-only', async () => {
    await withSpip('first_byte_timeout_seconds = 1\nread_timeout_seconds = 10', async (spip) => {
      const silent = await RawClient.connect(spip.port);
      const leaver = await RawClient.connect(spip.port);
      leaver.destroy();

      const left = await spip.eventFrom(leaver.localPort);
      assert.equal(left.event.action, 'connect-only');
      // Recorded when the client left, not when the first-byte deadline would have passed.
      assert.ok(left.event.duration < 900e6, `connect-only took ${left.event.duration} ns`);
      assert.equal(left.source.bytes, 0);
      assert.equal(left.event.original_payload_hex, undefined);

      const waited = await silent.ended(5000);
      assert.ok(waited >= 900 && waited < 2500, `closed after ${seconds(waited)}, first_byte_timeout_seconds = 1`);
      const timedOut = await spip.eventFrom(silent.localPort);
      assert.equal(timedOut.event.action, 'timeout');
      assert.equal(timedOut.source.ip, '127.0.0.1');
      assert.equal(timedOut.destination.port, spip.port);
      assert.equal(silent.received.length, 0, 'nothing is sent to a client that said nothing');
      silent.destroy();
      await sleep(300);
      assert.equal(eventsFrom(spip, silent.localPort).length, 1);
      assert.equal(eventsFrom(spip, leaver.localPort).length, 1);
    });
  });

  test('TLS: half a ClientHello, or a full one and no handshake, is closed after handshake_timeout_seconds with what was learnt', async () => {
    // A long read timeout: the handshake deadline alone has to end both connections.
    await withSpip('tls_self_signed = true\nhandshake_timeout_seconds = 1\nfirst_byte_timeout_seconds = 5\nread_timeout_seconds = 20', async (spip) => {
      const hello = clientHello('stall.example');
      const half = await RawClient.connect(spip.port);
      await half.write(hello.subarray(0, Math.floor(hello.length / 2)));
      const whole = await RawClient.connect(spip.port);
      await whole.write(hello);

      const [halfWait, wholeWait] = await Promise.all([half.ended(8000), whole.ended(8000)]);
      assert.ok(halfWait >= 900 && halfWait < 2500, `half ClientHello closed after ${seconds(halfWait)}, handshake_timeout_seconds = 1`);
      assert.ok(wholeWait >= 900 && wholeWait < 2500, `stalled handshake closed after ${seconds(wholeWait)}, handshake_timeout_seconds = 1`);

      const partial = await spip.eventFrom(half.localPort);
      assert.equal(partial.event.action, 'tls-handshake-failed');
      assert.equal(partial.event.original_payload_hex, hello.subarray(0, Math.floor(hello.length / 2)).toString('hex'));
      assert.equal(partial.tls?.established, false);
      assert.match(String(partial.tls?.error), /timed out/);
      assert.equal(partial.network.protocol, 'tls');
      // The sensor must not answer half a ClientHello with the plain-text reply.
      assert.equal(half.received.toString('latin1').includes('127.0.0.1'), false, `answered ${JSON.stringify(half.received.toString('latin1'))}`);

      const stalled = await spip.eventFrom(whole.localPort);
      assert.equal(stalled.event.action, 'tls-handshake-failed');
      assert.equal(stalled.tls.established, false);
      assert.match(String(stalled.tls.error), /timed out/);
      assert.equal(stalled.tls.client.server_name, 'stall.example');
      assert.match(String(stalled.tls.client.ja4), /^t12d0406h1_/);
      assert.equal(stalled.network.protocol, 'tls');
      assert.ok(whole.received.length > 0 && whole.received[0] === 0x16, 'the sensor answered with a TLS handshake record');
      half.destroy();
      whole.destroy();

      // A complete record whose ClientHello does not parse: the reason is kept as well.
      const malformed = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0xde, 0xad]);
      const broken = await RawClient.connect(spip.port);
      broken.socket.end(malformed);
      const parsed = await spip.eventFrom(broken.localPort);
      assert.equal(parsed.event.action, 'tls-clienthello-only');
      assert.equal(parsed.event.original_payload_hex, malformed.toString('hex'));
      assert.equal(parsed.tls?.established, false);
      assert.equal(typeof parsed.tls?.error, 'string');
      assert.equal(parsed.network.protocol, 'tls');
      broken.destroy();
    });
  });

  test('a client trickling a byte every 100 ms is cut off at max_connection_seconds, with one event', async () => {
    await withSpip('max_connection_seconds = 2\nread_timeout_seconds = 5\nfirst_byte_timeout_seconds = 5', async (spip) => {
      const client = await RawClient.connect(spip.port);
      let sent = 0;
      const trickle = setInterval(() => {
        if (client.endedAt !== undefined) return;
        client.socket.write(Buffer.from([0x01]));
        sent++;
      }, 100);
      try {
        const waited = await client.ended(6000);
        assert.ok(waited >= 1900 && waited < 3500, `cut off after ${seconds(waited)}, max_connection_seconds = 2`);
      } finally {
        clearInterval(trickle);
      }
      const event = await spip.eventFrom(client.localPort);
      assert.equal(event.event.action, 'payload');
      assert.ok(event.event.duration >= 1.9e9 && event.event.duration < 3e9, `event.duration ${event.event.duration} ns`);
      assert.ok(event.source.bytes >= 15 && event.source.bytes <= sent, `source.bytes ${event.source.bytes}, sent ${sent}`);
      assert.equal(event.event.original_payload_hex, '01'.repeat(event.spip.payload_captured_bytes));
      client.destroy();
      await sleep(500);
      assert.equal(eventsFrom(spip, client.localPort).length, 1);
    });
  });
});

describe('caps', { concurrency: true }, () => {
  test('200 KiB against max_payload_bytes = 65536: 64 KiB kept and marked truncated', async () => {
    await withSpip('max_payload_bytes = 65536\nread_timeout_seconds = 5', async (spip) => {
      const data = new Random(mulberry32(7)).bytes(200 * 1024);
      // A leading 0x00 keeps the bytes from looking like TLS, HTTP or SSH.
      data[0] = 0;
      const client = await RawClient.connect(spip.port);
      client.socket.end(data);
      await client.ended(5000);
      const event = await spip.eventFrom(client.localPort);
      assert.equal(event.event.action, 'payload');
      assert.equal(event.spip.payload_truncated, true);
      assert.equal(event.spip.payload_captured_bytes, 65536);
      assert.ok(event.source.bytes >= 65536, `source.bytes ${event.source.bytes}`);
      assert.equal(event.event.original_payload_hex.length, 131072);
      assert.equal(event.event.original_payload_hex, data.subarray(0, 65536).toString('hex'));
      client.destroy();
    });
  });

  test('global rate limit (1/s, burst 2): 5 quick connections give 2 normal and 3 rate-limited events', async () => {
    await withSpip('rate_limit_per_second = 1\nrate_limit_burst = 2\nread_timeout_seconds = 5', async (spip) => {
      const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(spip.port)));
      for (const client of clients) client.socket.write('GET /rate HTTP/1.1\r\nHost: sensor\r\n\r\n');
      await Promise.all(clients.map((c) => c.ended(5000)));
      const events = await spip.until(() => {
        const found = clients.map((c) => eventsFrom(spip, c.localPort));
        return found.every((list) => list.length === 1) ? found.map((list) => list[0] as SpipEvent) : undefined;
      }, 'an event for each of the 5 connections');
      const actions = events.map((e) => e.event.action as string).sort();
      assert.deepEqual(actions, ['http', 'http', 'rate-limited', 'rate-limited', 'rate-limited']);
      for (const [i, event] of events.entries()) {
        const client = clients[i] as RawClient;
        assert.equal(event.source.ip, '127.0.0.1');
        assert.equal(event.source.port, client.localPort);
        assert.equal(event.destination.ip, '127.0.0.1');
        assert.equal(event.destination.port, spip.port);
        assert.match(String(event.network.community_id), /^1:[A-Za-z0-9+/]+=*$/);
        if (event.event.action === 'rate-limited') assert.equal(client.received.length, 0, 'a rate-limited client gets no answer');
        else assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
        client.destroy();
      }
      // The bucket refills: it is a rate, not a ban.
      await sleep(1100);
      const { answer } = await httpExchange(spip.port);
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    });
  });

  test('max_connections_per_ip = 2: a third connection from 127.0.0.1 is refused, other addresses are not', async () => {
    await withSpip('max_connections_per_ip = 2\nfirst_byte_timeout_seconds = 20\nmetrics_listen_address = "127.0.0.1:0"', async (spip) => {
      const first = await RawClient.connect(spip.port);
      const second = await RawClient.connect(spip.port);
      await untilActive(spip, 2);
      const third = await RawClient.connect(spip.port);
      await third.ended(3000);
      const limited = await spip.eventFrom(third.localPort);
      assert.equal(limited.event.action, 'connection-limit');
      assert.equal(limited.source.ip, '127.0.0.1');
      assert.equal(limited.destination.port, spip.port);

      const other = await RawClient.connect(spip.port, { localAddress: '127.0.0.2' });
      await untilActive(spip, 3);
      // Closing one of the two frees its slot for the same address.
      first.destroy();
      await spip.eventFrom(first.localPort);
      const again = await RawClient.connect(spip.port);
      await untilActive(spip, 3);
      await sleep(200);
      assert.equal(again.endedAt, undefined, 'the freed slot was not given back');
      assert.equal(other.endedAt, undefined);
      for (const c of [second, third, other, again]) c.destroy();
      await spip.until(() => [second, other, again].every((c) => eventsFrom(spip, c.localPort).length === 1) || undefined, 'the events of the closed connections');
      assert.equal(eventsFrom(spip, again.localPort)[0]?.event.action, 'connect-only');
      assert.equal(eventsFrom(spip, other.localPort)[0]?.source.ip, '127.0.0.2');
    });
  });

  test('max_connections = 2 holds across source addresses', async () => {
    await withSpip('max_connections = 2\nfirst_byte_timeout_seconds = 20\nmetrics_listen_address = "127.0.0.1:0"', async (spip) => {
      const a = await RawClient.connect(spip.port, { localAddress: '127.0.0.2' });
      const b = await RawClient.connect(spip.port, { localAddress: '127.0.0.3' });
      await untilActive(spip, 2);
      const c = await RawClient.connect(spip.port, { localAddress: '127.0.0.4' });
      await c.ended(3000);
      const limited = await spip.eventFrom(c.localPort);
      assert.equal(limited.event.action, 'connection-limit');
      assert.equal(limited.source.ip, '127.0.0.4');
      assert.equal(a.endedAt, undefined);
      assert.equal(b.endedAt, undefined);
      for (const client of [a, b, c]) client.destroy();
    });
  });
});

test('2,000 idle connections: RSS grows by less than 64 KiB each and the sensor keeps answering', { timeout: 60_000 }, async (t) => {
  const count = 2000;
  await withSpip('first_byte_timeout_seconds = 120\nmax_connections_per_ip = 5000\nmetrics_listen_address = "127.0.0.1:0"', async (spip) => {
    // Warm up first so that the baseline already includes what one-off startup allocates.
    for (let i = 0; i < 20; i++) await httpExchange(spip.port);
    const before = await rssKiB(spip.child.pid as number);
    const clients: RawClient[] = [];
    for (let i = 0; i < count; i += 200) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => RawClient.connect(spip.port)))));
    }
    await untilActive(spip, count, 20_000);
    const after = await rssKiB(spip.child.pid as number);
    const perConnection = (after - before) / count;
    t.diagnostic(`RSS ${before} KiB → ${after} KiB with ${count} idle connections: ${perConnection.toFixed(1)} KiB each`);
    assert.ok(perConnection < 64, `RSS ${before} KiB → ${after} KiB: ${perConnection.toFixed(1)} KiB per idle connection`);

    const { answer } = await httpExchange(spip.port);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n127\.0\.0\.1$/);
    assert.ok(clients.every((c) => c.endedAt === undefined), 'an idle connection was closed before first_byte_timeout_seconds');

    for (const client of clients) client.destroy();
    const ports = new Set(clients.map((c) => c.localPort));
    // Ephemeral ports are reused: a warm-up or probe request may have had a port that a client got
    // later, so the HTTP exchanges' own events (they carry `http`) are told apart from the clients'.
    const clientEvents = (): typeof spip.events => spip.events.filter((e) => ports.has(e.source?.port) && e.http === undefined);
    await spip.until(() => clientEvents().length >= count || undefined, `${count} events`, 20_000);
    await sleep(300);
    const events = clientEvents();
    assert.ok(spip.events.filter((e) => ports.has(e.source?.port) && e.http !== undefined).length <= 21, 'only the 21 HTTP exchanges can share a port with a client');
    assert.equal(events.length, count);
    assert.equal(new Set(events.map((e) => e.source.port)).size, count, 'one event per connection');
    assert.ok(events.every((e) => e.event.action === 'connect-only'));
  });
});

test('SIGTERM: stops accepting, lets an open connection finish, force-closes one past shutdown_timeout_seconds, exits 0', { timeout: 30_000 }, async () => {
  const spip = await launchSpip('shutdown_timeout_seconds = 2\nread_timeout_seconds = 10\nfirst_byte_timeout_seconds = 10');
  try {
    const finishing = await RawClient.connect(spip.port);
    await finishing.write('GET /slow HTTP/1.1\r\nHost: sensor\r\n');
    const trickler = await RawClient.connect(spip.port);
    const trickle = setInterval(() => {
      if (trickler.endedAt === undefined) trickler.socket.write(Buffer.from([0x01]));
    }, 100);
    try {
      await sleep(300);
      const signalledAt = Date.now();
      spip.child.kill('SIGTERM');
      await spip.until(() => spip.logs.some((l) => l.msg === 'Shutdown signal received, closing listener'), 'the shutdown log line');
      await assert.rejects(RawClient.connect(spip.port), /ECONNREFUSED/, 'a new connection was accepted after SIGTERM');

      await finishing.write('\r\n');
      await finishing.ended(3000);
      assert.match(finishing.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);

      await trickler.ended(5000);
      const forcedAfter = (trickler.endedAt as number) - signalledAt;
      assert.ok(forcedAfter >= 1800 && forcedAfter < 4000, `force-closed ${seconds(forcedAfter)} after SIGTERM, shutdown_timeout_seconds = 2`);
    } finally {
      clearInterval(trickle);
    }
    assert.equal(await exitOf(spip), 0);
    assert.match(spip.stderrText, /shutdown timed out; 1 connections force-closed/);
    const done = eventsFrom(spip, finishing.localPort);
    assert.equal(done.length, 1);
    assert.equal(done[0]?.event.action, 'http');
    assert.equal(done[0]?.url.path, '/slow');
    const forced = eventsFrom(spip, trickler.localPort);
    assert.equal(forced.length, 1);
    assert.equal(forced[0]?.event.action, 'payload');
    assert.ok(forced[0]?.source.bytes > 10);
    finishing.destroy();
    trickler.destroy();
  } finally {
    await disposeSpip(spip);
  }
});

test('SIGHUP reopens log_file: after logrotate moved it, events go to the new file and none is lost', { timeout: 30_000 }, async () => {
  const spip = await launchSpip('log_file = "events.ndjson"\nread_timeout_seconds = 5');
  try {
    const path = join(spip.dir, 'events.ndjson');
    const before: number[] = [];
    for (let i = 0; i < 5; i++) before.push((await httpExchange(spip.port, `GET /before/${i} HTTP/1.1\r\nHost: s\r\n\r\n`)).sourcePort);
    const deadline = Date.now() + 5000;
    while ((await readEventFile(path)).length < 5 && Date.now() < deadline) await sleep(20);
    assert.equal((await readEventFile(path)).length, 5, 'the first events were not written to log_file');
    assert.equal(spip.events.length, 0, 'with log_file set, events stay off stdout');

    await rename(path, `${path}.1`);
    // Connections keep arriving while the file is moved and reopened.
    const around: Promise<{ sourcePort: number }>[] = [];
    for (let i = 0; i < 20; i++) {
      around.push(httpExchange(spip.port, `GET /around/${i} HTTP/1.1\r\nHost: s\r\n\r\n`));
      if (i === 10) spip.child.kill('SIGHUP');
      await sleep(10);
    }
    const aroundPorts = (await Promise.all(around)).map((r) => r.sourcePort);
    await spip.until(() => spip.logs.some((l) => l.msg === 'SIGHUP: reopening the log file'), 'the SIGHUP log line');
    const after = (await httpExchange(spip.port, 'GET /after HTTP/1.1\r\nHost: s\r\n\r\n')).sourcePort;

    // A clean stop flushes both streams, so every event is on disk when the files are read.
    spip.child.kill('SIGTERM');
    assert.equal(await exitOf(spip), 0);
    const rotated = await readEventFile(`${path}.1`);
    const current = await readEventFile(path);
    const rotatedPorts = rotated.map((e) => e.source.port as number);
    const currentPorts = current.map((e) => e.source.port as number);
    for (const port of before) assert.ok(rotatedPorts.includes(port), `an event from before the rotation is missing from ${path}.1`);
    assert.ok(currentPorts.includes(after), 'the event after SIGHUP is not in the reopened file');
    assert.ok(current.length > 0 && rotated.length > 0);
    const all = [...rotatedPorts, ...currentPorts].sort((a, b) => a - b);
    assert.deepEqual(all, [...before, ...aroundPorts, after].sort((a, b) => a - b), 'every event exactly once across the two files');
  } finally {
    await disposeSpip(spip);
  }
});

test('configuration errors exit 1 with the Go wording; a taken port names the address', { timeout: 30_000 }, async () => {
  const occupied = net.createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  const takenPort = (occupied.address() as net.AddressInfo).port;
  const port = await freePort();
  const cases: [string, string, RegExp][] = [
    ['missing name', `ip = "127.0.0.1"\nport = ${port}\n`, /^Invalid configuration: name is required in configuration$/m],
    ['missing port', `name = "x"\nip = "127.0.0.1"\n`, /^Invalid configuration: port is required$/m],
    ['port out of range', `name = "x"\nip = "127.0.0.1"\nport = 70000\n`, /^Invalid configuration: port: 70000 is not a TCP port \(1\.\.65535\)$/m],
    ['port as a string', `name = "x"\nip = "127.0.0.1"\nport = "8080"\n`, /^Invalid configuration: port: expected an integer, got string "8080"$/m],
    ['cert without key', `name = "x"\nip = "127.0.0.1"\nport = ${port}\ncert_path = "cert.pem"\n`, /^Invalid configuration: both cert_path and key_path must be provided for TLS$/m],
    ['taken port', `name = "x"\nip = "127.0.0.1"\nport = ${takenPort}\n`, new RegExp(`Failed to create listener: listen 127\\.0\\.0\\.1:${takenPort}: address already in use`)],
  ];
  try {
    await Promise.all(cases.map(async ([what, text, expected]) => {
      const spip = await spawnSpip(text, [port], { waitStarted: false });
      try {
        assert.equal(await exitOf(spip, 15_000), 1, `${what}: exit status; stderr:\n${spip.stderrText}`);
        assert.match(spip.stderrText, expected, what);
        assert.equal(spip.logs.some((l) => l.msg === 'sensor started'), false, what);
      } finally {
        await disposeSpip(spip);
      }
    }));
  } finally {
    await new Promise<void>((resolve) => occupied.close(() => resolve()));
  }
});

const methods = ['GET', 'POST', 'HEAD', 'OPTIONS', 'CONNECT', 'PRI', 'get', 'PROPFIND', 'G\u00e9T'];

/** One connection's worth of hostile input: random bytes, or the start of something the sensor parses. */
function garbage(random: Random): Buffer {
  const cut = (data: Buffer): Buffer => (random.chance(0.5) ? data : data.subarray(0, random.int(data.length + 1)));
  switch (random.int(8)) {
    case 0:
      return Buffer.alloc(0);
    case 1: {
      // A TLS record header claiming a handshake of some length, then noise.
      const length = random.int(0x4800);
      return cut(Buffer.concat([Buffer.from([0x16, 0x03, random.int(5), length >> 8, length & 0xff, random.int(3)]), random.bytes(random.int(600))]));
    }
    case 2:
      return cut(Buffer.concat([clientHello(`h${random.int(1000)}.example`), random.bytes(random.int(300))]));
    case 3: {
      const line = `${random.pick(methods)} /${random.bytes(random.int(40)).toString('base64url')} HTTP/1.${random.int(3)}\r\n`;
      const headers = Array.from({ length: random.int(6) }, (_, i) => `X-${i}: ${random.bytes(random.int(30)).toString('latin1')}\r\n`).join('');
      return cut(Buffer.concat([Buffer.from(line + headers, 'latin1'), random.chance(0.5) ? Buffer.from('\r\n') : random.bytes(random.int(200))]));
    }
    case 4: {
      const kex = Buffer.from(buildKexInitPacket({ lists: Array.from({ length: random.int(11) }, () => random.bytes(random.int(20)).toString('base64')) }));
      const ident = `SSH-${random.chance(0.8) ? '2.0' : '1.99'}-${random.bytes(random.int(20)).toString('base64url')}\r\n`;
      return cut(Buffer.concat([Buffer.from(ident), random.chance(0.5) ? kex : random.bytes(random.int(400))]));
    }
    case 5:
      return random.bytes(1 + random.int(70_000));
    default:
      return random.bytes(1 + random.int(2000));
  }
}

test('1,000 connections of seeded garbage: one event each, the sensor stays up', { timeout: 60_000 }, async (t) => {
  const seed = seedFromEnv('SPIP_GARBAGE_SEED', 20_251_123);
  const random = new Random(mulberry32(seed));
  const total = 1000;
  const spip = await launchSpip('tls_self_signed = true\nfirst_byte_timeout_seconds = 2\nhandshake_timeout_seconds = 1\nread_timeout_seconds = 1\nmax_connections_per_ip = 5000');
  try {
    const sent: { port: number; data: Buffer }[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        next++;
        const data = garbage(random);
        const mode = random.int(3);
        const client = await RawClient.connect(spip.port);
        sent.push({ port: client.localPort, data });
        if (data.length > 0) await client.write(data);
        // Three kinds of peers: one that half-closes and waits, one that vanishes (often with a
        // reset), one that waits for the sensor's deadline.
        if (mode === 0) client.socket.end();
        if (mode === 1) client.destroy();
        else await client.ended(10_000);
        client.destroy();
        await client.closed;
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));

    const expected = new Map<number, number>();
    for (const { port } of sent) expected.set(port, (expected.get(port) ?? 0) + 1);
    const ours = (): SpipEvent[] => spip.events.filter((e) => expected.has(e.source?.port));
    await spip.until(() => ours().length >= total || undefined, `${total} events (seed ${seed})`, 20_000);
    await sleep(1500);
    assert.equal(ours().length, total, `seed ${seed}: events for ${total} connections`);
    const seen = new Map<number, number>();
    for (const e of ours()) seen.set(e.source.port, (seen.get(e.source.port) ?? 0) + 1);
    assert.deepEqual([...seen.entries()].sort(), [...expected.entries()].sort(), `seed ${seed}: one event per connection`);

    for (const event of ours()) {
      const candidates = sent.filter((s) => s.port === event.source.port);
      const hex = event.event.original_payload_hex as string | undefined;
      if (hex !== undefined && event.tls?.established !== true) {
        assert.ok(candidates.some((s) => s.data.toString('hex').startsWith(hex)), `seed ${seed}: captured bytes are not what port ${event.source.port} sent`);
      }
      assert.ok(event.source.bytes <= Math.max(...candidates.map((s) => s.data.length)), `seed ${seed}: source.bytes beyond what was sent`);
    }
    const actions = new Map<string, number>();
    for (const e of ours()) actions.set(e.event.action, (actions.get(e.event.action) ?? 0) + 1);
    t.diagnostic(`seed ${seed} (SPIP_GARBAGE_SEED replays it): ${JSON.stringify(Object.fromEntries([...actions].sort()))}`);
    for (const kind of ['connect-only', 'timeout', 'payload', 'http', 'ssh', 'tls-handshake-failed']) {
      assert.ok(actions.has(kind), `seed ${seed}: the garbage never reached the ${kind} path`);
    }
    assert.equal(spip.exitCode, undefined, 'the sensor exited');
    assert.doesNotMatch(spip.stderrText, /uncaught|unhandled|TypeError|RangeError/i);
    const { answer } = await httpExchange(spip.port);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    spip.child.kill('SIGTERM');
    assert.equal(await exitOf(spip), 0);
  } finally {
    await disposeSpip(spip);
  }
});
