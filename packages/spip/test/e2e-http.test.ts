import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityIdPattern, isoMillis, missing, runClient } from './helpers/e2e-clients.js';
import { startSpip, type SpipProcess } from './helpers/spip-process.js';

const running: SpipProcess[] = [];
after(async () => {
  for (const spip of running) await spip.stop();
});

async function spipWith(extra: string, options: { ports?: number } = {}): Promise<SpipProcess> {
  const spip = await startSpip(extra, options);
  running.push(spip);
  return spip;
}

/** curl with its own measurements on stderr, so the connection's source port and sizes are known. */
async function curl(args: string[]): Promise<{ body: string; sourcePort: number; requestBytes: number; responseBytes: number }> {
  const result = await runClient('curl', ['-sS', '--max-time', '10', '-w', '%{stderr}port=%{local_port} request=%{size_request} header=%{size_header} body=%{size_download}\n', ...args]);
  assert.equal(result.code, 0, `curl failed: ${result.stderr}`);
  const measured = /port=(\d+) request=(\d+) header=(\d+) body=(\d+)/.exec(result.stderr);
  assert.ok(measured, `curl measurements missing: ${result.stderr}`);
  const [, port, request, header, body] = measured.map(Number) as [number, number, number, number, number];
  return { body: result.stdout, sourcePort: port, requestBytes: request, responseBytes: header + body };
}

describe('curl against the real spip', { skip: missing('curl') }, () => {
  test('HTTP/1.1 request: answer and every request field', async () => {
    const spip = await spipWith('');
    const res = await curl(['-A', 'e2e-agent/1.0', `http://127.0.0.1:${spip.port}/path/x?q=1`]);
    assert.equal(res.body, '127.0.0.1');

    const e = await spip.eventFrom(res.sourcePort);
    assert.equal(e.event.action, 'http');
    assert.equal(e.network.protocol, 'http');
    assert.equal(e.http.request.method, 'GET');
    assert.equal(e.http.version, '1.1');
    assert.equal(e.url.original, '/path/x?q=1');
    assert.equal(e.url.path, '/path/x');
    assert.equal(e.url.query, 'q=1');
    assert.equal(e.url.domain, '127.0.0.1');
    assert.equal(e.url.port, spip.port);
    assert.equal(e.user_agent.original, 'e2e-agent/1.0');
    assert.deepEqual(e.http.request.headers, { host: `127.0.0.1:${spip.port}`, 'user-agent': 'e2e-agent/1.0', accept: '*/*' });
    assert.match(e.http.request.hash.ja4h, /^ge11n/);
    assert.equal(e.event.summary, undefined, 'HTTP events carry no summary');
    assert.match(e.network.community_id, communityIdPattern);
    assert.equal(e.source.ip, '127.0.0.1');
    assert.equal(e.destination.ip, '127.0.0.1');
    assert.equal(e.destination.port, spip.port);

    assert.match(e['@timestamp'], isoMillis);
    assert.match(e.event.start, isoMillis);
    assert.match(e.event.end, isoMillis);
    assert.equal(e['@timestamp'], e.event.start);
    assert.equal(e.event.duration, (Date.parse(e.event.end) - Date.parse(e.event.start)) * 1_000_000);

    // curl's own byte counts: what it wrote is what the sensor read, and the other way round.
    assert.ok(e.source.bytes > 0 && e.destination.bytes > 0);
    assert.equal(e.source.bytes, res.requestBytes);
    assert.equal(e.destination.bytes, res.responseBytes);
    assert.equal(e.network.bytes, res.requestBytes + res.responseBytes);
    assert.equal(Buffer.from(e.event.original_payload_hex, 'hex').toString('latin1'),
      `GET /path/x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${spip.port}\r\nUser-Agent: e2e-agent/1.0\r\nAccept: */*\r\n\r\n`);
  });

  // tls_self_signed makes its certificate with the openssl command.
  test('HTTPS with SNI and ALPN: the handshake and the decrypted request', { skip: missing('openssl') }, async () => {
    const spip = await spipWith('tls_self_signed = true');
    const res = await curl(['-k', '--resolve', `sni.e2e.test:${spip.port}:127.0.0.1`, `https://sni.e2e.test:${spip.port}/secure`]);
    assert.equal(res.body, '127.0.0.1');

    const e = await spip.eventFrom(res.sourcePort);
    assert.equal(e.event.action, 'http');
    assert.equal(e.network.protocol, 'http');
    assert.equal(e.tls.established, true);
    assert.equal(e.tls.client.server_name, 'sni.e2e.test');
    assert.ok(e.tls.client.supported_protocols.includes('h2'), 'curl offers h2');
    assert.ok(e.tls.client.supported_protocols.includes('http/1.1'), 'curl offers http/1.1');
    assert.match(e.tls.client.ja4, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
    assert.equal(e.tls.client.hash.ja4, e.tls.client.ja4);
    assert.equal(e.tls.next_protocol, 'http/1.1', 'the sensor offers only http/1.1');
    assert.equal(e.tls.version, '1.3');
    assert.equal(e.tls.version_protocol, 'tls');
    assert.match(e.tls.cipher, /^TLS_AES_/);
    assert.equal(e.url.path, '/secure');
    assert.equal(e.url.domain, 'sni.e2e.test');
    assert.equal(e.url.port, spip.port);
    assert.equal(e.http.request.method, 'GET');
    assert.match(e.user_agent.original, /^curl\//);
    assert.equal(Buffer.from(e.event.original_payload_hex, 'hex').toString('latin1').split('\r\n')[0], 'GET /secure HTTP/1.1', 'the payload is the decrypted request');
    // On the wire the sensor read the TLS records, more than the plaintext request.
    assert.ok(e.source.bytes > res.requestBytes);
    assert.match(e.network.community_id, communityIdPattern);
  });

  test('one process on several ports reports the port each client dialled', async () => {
    const spip = await spipWith('', { ports: 3 });
    assert.equal(new Set(spip.ports).size, 3);
    for (const port of spip.ports) {
      const res = await curl([`http://127.0.0.1:${port}/port/${port}`]);
      assert.equal(res.body, '127.0.0.1');
      const e = await spip.eventFrom(res.sourcePort);
      assert.equal(e.destination.port, port);
      assert.equal(e.url.path, `/port/${port}`);
      assert.equal(e.event.action, 'http');
    }
    const cids = spip.events.map((e) => e.network.community_id);
    assert.equal(new Set(cids).size, 3, 'each connection has its own Community ID');
  });
});
