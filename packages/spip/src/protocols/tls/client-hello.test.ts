import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../../test/helpers/pcap.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, parseClientHello, probeClientHello, tlsVersionName, type ClientHello } from './client-hello.js';
import {
  alpnExtension,
  buildClientHello,
  ecPointFormatsExtension,
  emptyExtension,
  sniExtension,
  supportedVersionsExtension,
  u16ListExtension,
  type HelloSpec,
} from './hello-builder.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/ja4/', import.meta.url));

function hellosIn(client: Uint8Array): ClientHello[] {
  // Later hellos (after a HelloRetryRequest) follow a ChangeCipherSpec record.
  const out: ClientHello[] = [];
  let pos = 0;
  while (pos + 5 <= client.length) {
    if (client[pos] === 0x16 && client[pos + 5] === 1) {
      const parsed = parseClientHello(client.subarray(pos));
      if (parsed.ok) {
        out.push(parsed.hello);
        pos += parsed.length;
        continue;
      }
    }
    pos += 5 + ((client[pos + 3]! << 8) | client[pos + 4]!);
  }
  return out;
}

function firstHello(pcap: string, stream = 0): Uint8Array {
  const client = readTcpStreams(join(fixtures, 'pcap', pcap))[stream]!.client;
  const probe = probeClientHello(client);
  assert.equal(probe.kind, 'complete');
  return client.subarray(0, probe.kind === 'complete' ? probe.length : 0);
}

function parsed(buf: Uint8Array): ClientHello {
  const result = parseClientHello(buf);
  if (!result.ok) assert.fail(result.error);
  return result.hello;
}

function errorOf(buf: Uint8Array): string {
  const result = parseClientHello(buf);
  assert.equal(result.ok, false, 'expected a parse error');
  return result.ok ? '' : result.error;
}

const baseSpec: HelloSpec = {
  ciphers: [0x0a0a, 0x1301, 0x1302, 0xc02b],
  extensions: [
    sniExtension('example.com'),
    alpnExtension(['h2', 'http/1.1']),
    supportedVersionsExtension([0x2a2a, 0x0304, 0x0303]),
    u16ListExtension(0x000d, [0x0403, 0x0804]),
    u16ListExtension(0x000a, [0x001d, 0x0017]),
    ecPointFormatsExtension([0]),
  ],
};

test('a Firefox ClientHello from tls12.pcap parses completely', () => {
  const bytes = firstHello('tls12.pcap');
  const result = parseClientHello(bytes);
  assert.ok(result.ok);
  assert.equal(result.length, bytes.length);
  const h = result.hello;
  assert.equal(h.recordVersion, 0x0301);
  assert.equal(h.legacyVersion, 0x0303);
  assert.equal(h.random.length, 32);
  assert.equal(h.sessionId.length, 32);
  assert.deepEqual(h.compressionMethods, [0]);
  assert.equal(h.serverName, 'contile.services.mozilla.com');
  assert.deepEqual(h.alpnStrings, ['h2', 'http/1.1']);
  assert.deepEqual(h.alpn.map((a) => Array.from(a)), [[0x68, 0x32], [...Buffer.from('http/1.1')]]);
  assert.deepEqual(h.supportedVersions, [0x0304, 0x0303]);
  assert.equal(h.ciphers.length, 17);
  assert.equal(h.ciphers[0], 0x1301);
  assert.ok(h.signatureAlgorithms.includes(0x0403));
  assert.deepEqual(h.supportedGroups.slice(0, 2), [0x001d, 0x0017]);
  assert.deepEqual(h.ecPointFormats, [0]);
});

test('every TLS stream of the reference captures parses, with the SNI the reference reports', () => {
  let checked = 0;
  for (const pcap of ['badcurveball.pcap', 'tls-alpn-h2.pcap', 'tls-handshake.pcapng', 'tls-non-ascii-alpn.pcapng', 'tls-sni.pcapng', 'tls12.pcap']) {
    const streams = readTcpStreams(join(fixtures, 'pcap', pcap));
    const expected = JSON.parse(readFileSync(join(fixtures, 'expected', `${pcap}.json`), 'utf8')) as Record<string, unknown>[];
    for (const e of expected) {
      const hellos = hellosIn(streams[e['stream'] as number]!.client);
      const count = Object.keys(e).filter((k) => /^JA4\.\d+$/.test(k)).length;
      assert.equal(hellos.length, count, `${pcap} stream ${e['stream']}`);
      for (const h of hellos) assert.equal(h.serverName, e['domain'], `${pcap} stream ${e['stream']}`);
      checked += hellos.length;
    }
  }
  assert.equal(checked, 132);
});

test('a TLS 1.2-only client (tls-alpn-h2) has no supported_versions', () => {
  const h = parsed(firstHello('tls-alpn-h2.pcap'));
  assert.equal(h.legacyVersion, 0x0303);
  assert.deepEqual(h.supportedVersions, []);
  assert.equal(h.serverName, 'www.cloudflare.com');
  assert.deepEqual(h.alpnStrings, ['h2', 'http/1.1']);
  assert.deepEqual(h.extensions, [0x0000, 0x000b, 0x000a, 0x000d, 0x0010]);
});

test('probe: every proper prefix needs more, the whole hello is complete, later bytes are left alone', () => {
  const bytes = firstHello('badcurveball.pcap');
  for (let n = 0; n < bytes.length; n++) {
    assert.deepEqual(probeClientHello(bytes.subarray(0, n)), { kind: 'need-more', have: n });
  }
  assert.deepEqual(probeClientHello(bytes), { kind: 'complete', length: bytes.length });
  const withAppData = Uint8Array.from([...bytes, 0x17, 0x03, 0x03, 0x00, 0x01, 0xff]);
  assert.deepEqual(probeClientHello(withAppData), { kind: 'complete', length: bytes.length });
  const result = parseClientHello(withAppData);
  assert.ok(result.ok);
  assert.equal(result.length, bytes.length);
});

test('probe: other protocols are recognised from their first bytes', () => {
  const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
  assert.deepEqual(probeClientHello(ascii('GET / HTTP/1.1\r\n')), { kind: 'not-tls' });
  assert.deepEqual(probeClientHello(ascii('SSH-2.0-OpenSSH_9.6\r\n')), { kind: 'not-tls' });
  // SSLv2-compatible hello and a wrong record major version.
  assert.deepEqual(probeClientHello(Uint8Array.from([0x80, 0x2e, 0x01, 0x03, 0x01])), { kind: 'not-tls' });
  assert.deepEqual(probeClientHello(Uint8Array.from([0x16, 0x02])), { kind: 'not-tls' });
  // A ServerHello (type 2) is a handshake record but not a ClientHello.
  assert.deepEqual(probeClientHello(Uint8Array.from([0x16, 0x03, 0x03, 0x00, 0x40, 0x02])), { kind: 'not-tls' });
  assert.deepEqual(probeClientHello(Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x00])), { kind: 'not-tls' });
  assert.deepEqual(probeClientHello(Uint8Array.from([0x16])), { kind: 'need-more', have: 1 });
  assert.deepEqual(probeClientHello(Uint8Array.from([0x16, 0x03, 0x01, 0x02])), { kind: 'need-more', have: 4 });
  assert.deepEqual(probeClientHello(new Uint8Array(0)), { kind: 'need-more', have: 0 });
});

test('probe: a hello announcing more than maxBytes is refused as soon as its length is visible', () => {
  // A 16 MiB handshake length inside a maximum-size record: 9 bytes are enough to know.
  const header = Uint8Array.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff]);
  assert.deepEqual(probeClientHello(header), { kind: 'too-large' });
  const bytes = buildClientHello(baseSpec);
  assert.deepEqual(probeClientHello(bytes, bytes.length - 1), { kind: 'too-large' });
  assert.deepEqual(probeClientHello(bytes, bytes.length), { kind: 'complete', length: bytes.length });
  // Endless one-byte records that never finish the message stop at the limit.
  const dribble = buildClientHello({ ...baseSpec, maxRecordPayload: 1 });
  assert.deepEqual(probeClientHello(dribble, 200), { kind: 'too-large' });
  assert.equal(DEFAULT_MAX_CLIENT_HELLO_BYTES, 65556);
});

test('a hello split over many records, even inside its 4-byte header, is reassembled', () => {
  const whole = parsed(buildClientHello(baseSpec));
  for (const size of [1, 2, 3, 5, 17, 100]) {
    const bytes = buildClientHello({ ...baseSpec, maxRecordPayload: size });
    assert.deepEqual(probeClientHello(bytes), { kind: 'complete', length: bytes.length });
    const result = parseClientHello(bytes);
    assert.ok(result.ok, `record payload ${size}`);
    assert.deepEqual(result.hello, whole);
    assert.equal(result.length, bytes.length);
    for (let n = 0; n < bytes.length; n += 7) assert.equal(probeClientHello(bytes.subarray(0, n)).kind, 'need-more');
  }
});

test('the parsed fields follow the wire order, GREASE included', () => {
  const h = parsed(buildClientHello({ ...baseSpec, sessionId: Uint8Array.from([1, 2, 3]), legacyVersion: 0x0301, recordVersion: 0x0300 }));
  assert.equal(h.recordVersion, 0x0300);
  assert.equal(h.legacyVersion, 0x0301);
  assert.deepEqual(Array.from(h.sessionId), [1, 2, 3]);
  assert.deepEqual(h.ciphers, [0x0a0a, 0x1301, 0x1302, 0xc02b]);
  assert.deepEqual(h.extensions, [0x0000, 0x0010, 0x002b, 0x000d, 0x000a, 0x000b]);
  assert.equal(h.serverName, 'example.com');
  assert.deepEqual(h.supportedVersions, [0x2a2a, 0x0304, 0x0303]);
  assert.deepEqual(h.signatureAlgorithms, [0x0403, 0x0804]);
  assert.deepEqual(h.supportedGroups, [0x001d, 0x0017]);
  assert.deepEqual(h.ecPointFormats, [0]);
});

test('a hello without extensions (SSLv3 style) parses with empty lists', () => {
  const h = parsed(buildClientHello({ ciphers: [0x002f, 0x0035], legacyVersion: 0x0300 }));
  assert.deepEqual(h.extensions, []);
  assert.equal(h.serverName, undefined);
  assert.deepEqual(h.alpn, []);
  const empty = parsed(buildClientHello({ ciphers: [], extensions: [] }));
  assert.deepEqual(empty.ciphers, []);
  assert.deepEqual(empty.extensions, []);
});

test('duplicated extensions are all listed; the first copy supplies the content', () => {
  const h = parsed(
    buildClientHello({ ciphers: [0x1301], extensions: [sniExtension('first.example'), alpnExtension(['h2']), sniExtension('second.example'), alpnExtension(['x'])] }),
  );
  assert.deepEqual(h.extensions, [0x0000, 0x0010, 0x0000, 0x0010]);
  assert.equal(h.serverName, 'first.example');
  assert.deepEqual(h.alpnStrings, ['h2']);
});

test('SNI bytes outside printable ASCII are escaped; ALPN keeps raw bytes', () => {
  const h = parsed(
    buildClientHello({
      ciphers: [0x1301],
      extensions: [sniExtension('a b\\c\u00ff\n.example'), alpnExtension([Uint8Array.from([0xba, 0xad]), 'h2'])],
    }),
  );
  assert.equal(h.serverName, 'a\\x20b\\x5cc\\xff\\x0a.example');
  assert.deepEqual(Array.from(h.alpn[0]!), [0xba, 0xad]);
  assert.deepEqual(h.alpnStrings, ['\u00ba\u00ad', 'h2']);
  // An empty SNI extension, as servers send it, means no name rather than an error.
  assert.equal(parsed(buildClientHello({ ciphers: [0x1301], extensions: [emptyExtension(0)] })).serverName, undefined);
});

test('parsed byte fields are copies that outlive the input buffer', () => {
  const bytes = buildClientHello({ ...baseSpec, random: new Uint8Array(32).fill(7), sessionId: Uint8Array.from([9]) });
  const h = parsed(bytes);
  bytes.fill(0);
  assert.equal(h.random[0], 7);
  assert.equal(h.sessionId[0], 9);
  assert.equal(h.alpnStrings[0], 'h2');
  assert.equal(h.alpn[0]![0], 0x68);
});

// Offsets below assume a single record: 5 record + 4 handshake header bytes.
function withExtensions(extensions: { type: number; data: number[] }[]): Uint8Array {
  return buildClientHello({ ciphers: [0x1301], extensions: extensions.map((e) => ({ type: e.type, data: Uint8Array.from(e.data) })) });
}

test('malformed hellos are reported with the field that is wrong', () => {
  const alpn = alpnExtension(['http/1.1']);
  const bytes = buildClientHello({ ciphers: [0x1301], extensions: [alpn] });
  const lengthAt = bytes.length - alpn.data.length - 2;
  bytes[lengthAt] = 0x01;
  bytes[lengthAt + 1] = 0x2c;
  assert.equal(errorOf(bytes), `extension 0x0010 length 300 exceeds remaining ${alpn.data.length} bytes`);

  const odd = buildClientHello({ ciphers: [0x1301] });
  // cipher_suites length 2 → 3, which also shifts everything after it.
  odd[5 + 4 + 2 + 32 + 1 + 1] = 3;
  assert.match(errorOf(odd), /^cipher_suites length 3 is odd$/);

  const full = buildClientHello(baseSpec);
  assert.equal(errorOf(full.subarray(0, full.length - 1)), `TLS record at offset 0 length ${full.length - 5} exceeds remaining ${full.length - 6} bytes`);
  assert.equal(errorOf(Uint8Array.from(Buffer.from('GET / HTTP/1.1\r\n'))), 'first byte 0x47 is not a TLS handshake record (0x16)');
  assert.equal(errorOf(Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])), 'handshake type 2 is not ClientHello (1)');
  assert.equal(errorOf(new Uint8Array(0)), 'no bytes');

  // The handshake header claims more body than the records carry so far.
  const short = Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x50, 0x03, 0x03]);
  assert.equal(errorOf(short), 'ClientHello truncated: 6 of 84 handshake bytes present');
  assert.deepEqual(probeClientHello(short), { kind: 'need-more', have: short.length });
  // A complete handshake message whose body is too short for a ClientHello.
  const tiny = Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03]);
  assert.equal(errorOf(tiny), 'random length 32 exceeds remaining 0 bytes');
});

test('inner extension structures are checked against their declared lengths', () => {
  assert.equal(
    errorOf(withExtensions([{ type: 0x0010, data: [0x00, 0x05, 0x02, 0x68, 0x32, 0x09, 0x68] }])),
    'extension 0x0010 protocol_name length 9 exceeds remaining 1 bytes',
  );
  assert.equal(
    errorOf(withExtensions([{ type: 0x0010, data: [0x00, 0x09, 0x02, 0x68, 0x32] }])),
    'extension 0x0010 protocol_name_list length 9 exceeds remaining 3 bytes',
  );
  assert.equal(errorOf(withExtensions([{ type: 0x002b, data: [0x03, 0x03, 0x04, 0x03] }])), 'extension 0x002b versions length 3 is odd');
  assert.equal(
    errorOf(withExtensions([{ type: 0x0000, data: [0x00, 0x04, 0x00, 0x00, 0x05, 0x61] }])),
    'extension 0x0000 host_name length 5 exceeds remaining 1 bytes',
  );
  assert.equal(errorOf(withExtensions([{ type: 0x000a, data: [0x00, 0x02, 0x00, 0x1d, 0xff] }])), '1 unexpected bytes after extension 0x000a named_group_list');
  assert.equal(errorOf(withExtensions([{ type: 0x000b, data: [0x05, 0x00] }])), 'extension 0x000b ec_point_format_list length 5 exceeds remaining 1 bytes');
  assert.equal(errorOf(withExtensions([{ type: 0x000d, data: [0x00] }])), 'extension 0x000d supported_signature_algorithms truncated: needs 2 bytes, 1 remaining');
});

test('bytes after the extensions block, or an extensions block that overruns, are errors', () => {
  const bytes = buildClientHello({ ciphers: [0x1301], extensions: [emptyExtension(0x0017)] });
  // Grow the record and handshake lengths by one and append a stray byte.
  const grown = Uint8Array.from([...bytes, 0xee]);
  grown[4] = grown[4]! + 1;
  grown[8] = grown[8]! + 1;
  assert.equal(errorOf(grown), '1 unexpected bytes after extensions');
  const overrun = Uint8Array.from(bytes);
  overrun[overrun.length - 5] = 0x09;
  assert.equal(errorOf(overrun), 'extensions length 9 exceeds remaining 4 bytes');
  const half = buildClientHello({ ciphers: [0x1301], extensions: [] });
  const stub = Uint8Array.from([...half.subarray(0, half.length - 2), 0x00]);
  stub[4] = stub[4]! - 1;
  stub[8] = stub[8]! - 1;
  assert.equal(errorOf(stub), 'extensions truncated: needs 2 bytes, 1 remaining');
});

test('a continuation record of another content type ends the hello as not TLS', () => {
  const bytes = buildClientHello({ ...baseSpec, maxRecordPayload: 50 });
  const broken = Uint8Array.from(bytes);
  broken[55] = 0x17;
  assert.deepEqual(probeClientHello(broken), { kind: 'not-tls' });
  assert.equal(errorOf(broken), 'record at offset 55 has content type 0x17, not handshake (0x16), before the ClientHello ended');
});

test('tlsVersionName names the versions Spip reports', () => {
  assert.equal(tlsVersionName(0x0304), 'TLSv1.3');
  assert.equal(tlsVersionName(0x0303), 'TLSv1.2');
  assert.equal(tlsVersionName(0x0302), 'TLSv1.1');
  assert.equal(tlsVersionName(0x0301), 'TLSv1.0');
  assert.equal(tlsVersionName(0x0300), 'SSLv3');
  assert.equal(tlsVersionName(0xfefd), 'DTLSv1.2');
  assert.equal(tlsVersionName(0x7f1c), '0x7f1c');
  assert.equal(tlsVersionName(0x0a0a), '0x0a0a');
});
