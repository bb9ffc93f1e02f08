import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Loom, shipperTempDir } from './helpers/shipper-loom.js';
import { freePort, type SpipEvent, type SpipProcess } from './helpers/spip-process.js';
import { RawClient, disposeSpip, exitOf, launchSpip, removeTempDir, sleep } from './helpers/robust-spip.js';

const run = promisify(execFile);
const token = 'e2e-token-5b0e7d3a91c4';
// Loom maps "_" in the variable name back to "-": this is sensor "e2e-sensor".
const loomEnv = { LOOM_SENSOR_e2e_sensor: token };
const spipEnv = { SPIP_LOOM_TOKEN: token };

function sensorConfig(url: string, spoolDir: string, extra = ''): string {
  return `read_timeout_seconds = 5
first_byte_timeout_seconds = 5
shutdown_timeout_seconds = 1
max_connections_per_ip = 1000

[loom]
enabled = true
url = "${url}"
sensor_id = "e2e-sensor"
batch_size = 10
flush_interval = "500ms"
spool_dir = ${JSON.stringify(spoolDir)}
${extra}`;
}

/**
 * Connection `i` to the sensor, in one of three shapes so that Loom receives more than one
 * kind of event; each is checked to have been answered as a sensor answers it.
 */
async function connection(spip: SpipProcess, i: number): Promise<number> {
  const client = await RawClient.connect(spip.port);
  if (i % 3 === 0) {
    await client.write(`GET /e2e/${i} HTTP/1.1\r\nHost: sensor\r\nUser-Agent: e2e\r\n\r\n`);
    await client.ended(10_000);
    assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n127\.0\.0\.1$/);
  } else if (i % 3 === 1) {
    client.socket.end(`\x00probe ${i}\n`);
    await client.ended(10_000);
    assert.equal(client.received.toString('latin1'), '127.0.0.1');
  } else {
    client.destroy();
  }
  client.destroy();
  await client.closed;
  return client.localPort;
}

/** Makes `count` connections, ten at a time, and returns their events as the sensor logged them. */
async function connections(spip: SpipProcess, from: number, count: number): Promise<SpipEvent[]> {
  const ports: number[] = [];
  for (let i = from; i < from + count; i += 10) {
    ports.push(...(await Promise.all(Array.from({ length: Math.min(10, from + count - i) }, (_, k) => connection(spip, i + k)))));
  }
  return Promise.all(ports.map((port) => spip.eventFrom(port)));
}

/** How often each id occurs in `ids`. */
function tally(ids: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function assertExactlyOnce(received: string[], sent: SpipEvent[], what: string): void {
  const counts = tally(received);
  const missing = sent.filter((e) => !counts.has(e.event.id));
  const duplicated = sent.filter((e) => (counts.get(e.event.id) ?? 0) > 1);
  assert.equal(missing.length, 0, `${what}: ${missing.length} of ${sent.length} events never reached Loom`);
  assert.equal(duplicated.length, 0, `${what}: ${duplicated.length} events reached Loom more than once`);
  assert.equal(received.length, sent.length, `${what}: Loom wrote events the sensor never sent`);
}

/** The fields an analyst joins on must come out of Loom as Spip wrote them. */
function assertSpipFieldsKept(loomEvents: Record<string, unknown>[], sent: SpipEvent[]): void {
  const byId = new Map(loomEvents.map((e) => [(e.event as { id: string }).id, e as SpipEvent]));
  for (const local of sent) {
    const shipped = byId.get(local.event.id);
    assert.ok(shipped !== undefined, `event ${local.event.id} is not in Loom's output`);
    for (const path of ['event.id', 'event.action', 'source.ip', 'source.port', 'destination.ip', 'destination.port', 'network.community_id', 'network.transport', 'observer.hostname', '@timestamp']) {
      const read = (e: SpipEvent): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], e);
      assert.deepEqual(read(shipped), read(local), `${path} of event ${local.event.id} changed on the way through Loom`);
    }
    if (local.event.original_payload_hex !== undefined) assert.equal(shipped.event.original_payload_hex, local.event.original_payload_hex);
  }
}

const untilDelivered = (loom: Loom | Loom[], sent: SpipEvent[], what: string, timeoutMs = 30_000): Promise<void> => {
  const looms = Array.isArray(loom) ? loom : [loom];
  const last = looms[looms.length - 1] as Loom;
  return last.until(() => {
    const ids = new Set(looms.flatMap((l) => l.ids()));
    return sent.every((e) => ids.has(e.event.id));
  }, what, timeoutMs);
};

describe('Spip → Loom', { concurrency: true }, () => {
  test('50 events arrive once; Loom stopped for a while and restarted on the same port: all 150 arrive once, fields unchanged', { timeout: 80_000 }, async () => {
    const dir = await shipperTempDir('spip-loom-e2e-');
    const looms: Loom[] = [];
    let spip: SpipProcess | undefined;
    try {
      const first = await Loom.start(dir, { port: 0, env: loomEnv });
      looms.push(first);
      spip = await launchSpip(sensorConfig(first.url(), join(dir, 'spool')), { env: spipEnv });

      const before = await connections(spip, 0, 50);
      await untilDelivered(first, before, 'the first 50 events');
      assertExactlyOnce(first.ids(), before, 'Loom running');

      assert.equal(await first.stop(), 0);
      const during = await connections(spip, 50, 100);
      assert.equal(new Set(spip.events.map((e) => e.event.id)).size, 150, 'the sensor logs locally while Loom is down');
      await spip.until(() => spip?.logs.some((l) => l.msg === 'loom: shipper: POST to Loom failed; retrying' && /ECONNREFUSED/.test(String(l.error))), 'a failed POST while Loom is down');
      await sleep(2500);
      assert.equal(first.ids().length, 50, 'a stopped Loom cannot have received anything');

      const second = await Loom.start(dir, { port: first.port, env: loomEnv });
      looms.push(second);
      await untilDelivered(looms, during, 'the 100 events made while Loom was down');
      // Anything still in flight would show up now as a duplicate.
      await sleep(1000);
      const all = [...before, ...during];
      assertExactlyOnce(looms.flatMap((l) => l.ids()), all, 'across the restart');
      assertSpipFieldsKept(looms.flatMap((l) => l.events), all);
      assert.ok(spip.logs.some((l) => l.msg === 'loom: shipper: Loom accepts batches again'));
      assert.deepEqual(new Set(all.map((e) => e.event.action)), new Set(['http', 'payload', 'connect-only']));
    } finally {
      await disposeSpip(spip);
      for (const loom of looms) await loom.kill();
      await removeTempDir(dir);
    }
  });

  test('Spip restarted while Loom is down: the new process sends what the old one spooled, oldest first', { timeout: 60_000 }, async () => {
    const dir = await shipperTempDir('spip-loom-e2e-');
    const spool = join(dir, 'spool');
    const loomPort = await freePort();
    const url = `http://127.0.0.1:${loomPort}/api/v1/ingest`;
    let older: SpipProcess | undefined;
    let newer: SpipProcess | undefined;
    let loom: Loom | undefined;
    try {
      older = await launchSpip(sensorConfig(url, spool), { env: spipEnv });
      const spooled = await connections(older, 0, 30);
      await older.until(() => older?.logs.some((l) => l.msg === 'loom: shipper: POST to Loom failed; retrying'), 'a failed POST');
      older.child.kill('SIGTERM');
      assert.equal(await exitOf(older), 0);
      assert.ok((await readdir(spool)).some((name) => name.endsWith('.seg')), 'nothing was spooled');

      newer = await launchSpip(sensorConfig(url, spool), { env: spipEnv });
      loom = await Loom.start(dir, { port: loomPort, env: loomEnv });
      const fresh = await connections(newer, 0, 5);
      await untilDelivered(loom, [...spooled, ...fresh], 'the spooled and the new events');
      await sleep(1000);
      assertExactlyOnce(loom.ids(), [...spooled, ...fresh], 'after the sensor restart');
      assertSpipFieldsKept(loom.events, [...spooled, ...fresh]);
      const order = loom.ids();
      const lastSpooled = Math.max(...spooled.map((e) => order.indexOf(e.event.id)));
      const firstFresh = Math.min(...fresh.map((e) => order.indexOf(e.event.id)));
      assert.ok(lastSpooled < firstFresh, 'events from the previous run are sent before new ones');
    } finally {
      await disposeSpip(older);
      await disposeSpip(newer);
      await loom?.kill();
      await removeTempDir(dir);
    }
  });

  test('HTTPS with a self-signed certificate: delivered with insecure_skip_verify, held when verifying', { timeout: 60_000 }, async () => {
    const dir = await shipperTempDir('spip-loom-e2e-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
    let loom: Loom | undefined;
    const sensors: SpipProcess[] = [];
    try {
      loom = await Loom.start(dir, { port: 0, env: loomEnv, server: `tls = true\ncert_file = ${JSON.stringify(cert)}\nkey_file = ${JSON.stringify(key)}` });
      assert.ok(loom.logs.some((l) => l.msg === 'ingest server (HTTPS) listening'), 'Loom is not serving HTTPS');
      const skipping = await launchSpip(sensorConfig(loom.url('https'), join(dir, 'spool-skip'), 'insecure_skip_verify = true'), { env: spipEnv });
      sensors.push(skipping);
      const verifying = await launchSpip(sensorConfig(loom.url('https'), join(dir, 'spool-verify')), { env: spipEnv });
      sensors.push(verifying);

      const sent = await connections(skipping, 0, 20);
      const refused = await connections(verifying, 0, 3);
      await untilDelivered(loom, sent, 'the events sent over HTTPS');
      await verifying.until(() => verifying.logs.some((l) => l.msg === 'loom: shipper: POST to Loom failed; retrying' && /self[- ]signed|certificate/i.test(String(l.error))), 'a certificate error');
      await sleep(500);
      assertExactlyOnce(loom.ids(), sent, 'over HTTPS');
      assertSpipFieldsKept(loom.events, sent);
      const ids = new Set(loom.ids());
      assert.ok(refused.every((e) => !ids.has(e.event.id)), 'an unverifiable certificate was accepted');

      // The event of a connection that shutdown force-closes is made after the listener stopped;
      // it must still be shipped before the process exits.
      const open = await RawClient.connect(skipping.port);
      await open.write('\x00still talking');
      await sleep(200);
      skipping.child.kill('SIGTERM');
      assert.equal(await exitOf(skipping), 0);
      const last = await skipping.eventFrom(open.localPort);
      open.destroy();
      await untilDelivered(loom, [last], 'the event made during shutdown', 5000);
      assertExactlyOnce(loom.ids(), [...sent, last], 'with the event made during shutdown');
    } finally {
      for (const spip of sensors) await disposeSpip(spip);
      await loom?.kill();
      await removeTempDir(dir);
    }
  });
});
