import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mapZeekRecord } from './map.js';
import type { ZeekLog } from './logs.js';

// Tests run from packages/loom/dist/src/sources/zeek; the fixtures live in packages/loom/test.
const fixtures = new URL('../../../../test/fixtures/zeek/', import.meta.url);
const origin = { sensor: 'zeek-01' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function events(log: ZeekLog): Json[] {
  return readFileSync(new URL(`${log}.log`, fixtures), 'utf8').trim().split('\n').map((line) => {
    const result = mapZeekRecord(log, JSON.parse(line), origin);
    assert.ok(result.ok, line);
    return result.event;
  });
}

test('conn.log: tuple, bytes and packets per side, duration, direction, state, Community ID kept or computed', () => {
  const [dns, tls, scan, icmp, ssh] = events('conn');
  assert.deepEqual(dns, {
    '@timestamp': '2024-08-11T04:40:00.456789Z',
    event: { kind: 'event', category: ['network'], type: ['connection', 'end'], module: 'zeek', dataset: 'zeek.conn', duration: 25_013_000 },
    source: { ip: '10.1.2.3', port: 55342, bytes: 106, packets: 1 },
    destination: { ip: '8.8.8.8', port: 53, bytes: 284, packets: 1 },
    network: { type: 'ipv4', protocol: 'dns', bytes: 390, packets: 2, direction: 'outbound', transport: 'udp', iana_number: '17', community_id: '1:Vw98gOKLTDGesQx6BzxHw1Z2u9k=' },
    observer: { name: 'zeek-01', product: 'zeek' },
    zeek: {
      session_id: 'CHhAvVGS1DHFjwGM9',
      conn: { orig_bytes: 78, resp_bytes: 256, conn_state: 'SF', local_orig: true, local_resp: false, missed_bytes: 0, history: 'Dd', ip_proto: 17 },
    },
  });
  // Zeek's own community_id is kept; it equals what Loom computes for the same tuple.
  assert.equal(tls?.network.community_id, '1:vz0pOLYyDmPZUBEyTbwADkmcXoI=');
  const { community_id: _given, ...withoutId } = JSON.parse(readFileSync(new URL('conn.log', fixtures), 'utf8').split('\n')[1] as string) as Record<string, unknown>;
  const computed = mapZeekRecord('conn', withoutId, origin);
  assert.ok(computed.ok);
  assert.equal((computed.event.network as Record<string, unknown>).community_id, tls?.network.community_id);
  assert.deepEqual(scan?.event.type, ['connection', 'start']);
  assert.equal(scan?.network.direction, 'inbound');
  // ICMPv6: Zeek's "ports" are the message type and code.
  assert.equal(icmp?.network.transport, 'ipv6-icmp');
  assert.equal(icmp?.network.iana_number, '58');
  assert.equal(icmp?.source.port, undefined);
  assert.deepEqual(icmp?.zeek.conn.icmp, { type: 135, code: 0 });
  assert.match(icmp?.network.community_id, /^1:/);
  assert.equal(ssh?.source.mac, '00-0C-29-3E-5D-11');
  assert.equal(ssh?.network.direction, 'internal');
});

test('dns.log: question, answers with TTLs, resolved addresses, flags, response code', () => {
  const [a, cname, nx] = events('dns');
  assert.deepEqual(a?.dns, {
    id: '41223',
    question: { name: 'example.com', class: 'C_INTERNET', type: 'A' },
    response_code: 'NOERROR',
    header_flags: ['RD', 'RA'],
    answers: [{ data: '93.184.216.34', ttl: 3600 }],
    resolved_ip: ['93.184.216.34'],
    type: 'answer',
  });
  assert.equal(a?.network.protocol, 'dns');
  assert.equal(a?.event.duration, 25_013_000);
  assert.deepEqual(a?.zeek.dns, { qclass: 1, qtype: 1, rcode: 0, Z: 0, rejected: false });
  assert.deepEqual(cname?.dns.resolved_ip, ['104.16.1.1', '104.16.2.1']);
  assert.equal(cname?.dns.answers.length, 3);
  assert.equal(nx?.dns.response_code, 'NXDOMAIN');
  assert.equal(nx?.dns.answers, undefined);
  assert.equal(nx?.network.type, 'ipv6');
});

test('ssl.log: version, cipher, SNI, certificate names, JA3/JA3S/JA4; TCP implied for the Community ID', () => {
  const [tls13, tls12] = events('ssl');
  assert.deepEqual(tls13?.tls, { version: '1.3', version_protocol: 'tls', cipher: 'TLS_AES_128_GCM_SHA256', curve: 'x25519', client: { server_name: 'example.com', ja4: 't13d1516h2_8daaf6152771_02713d6af862' }, resumed: false, established: true, next_protocol: 'h2' });
  assert.equal(tls13?.destination.domain, 'example.com');
  assert.equal(tls13?.network.transport, 'tcp');
  // The same connection as the conn.log line: the same Community ID.
  assert.equal(tls13?.network.community_id, '1:vz0pOLYyDmPZUBEyTbwADkmcXoI=');
  assert.equal(tls12?.tls.server.issuer, "CN=R3,O=Let's Encrypt,C=US");
  assert.equal(tls12?.tls.client.ja3, '771,49195-49199-52393,0-23-65281-10-11-35-16-5-13,29-23-24,0');
  assert.equal(tls12?.tls.server.ja3s, '771,49199,65281-0-11-35-16');
  assert.deepEqual(Object.keys(tls12?.zeek.ssl), ['ssl_history', 'cert_chain_fps', 'client_cert_chain_fps', 'sni_matches_cert', 'validation_status']);
});

test('http.log: method, URL parts, host and port, status, bodies, user agent, MIME types', () => {
  const [probe, login] = events('http');
  assert.deepEqual(probe?.url, { domain: '10.1.2.50', port: 80, original: '/cgi-bin/luci/;stok=/locale?form=country&operation=write', path: '/cgi-bin/luci/;stok=/locale', query: 'form=country&operation=write' });
  assert.deepEqual(probe?.http, { request: { method: 'GET', body: { bytes: 0 } }, version: '1.1', response: { body: { bytes: 162 }, status_code: 404, mime_type: 'text/html' } });
  assert.deepEqual(probe?.event.category, ['network', 'web']);
  assert.equal(probe?.user_agent.original, 'Go-http-client/1.1');
  assert.equal(login?.http.request.referrer, 'http://example.com/');
  assert.equal(login?.http.request.mime_type, 'application/x-www-form-urlencoded');
  assert.equal(login?.url.username, 'admin');
  assert.equal(login?.zeek.http.trans_depth, 2);
});

test('timestamps in ISO 8601 and milliseconds; invalid ts or addresses make the record invalid; odd types are kept', () => {
  const iso = mapZeekRecord('conn', { ts: '2024-08-11T04:40:00.456789Z', 'id.orig_h': '10.0.0.1' }, origin);
  assert.ok(iso.ok);
  assert.equal(iso.event['@timestamp'], '2024-08-11T04:40:00.456789Z');
  const millis = mapZeekRecord('conn', { ts: 1723351200456 }, origin);
  assert.ok(millis.ok);
  assert.equal(millis.event['@timestamp'], '2024-08-11T04:40:00.456Z');
  const bad = mapZeekRecord('dns', { 'id.orig_h': 'not-an-ip', 'id.resp_p': 99999 }, origin);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems.map((p) => p.field), ['ts', 'id.orig_h', 'id.resp_p']);
  const odd = mapZeekRecord('conn', { ts: 1723351200, duration: 'long', proto: 'unknown_transport' }, origin);
  assert.ok(odd.ok);
  assert.deepEqual(odd.event.zeek, { conn: { duration: 'long', proto: 'unknown_transport' } });
  const tailed = mapZeekRecord('conn', { ts: 1723351200 }, { sensor: 'x', file: { path: '/var/log/zeek/conn.log', offset: 420 } });
  assert.ok(tailed.ok);
  assert.deepEqual(tailed.event.log, { file: { path: '/var/log/zeek/conn.log' }, offset: 420 });
});
