import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../test/helpers/pcap.js';
import { parseClientHello, type ClientHello } from '../protocols/tls/client-hello.js';
import { buildClientHello, ecPointFormatsExtension, emptyExtension, sniExtension, u16ListExtension, type HelloSpec } from '../protocols/tls/hello-builder.js';
import { ja3 } from './ja3.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/ja4/', import.meta.url));

function parse(bytes: Uint8Array): ClientHello {
  const result = parseClientHello(bytes);
  if (!result.ok) assert.fail(result.error);
  return result.hello;
}

function hello(spec: HelloSpec): ClientHello {
  return parse(buildClientHello(spec));
}

test('the JA3 README example, with GREASE added everywhere it can appear', () => {
  const h = hello({
    legacyVersion: 769,
    ciphers: [0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [sniExtension('example.com'), emptyExtension(0x2a2a), u16ListExtension(10, [0x1a1a, 23, 24, 25]), ecPointFormatsExtension([0])],
  });
  assert.deepEqual(ja3(h), {
    ja3: '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0',
    ja3_hash: 'ada70206e40642a3e4461f35503241d5',
  });
});

test('absent lists leave their fields empty', () => {
  assert.deepEqual(ja3(hello({ legacyVersion: 0x0300, ciphers: [] })), {
    ja3: '768,,,,',
    ja3_hash: 'ba12b548d225aa7163af96c47205964e',
  });
});

test('Firefox in tls12.pcap has the well-known Firefox JA3', () => {
  const client = readTcpStreams(join(fixtures, 'pcap', 'tls12.pcap'))[0]!.client;
  const fp = ja3(parse(client));
  assert.equal(
    fp.ja3,
    '771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-156-157-47-53,0-23-65281-10-11-35-16-5-34-51-43-13-45-28-21,29-23-24-25-256-257,0',
  );
  assert.equal(fp.ja3_hash, '579ccef312d18482fc42e2b822ca2430');
});

test('a TLS 1.2 client with a long cipher list (tls-alpn-h2.pcap)', () => {
  const client = readTcpStreams(join(fixtures, 'pcap', 'tls-alpn-h2.pcap'))[0]!.client;
  const fp = ja3(parse(client));
  assert.equal(fp.ja3_hash, '3faa4ad39f690c4ef1c3160caa375465');
  assert.match(fp.ja3, /^771,49200-49196-.*-255,0-11-10-13-16,29-23-24,0$/);
});
