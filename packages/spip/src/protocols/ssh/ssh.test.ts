import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../../test/helpers/pcap.js';
import { MAX_PACKET_LENGTH, parseKexInit, parseSshIdentification, type KexInit } from './ssh.js';
import { buildKexInitPacket } from './kexinit-builder.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/ja4/', import.meta.url));
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function ident(text: string): ReturnType<typeof parseSshIdentification> {
  return parseSshIdentification(bytes(text));
}

test('identification lines', () => {
  assert.deepEqual(ident('SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n'), {
    ident: { raw: 'SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5', protoVersion: '2.0', softwareVersion: 'OpenSSH_7.6p1', comments: 'Ubuntu-4ubuntu0.5' },
    length: 41,
  });
  assert.deepEqual(ident('SSH-1.99-OpenSSH_3.9p1\n'), {
    ident: { raw: 'SSH-1.99-OpenSSH_3.9p1', protoVersion: '1.99', softwareVersion: 'OpenSSH_3.9p1', comments: undefined },
    length: 23,
  });
  assert.deepEqual(ident('SSH-2.0-Go\r\n\x00\x00'), { ident: { raw: 'SSH-2.0-Go', protoVersion: '2.0', softwareVersion: 'Go', comments: undefined }, length: 12 });
  assert.deepEqual(ident('SSH-2.0-a-b c d \r\n'), { ident: { raw: 'SSH-2.0-a-b c d ', protoVersion: '2.0', softwareVersion: 'a-b', comments: 'c d ' }, length: 18 });
  assert.deepEqual(ident('SSH-2.0\r\n'), { ident: { raw: 'SSH-2.0', protoVersion: '2.0', softwareVersion: '', comments: undefined }, length: 9 });
  assert.deepEqual(ident('SSH-2.0 x\r\n'), { ident: { raw: 'SSH-2.0 x', protoVersion: '2.0', softwareVersion: '', comments: 'x' }, length: 11 });
  assert.equal(ident('SSH-\r\n'), undefined);
  assert.equal(ident('SSH--x\r\n'), undefined);
});

test('identification: partial input asks for more, over-long lines are refused', () => {
  const line = 'SSH-2.0-OpenSSH_8.9p1\r\n';
  for (let cut = 0; cut < line.length; cut++) assert.equal(ident(line.slice(0, cut)), 'need-more', `cut ${cut}`);
  const longest = `SSH-2.0-${'x'.repeat(255 - 10)}\r\n`;
  assert.equal(longest.length, 255);
  assert.ok(typeof ident(longest) === 'object');
  assert.equal(ident(`SSH-2.0-${'x'.repeat(246)}\r\n`), undefined);
  assert.equal(ident(`SSH-2.0-${'x'.repeat(300)}`), undefined);
});

test('identification: server preface lines are skipped, within bounds', () => {
  const result = ident('Welcome\r\nto the server\nSSH-2.0-x\r\n');
  assert.ok(typeof result === 'object');
  assert.equal(result.ident.softwareVersion, 'x');
  assert.equal(result.length, 34);
  assert.equal(ident('Welcome\r\n'), 'need-more');
  assert.equal(ident('line\n'.repeat(16) + 'SSH-2.0-x\n') !== undefined, true);
  assert.equal(ident('line\n'.repeat(17) + 'SSH-2.0-x\n'), undefined);
  assert.equal(ident('\x16\x03\x01\x00'), undefined, 'binary is not a preface');
  assert.equal(ident('x'.repeat(300)), undefined);
});

const HASSH_LISTS = [
  'curve25519-sha256',
  'ssh-ed25519',
  'chacha20-poly1305@openssh.com',
  'chacha20-poly1305@openssh.com',
  'umac-64-etm@openssh.com',
  'umac-64-etm@openssh.com',
  'none',
  'none',
];

test('KEXINIT: a built packet round-trips', () => {
  const cookie = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const packet = buildKexInitPacket({ lists: [...HASSH_LISTS, 'en', 'fr'], cookie, firstKexPacketFollows: true });
  const result = parseKexInit(Buffer.concat([packet, Buffer.from([9, 9, 9])]));
  assert.ok(typeof result === 'object' && 'kexinit' in result);
  assert.equal(result.length, packet.length);
  assert.deepEqual([...result.kexinit.cookie], [...cookie]);
  assert.deepEqual(result.kexinit.lists, [...HASSH_LISTS, 'en', 'fr']);
  assert.equal(result.kexinit.firstKexPacketFollows, true);
});

test('KEXINIT: every truncation asks for more', () => {
  const packet = buildKexInitPacket({ lists: HASSH_LISTS });
  for (let cut = 0; cut < packet.length; cut++) assert.equal(parseKexInit(packet.subarray(0, cut)), 'need-more', `cut ${cut}`);
});

test('KEXINIT: rejected early and without waiting', () => {
  const error = (buf: Uint8Array): string => {
    const result = parseKexInit(buf);
    assert.ok(typeof result === 'object' && 'error' in result, JSON.stringify(result));
    return result.error;
  };
  assert.match(error(Uint8Array.from([0, 0x01, 0, 0])), /exceeds/);
  assert.match(error(Uint8Array.from([0xff, 0xff, 0xff, 0xff])), /exceeds/);
  assert.match(error(Uint8Array.from([0, 0, 0, 0])), /too short/);
  assert.match(error(Uint8Array.from([0, 0, 0, 100, 99])), /padding/);
  assert.match(error(Uint8Array.from([0, 0, 0, 100, 4, 21])), /message type 21/);
  const fine = parseKexInit(Uint8Array.from([0, 0, (MAX_PACKET_LENGTH >> 8) & 0xff, MAX_PACKET_LENGTH & 0xff, 4, 20]));
  assert.equal(fine, 'need-more');
});

test('KEXINIT: name-lists that overrun the payload', () => {
  const packet = buildKexInitPacket({ lists: HASSH_LISTS });
  const broken = Buffer.from(packet);
  broken.writeUInt32BE(0xffffffff, 4 + 1 + 1 + 16);
  assert.deepEqual(parseKexInit(broken), { error: 'name-list 0 length 4294967295 overruns the payload' });
  // Padding long enough to hide the boolean and reserved field.
  const long = Buffer.from(packet);
  long[4] = (long[4] ?? 0) + 5;
  assert.deepEqual(parseKexInit(long), { error: 'first_kex_packet_follows or reserved field is missing' });
  const shortPadding = buildKexInitPacket({ lists: HASSH_LISTS, padding: 0 });
  assert.ok('kexinit' in (parseKexInit(shortPadding) as object), 'padding rules are not enforced');
});

test('the Go sensor vectors: banner only, banner plus KEXINIT', () => {
  const banner = 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n';
  const only = ident(banner);
  assert.ok(typeof only === 'object');
  assert.equal(only.length, banner.length);
  assert.equal(parseKexInit(bytes(banner).subarray(only.length)), 'need-more');

  const stream = Buffer.concat([bytes('SSH-2.0-OpenSSH_8.0\r\n'), buildKexInitPacket({ lists: HASSH_LISTS })]);
  const id = parseSshIdentification(stream);
  assert.ok(typeof id === 'object');
  const kex = parseKexInit(stream.subarray(id.length));
  assert.ok(typeof kex === 'object' && 'kexinit' in kex);
  assert.equal(kex.length, stream.length - id.length);
});

function fromCapture(pcap: string): { client: KexInit; server: KexInit; clientIdent: string; serverIdent: string } {
  const [stream] = readTcpStreams(join(fixtures, 'pcap', pcap));
  assert.ok(stream);
  const side = (buf: Uint8Array): { kexinit: KexInit; raw: string } => {
    const id = parseSshIdentification(buf);
    assert.ok(typeof id === 'object', `${pcap}: identification`);
    const kex = parseKexInit(buf.subarray(id.length));
    assert.ok(typeof kex === 'object' && 'kexinit' in kex, `${pcap}: KEXINIT ${JSON.stringify(kex)}`);
    return { kexinit: kex.kexinit, raw: id.ident.raw };
  };
  const client = side(stream.client);
  const server = side(stream.server);
  return { client: client.kexinit, server: server.kexinit, clientIdent: client.raw, serverIdent: server.raw };
}

test('captures: identification and KEXINIT of both sides', () => {
  const ssh = fromCapture('ssh.pcapng');
  assert.equal(ssh.clientIdent, 'SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5');
  assert.equal(ssh.serverIdent, 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1');
  assert.equal(ssh.client.lists.length, 10);
  const old = fromCapture('ssh2-malformed.pcap');
  assert.equal(old.clientIdent, 'SSH-2.0-OpenSSH_5.3');
  assert.equal(old.serverIdent, 'SSH-1.99-OpenSSH_3.9p1');
});

test('ssh2-malformed.pcap: every prefix of both directions parses without throwing', () => {
  for (const stream of readTcpStreams(join(fixtures, 'pcap', 'ssh2-malformed.pcap'))) {
    for (const buf of [stream.client, stream.server]) {
      for (let cut = 0; cut <= buf.length; cut++) {
        const prefix = buf.subarray(0, cut);
        const id = parseSshIdentification(prefix);
        parseKexInit(prefix);
        if (typeof id === 'object') parseKexInit(prefix.subarray(id.length));
      }
    }
  }
});
