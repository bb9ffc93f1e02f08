import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { actions, communityIdPattern, exchange, missing, runClient } from './helpers/e2e-clients.js';
import { startSpip, type SpipProcess } from './helpers/spip-process.js';

let spip: SpipProcess | undefined;
after(async () => {
  await spip?.stop();
});

test('nmap -sV service detection: nmap finishes, spip stays up, every probe is an event', { skip: missing('nmap', 'openssl'), timeout: 90_000 }, async () => {
  // nmap calls a port "tcpwrapped" and stops probing when it is closed within 3 s of a silent
  // connect (tcpwrappedms of its NULL probe); a 4 s first-byte timeout lets the scan go on, a
  // 1 s read timeout keeps it short.
  spip = await startSpip('tls_self_signed = true\nfirst_byte_timeout_seconds = 4\nread_timeout_seconds = 1');
  const port = spip.port;
  const res = await runClient('nmap', ['-sV', '--version-light', '-Pn', '-n', '-p', String(port), '127.0.0.1'], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, new RegExp(`^${port}/tcp\\s+open\\s`, 'm'));
  assert.match(res.stdout, /Nmap done: 1 IP address \(1 host up\)/);

  assert.equal(spip.exitCode, undefined, 'spip is still running');
  const probe = await exchange(port, 'still there?\n', { replyBytes: '127.0.0.1'.length });
  assert.equal(probe.reply, '127.0.0.1');

  // nmap has closed every connection by the time it exits, so their events precede this one's.
  await spip.eventFrom(probe.sourcePort);
  const running = spip;
  const scanned = running.events.filter((e) => e.source.port !== probe.sourcePort);
  assert.ok(scanned.length >= 3, `several events from the scan, got ${scanned.length}`);
  for (const e of scanned) {
    assert.ok(actions.has(e.event.action), `valid action ${e.event.action}`);
    assert.match(e.network.community_id, communityIdPattern);
    assert.equal(e.destination.port, port);
    assert.equal(e.source.ip, '127.0.0.1');
  }
  const seen = new Set(scanned.map((e) => e.event.action));
  assert.ok(seen.has('timeout'), `the silent NULL probe is closed by the first-byte timeout; saw ${[...seen].join(', ')}`);
  assert.ok(seen.has('http'), `nmap's GetRequest probe is an http event; saw ${[...seen].join(', ')}`);
  assert.ok([...seen].some((a) => a.startsWith('tls-')), `nmap's TLS probes are tls events; saw ${[...seen].join(', ')}`);
  assert.ok(scanned.some((e) => e.tls?.established === true), 'nmap repeats its probes inside TLS once it has found TLS');
  assert.equal(new Set(scanned.map((e) => e.network.community_id)).size, scanned.length, 'one Community ID per connection');
  assert.equal(running.logs.filter((l) => l.level === 'error').length, 0, running.stderrText);
});
