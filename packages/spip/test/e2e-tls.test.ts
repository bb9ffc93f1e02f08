import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityIdPattern, md5, missing, runClient } from './helpers/e2e-clients.js';
import { startSpip, type SpipEvent, type SpipProcess } from './helpers/spip-process.js';

const running: SpipProcess[] = [];
after(async () => {
  for (const spip of running) await spip.stop();
});

function sClient(port: number, servername: string, version: '1.2' | '1.3', extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runClient('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-alpn', 'http/1.1', version === '1.2' ? '-tls1_2' : '-tls1_3', ...extra], { timeoutMs: 15_000 });
}

function eventFor(spip: SpipProcess, servername: string): Promise<SpipEvent> {
  return spip.until(() => spip.events.find((e) => e.tls?.client?.server_name === servername), `the event for SNI ${servername}`);
}

/**
 * The bytes s_client reports it wrote (`-msg`): its first TLS record header and the
 * ClientHello handshake message, as hex.
 */
function clientHelloFromMsg(output: string): string {
  const blocks: { title: string; hex: string }[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('>>> ') || line.startsWith('<<< ')) blocks.push({ title: line, hex: '' });
    else if (/^ {4}[0-9a-f]{2}( [0-9a-f]{2})*\s*$/.test(line) && blocks.length > 0) (blocks.at(-1) as { hex: string }).hex += line.replace(/\s+/g, '');
  }
  const header = blocks.find((b) => b.title.startsWith('>>> ') && b.title.includes('RecordHeader'));
  const hello = blocks.find((b) => b.title.startsWith('>>> ') && b.title.endsWith('ClientHello'));
  assert.ok(header && hello, `no ClientHello in s_client -msg output:\n${output.slice(0, 2000)}`);
  return header.hex + hello.hex;
}

/**
 * The protocol s_client negotiated: its SSL-Session block names it. A TLS 1.3 client may exit
 * before the session ticket that block describes; then the TLS 1.3-only suite on the "New," line
 * is the proof.
 */
function negotiatedProtocol(stdout: string): string | undefined {
  return /^\s+Protocol\s+: (\S+)$/m.exec(stdout)?.[1] ?? /^New, (TLSv1\.3), Cipher is TLS_/m.exec(stdout)?.[1];
}

const versions = [
  // OpenSSL 3 refuses TLS 1.0 and 1.1 at its default security level; the sensor accepts them on purpose.
  { version: '1.0', flag: '-tls1', openssl: 'TLSv1', ja3: 769, cipher: 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0', iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA' },
  { version: '1.1', flag: '-tls1_1', openssl: 'TLSv1.1', ja3: 770, cipher: 'ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0', iana: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA' },
  { version: '1.2', flag: '-tls1_2', openssl: 'TLSv1.2', ja3: 771, cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256', iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256' },
  { version: '1.3', flag: '-tls1_3', openssl: 'TLSv1.3', ja3: 771, ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256', iana: 'TLS_CHACHA20_POLY1305_SHA256' },
] as const;

describe('openssl s_client against a spip with a certificate', { skip: missing('openssl') }, () => {
  let spip: SpipProcess;
  before(async () => {
    spip = await startSpip('tls_self_signed = true');
    running.push(spip);
  });

  for (const v of versions) {
    test(`TLS ${v.version}: version, cipher and ALPN as s_client negotiated them`, async () => {
      const servername = `v${v.version.replace('.', '')}.e2e.test`;
      const choice = 'ciphersuites' in v ? ['-ciphersuites', v.ciphersuites] : ['-cipher', v.cipher];
      const res = await runClient('openssl', ['s_client', '-connect', `127.0.0.1:${spip.port}`, '-servername', servername, '-alpn', 'http/1.1', v.flag, ...choice], { timeoutMs: 15_000 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(negotiatedProtocol(res.stdout), v.openssl);
      assert.match(res.stdout, /^ALPN protocol: http\/1\.1$/m);

      const e = await eventFor(spip, servername);
      assert.equal(e.event.action, 'tls-handshake');
      assert.equal(e.network.protocol, 'tls');
      assert.equal(e.tls.established, true);
      assert.equal(e.tls.version, v.version);
      assert.equal(e.tls.version_protocol, 'tls');
      assert.equal(e.tls.client.version, `TLSv${v.version}`);
      assert.equal(e.tls.cipher, v.iana);
      assert.equal(e.tls.client.cipher, v.iana);
      assert.equal(e.tls.next_protocol, 'http/1.1');
      assert.deepEqual(e.tls.client.supported_protocols, ['http/1.1']);
      assert.equal(e.tls.client.offered_version, `TLSv${v.version}`);
      assert.match(e.tls.client.ja4, new RegExp(`^t1${v.version.at(-1)}d\\d{4}h1_[0-9a-f]{12}_[0-9a-f]{12}$`));
      assert.equal(e.tls.client.ja3, md5(e.tls.client.ja3_string));
      assert.ok(e.tls.client.ja3_string.startsWith(`${v.ja3},`), e.tls.client.ja3_string);
      assert.equal(e.event.original_payload_hex, undefined, 's_client sent no application data');
      assert.match(e.network.community_id, communityIdPattern);
    });
  }
});

describe('openssl s_client against a spip without a certificate', { skip: missing('openssl') }, () => {
  let spip: SpipProcess;
  before(async () => {
    // s_client waits for a ServerHello that never comes; the sensor ends the connection after this.
    spip = await startSpip('read_timeout_seconds = 1');
    running.push(spip);
  });

  for (const version of ['1.2', '1.3'] as const) {
    test(`TLS ${version} ClientHello only: JA4, JA3 and SNI are kept, with the exact bytes`, async () => {
      const servername = `hello${version.replace('.', '')}.e2e.test`;
      const res = await sClient(spip.port, servername, version, ['-msg']);
      assert.notEqual(res.code, 0, 'no handshake without a certificate');
      const sent = clientHelloFromMsg(res.stdout);

      const e = await eventFor(spip, servername);
      assert.equal(e.event.action, 'tls-clienthello-only');
      assert.equal(e.network.protocol, 'tls');
      assert.equal(e.tls.established, false);
      assert.equal(e.tls.version, undefined);
      assert.match(e.tls.client.ja4, new RegExp(`^t1${version.at(-1)}d\\d{4}h1_[0-9a-f]{12}_[0-9a-f]{12}$`));
      assert.equal(e.tls.client.hash.ja4, e.tls.client.ja4);
      assert.match(e.tls.client.ja3, /^[0-9a-f]{32}$/);
      assert.equal(e.tls.client.ja3, md5(e.tls.client.ja3_string));
      assert.match(e.tls.client.ja3_string, /^771,[\d-]+,[\d-]+,[\d-]*,[\d-]*$/);
      assert.deepEqual(e.tls.client.supported_protocols, ['http/1.1']);
      assert.equal(e.tls.client.offered_version, `TLSv${version}`);
      assert.equal(e.event.original_payload_hex, sent, 'the payload is the ClientHello record s_client wrote');
      assert.equal(e.source.bytes, sent.length / 2);
      assert.equal(e.destination.bytes, 0);
      assert.match(e.network.community_id, communityIdPattern);
    });
  }
});
