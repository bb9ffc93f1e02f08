import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Shipper, type ShipperOptions } from '../src/shipper/index.js';
import { Loom, shipperTempDir } from './helpers/shipper-loom.js';
import { collectLogs, waitUntil } from './helpers/shipper-server.js';

const run = promisify(execFile);
const token = 'spip-loom-tok-7e21c94b';
// LOOM_SENSOR_<id>: environment names cannot hold "-", Loom maps "_" back to it.
const env = { LOOM_SENSOR_spip_test: token };

function options(url: string, spoolDir: string | undefined, overrides: Partial<ShipperOptions> = {}): ShipperOptions {
  return {
    url,
    sensorId: 'spip-test',
    token,
    batchSize: 50,
    flushIntervalMs: 100,
    insecureSkipVerify: false,
    spoolDir,
    spoolMaxBytes: 64 * 1024 * 1024,
    memoryMaxEvents: 10_000,
    gzip: true,
    maxBodyBytes: 2 * 1024 * 1024,
    requestTimeoutMs: 5000,
    backoff: { initialMs: 50, maxMs: 400 },
    ...overrides,
  };
}

/** A Spip-like ECS event; event.id tells every event apart. */
function spipEvent(i: number): Record<string, unknown> {
  return {
    '@timestamp': new Date().toISOString(),
    event: { id: `ev-${String(i).padStart(6, '0')}`, kind: 'event', category: ['network'], ingested_by: 'spip' },
    source: { ip: '167.94.146.54', port: 40000 + (i % 20000) },
    destination: { ip: '127.0.0.1', port: 6379 },
    network: { transport: 'tcp', protocol: 'redis' },
    observer: { hostname: 'spip-test' },
  };
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `ev-${String(from + i).padStart(6, '0')}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every id exactly once, and nothing else. */
function assertExactlyOnce(received: string[], expected: string[]): void {
  const seen = new Map<string, number>();
  for (const id of received) seen.set(id, (seen.get(id) ?? 0) + 1);
  const doubled = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(doubled, [], 'no event twice');
  const missing = expected.filter((id) => !seen.has(id));
  assert.deepEqual(missing, [], 'no event lost');
  assert.equal(received.length, expected.length);
}

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

describe('shipper against the real Loom', () => {
  test('1,000 events arrive once; during a Loom restart 500 more are spooled and arrive once', async () => {
    const dir = await shipperTempDir();
    const loomA = await Loom.start(dir, { port: 0, env });
    cleanup.push(() => loomA.kill());
    const port = loomA.port;
    const { entries, log } = collectLogs();
    const shipper = new Shipper(options(loomA.url(), join(dir, 'spool')), log);
    cleanup.push(() => shipper.close(0));
    await shipper.start();

    for (let i = 0; i < 1000; i++) shipper.enqueue(spipEvent(i));
    await loomA.until(() => loomA.events.length >= 1000, '1,000 events on stdout');
    await waitUntil(() => shipper.stats().queuedEvents === 0, 'everything acknowledged');
    assertExactlyOnce(loomA.ids(), ids(0, 1000));

    assert.equal(await loomA.stop(), 0);
    for (let i = 1000; i < 1500; i++) {
      shipper.enqueue(spipEvent(i));
      if (i % 50 === 49) await sleep(40);
    }
    await waitUntil(() => shipper.stats().spooledEvents === 500, '500 events in the spool');
    assert.ok(shipper.stats().failedAttempts > 0);
    assert.equal(loomA.events.length, 1000);

    const loomB = await Loom.start(dir, { port, env });
    cleanup.push(() => loomB.kill());
    await loomB.until(() => loomB.events.length >= 500, 'the spooled events after the restart');
    await waitUntil(() => shipper.stats().queuedEvents === 0, 'everything acknowledged');
    await shipper.close(2000);
    await loomB.stop();
    assertExactlyOnce([...loomA.ids(), ...loomB.ids()], ids(0, 1500));
    assert.deepEqual(loomB.ids(), ids(1000, 1500), 'in order');
    const stats = shipper.stats();
    assert.equal(stats.sentEvents, 1500);
    assert.deepEqual(stats.droppedEvents, {});
    assert.ok(!JSON.stringify(entries).includes(token));
  });

  test('a shipper restarted while Loom is down sends its spool first, in order, once Loom is back', async () => {
    const dir = await shipperTempDir();
    const spool = join(dir, 'spool');
    const loomA = await Loom.start(dir, { port: 0, env });
    cleanup.push(() => loomA.kill());
    const port = loomA.port;
    await loomA.stop();

    const first = new Shipper(options(loomA.url(), spool), collectLogs().log);
    cleanup.push(() => first.close(0));
    await first.start();
    for (let i = 0; i < 300; i++) first.enqueue(spipEvent(i));
    await waitUntil(() => first.stats().failedAttempts > 0, 'a refused connection');
    await first.close(300);
    assert.equal(first.stats().spooledEvents, 300);

    const { entries, log } = collectLogs();
    const second = new Shipper(options(loomA.url(), spool), log);
    cleanup.push(() => second.close(0));
    await second.start();
    assert.ok(entries.some((e) => e.msg.includes('resending events left by the previous run') && e.fields?.events === 300));
    for (let i = 300; i < 400; i++) second.enqueue(spipEvent(i));
    await waitUntil(() => second.stats().failedAttempts > 0, 'a refused connection');

    const loomB = await Loom.start(dir, { port, env });
    cleanup.push(() => loomB.kill());
    await loomB.until(() => loomB.events.length >= 400, 'replayed and new events');
    await waitUntil(() => second.stats().queuedEvents === 0, 'everything acknowledged');
    await second.close(2000);
    await loomB.stop();
    assert.deepEqual(loomB.ids(), ids(0, 400));
  });

  test('HTTPS with a self-signed certificate: refused when verified, delivered with insecureSkipVerify', async () => {
    const dir = await shipperTempDir();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ]);
    const loom = await Loom.start(dir, { port: 0, env, server: `tls = true\ncert_file = ${JSON.stringify(cert)}\nkey_file = ${JSON.stringify(key)}` });
    cleanup.push(() => loom.kill());

    const verified = new Shipper(options(loom.url('https'), undefined), collectLogs().log);
    cleanup.push(() => verified.close(0));
    await verified.start();
    verified.enqueue(spipEvent(0));
    await waitUntil(() => verified.stats().failedAttempts > 0, 'a failed handshake');
    assert.match(verified.stats().lastError ?? '', /self[- ]signed/i);
    await verified.close(0);
    assert.deepEqual(verified.stats().droppedEvents, { shutdown: 1 });

    const insecure = new Shipper(options(loom.url('https'), join(dir, 'spool'), { insecureSkipVerify: true }), collectLogs().log);
    cleanup.push(() => insecure.close(0));
    await insecure.start();
    for (let i = 1; i <= 200; i++) insecure.enqueue(spipEvent(i));
    await loom.until(() => loom.events.length >= 200, 'events over HTTPS');
    await insecure.close(2000);
    await loom.stop();
    assertExactlyOnce(loom.ids(), ids(1, 201));
  });

  test('401 after a token rotation keeps the events until Loom learns the new token', async () => {
    const dir = await shipperTempDir();
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, 'someone-elses-token-1f2e,other-sensor\n', { mode: 0o600 });
    const loom = await Loom.start(dir, { port: 0, env: {}, auth: `token_file = ${JSON.stringify(tokenFile)}` });
    cleanup.push(() => loom.kill());
    const { entries, log } = collectLogs();
    const shipper = new Shipper(options(loom.url(), join(dir, 'spool'), { backoff: { initialMs: 50, maxMs: 300 } }), log);
    cleanup.push(() => shipper.close(0));
    await shipper.start();
    for (let i = 0; i < 120; i++) shipper.enqueue(spipEvent(i));
    await waitUntil(() => shipper.stats().failedAttempts >= 3, 'refusals');
    assert.equal(shipper.stats().lastStatus, 401);
    assert.equal(loom.events.length, 0);

    await writeFile(`${tokenFile}.tmp`, `${token},spip-test\n`, { mode: 0o600 });
    await rename(`${tokenFile}.tmp`, tokenFile);
    loom.child.kill('SIGHUP');
    await loom.until(() => loom.events.length >= 120, 'events after the token reload');
    await shipper.close(2000);
    await loom.stop();
    assertExactlyOnce(loom.ids(), ids(0, 120));
    assert.deepEqual(shipper.stats().droppedEvents, {});
    assert.equal(entries.filter((e) => e.level === 'error').length, 1, 'one error line for the whole refusal');
  });
});
