import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackCapture, readFields } from './helpers/e2e-capture.js';
import { missing, runClient } from './helpers/e2e-clients.js';
import { startSpip, type SpipEvent } from './helpers/spip-process.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

async function curlSourcePort(args: string[]): Promise<number> {
  const res = await runClient('curl', ['-sS', '--max-time', '10', '-w', '%{stderr}port=%{local_port}\n', ...args]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, '127.0.0.1');
  return Number(/port=(\d+)/.exec(res.stderr)?.[1]);
}

/** Values of one tshark field per client source port, from frames sent to `ports`. */
function bySourcePort(rows: string[][], ports: number[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [src = '', dst = '', ...values] of rows) {
    if (!ports.includes(Number(dst))) continue;
    const list = out.get(Number(src)) ?? [];
    list.push(...values.filter((v) => v !== ''));
    out.set(Number(src), list);
  }
  return out;
}

test('Community ID, JA3 and HASSH agree with tshark for the same connections', { skip: missing('tshark', 'curl', 'openssl', 'ssh'), timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spip-e2e-capture-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  // Without a certificate every TLS client stops at its ClientHello; the second sensor
  // terminates TLS, which takes the other path to the same fingerprints.
  const plain = await startSpip('read_timeout_seconds = 1');
  cleanup.push(() => plain.stop());
  const terminating = await startSpip('tls_self_signed = true');
  cleanup.push(() => terminating.stop());
  const ports = [plain.port, terminating.port];

  const file = join(dir, 'spip.pcapng');
  const capture = await LoopbackCapture.start(`tcp port ${plain.port} or tcp port ${terminating.port}`, file);
  if (typeof capture === 'string') {
    t.skip(capture);
    return;
  }
  cleanup.push(() => capture.stop());

  const httpPort = await curlSourcePort(['-A', 'tshark-check', `http://127.0.0.1:${plain.port}/capture`]);
  const httpsPort = await curlSourcePort(['-k', '--resolve', `cap.e2e.test:${terminating.port}:127.0.0.1`, `https://cap.e2e.test:${terminating.port}/capture`]);
  for (const [flag, name] of [['-tls1_2', 'cap12.e2e.test'], ['-tls1_3', 'cap13.e2e.test']] as const) {
    await runClient('openssl', ['s_client', '-connect', `127.0.0.1:${plain.port}`, '-servername', name, '-alpn', 'http/1.1', flag], { timeoutMs: 15_000 });
  }
  await runClient('ssh', ['-p', String(plain.port), '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', 'x@127.0.0.1', 'true'], { timeoutMs: 15_000 });

  const events = await plain.until(() => (plain.events.length >= 4 && terminating.events.length >= 1 ? [...plain.events, ...terminating.events] : undefined), 'five events');
  assert.equal(events.length, 5);
  await capture.waitForEnds(events.map((e) => e.source.port as number));
  await capture.stop();

  const rows = await readFields(file, ['tcp.srcport', 'tcp.dstport', 'communityid'], { extraArgs: ['--enable-protocol', 'communityid', '-o', 'communityid.seed:0'] });
  const tlsRows = await readFields(file, ['tcp.srcport', 'tcp.dstport', 'tls.handshake.ja3', 'tls.handshake.ja3_full'], { displayFilter: 'tls.handshake.type == 1' });
  // tshark only decodes SSH on port 22 unless told otherwise.
  const sshRows = await readFields(file, ['tcp.srcport', 'tcp.dstport', 'ssh.kex.hassh', 'ssh.kex.hassh_algorithms'], { displayFilter: 'ssh.kex.hassh', extraArgs: ['-d', `tcp.port==${plain.port},ssh`] });

  const communityIds = bySourcePort(rows, ports);
  const event = (port: number): SpipEvent => {
    const found = events.find((e) => e.source.port === port);
    assert.ok(found, `an event from source port ${port}`);
    return found;
  };

  // Every connection tshark saw is one event, with the Community ID tshark computes.
  assert.deepEqual([...communityIds.keys()].sort(), events.map((e) => e.source.port as number).sort());
  for (const e of events) {
    const seen = new Set(communityIds.get(e.source.port));
    assert.deepEqual([...seen], [e.network.community_id], `Community ID of source port ${e.source.port}`);
  }
  t.diagnostic(`community_id: ${events.length} connections agree (${events.map((e) => `${e.event.action} ${e.network.community_id}`).join('; ')})`);

  // Every ClientHello on the wire, fingerprinted by both.
  const helloPorts = tlsRows.map((r) => Number(r[0]));
  assert.deepEqual(helloPorts.sort(), events.filter((e) => e.tls !== undefined).map((e) => e.source.port as number).sort());
  assert.ok(helloPorts.includes(httpsPort));
  for (const [src = '', , ja3 = '', ja3Full = ''] of tlsRows) {
    const e = event(Number(src));
    assert.equal(e.tls.client.ja3, ja3, `JA3 of source port ${src}`);
    assert.equal(e.tls.client.ja3_string, ja3Full, `JA3 string of source port ${src}`);
    t.diagnostic(`ja3: ${e.event.action} ${e.tls.client.server_name}: ${ja3} agrees`);
  }

  assert.equal(sshRows.length, 1, 'one KEXINIT');
  const [sshSrc = '', , hassh = '', algorithms = ''] = sshRows[0] ?? [];
  const sshEvent = event(Number(sshSrc));
  assert.equal(sshEvent.event.action, 'ssh');
  assert.equal(sshEvent.ssh.client.hash.hassh, hassh);
  assert.equal(sshEvent.ssh.client.hassh_algorithms, algorithms);
  t.diagnostic(`hassh: ${hassh} agrees`);

  assert.equal(event(httpPort).event.action, 'http');
});
