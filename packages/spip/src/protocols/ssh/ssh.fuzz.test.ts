// Deterministic fuzzing of the SSH identification and KEXINIT parsers and of HASSH over what
// they return. The seed is printed; SPIP_FUZZ_SEED replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_IDENTIFICATION_LINE, MAX_PACKET_LENGTH, parseKexInit, parseSshIdentification } from './ssh.js';
import { buildKexInitPacket } from './kexinit-builder.js';
import { hassh, hasshServer } from '../../fingerprints/hassh.js';
import { mulberry32, seedFromEnv } from '@loom/test-support';

const SEED = seedFromEnv('SPIP_FUZZ_SEED', 0x5eed_5348);
// FUZZ_ITERATIONS (set by `npm run fuzz`) scales the run up; unset, CI keeps this fixed subset.
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS) || 0;


const OPENSSH_LISTS = [
  'curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,ext-info-c',
  'ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512',
  'chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com',
  'umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1',
  'umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1',
  'none,zlib@openssh.com',
  'none,zlib@openssh.com',
  '',
  '',
];

const KEXINITS = [
  buildKexInitPacket({ lists: OPENSSH_LISTS }),
  buildKexInitPacket({ lists: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], firstKexPacketFollows: true, padding: 255 }),
  buildKexInitPacket({ lists: [] }),
].map((packet) => Buffer.from(packet));
const IDENTS = ['SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n', 'SSH-1.99-Cisco-1.25\n', 'Banner line\r\nSSH-2.0-libssh_0.9.6\r\n'].map((t) => Buffer.from(t, 'latin1'));
const STREAMS = IDENTS.map((ident, i) => Buffer.concat([ident, KEXINITS[i % KEXINITS.length] ?? Buffer.alloc(0)]));
// Half the inputs mutate packets and streams (a stream gets a quarter of a packet's share) and half are random.
const RANDOM_INPUTS = ITERATIONS > 0 ? Math.ceil(ITERATIONS / 2) : 40_000;
const MUTATIONS_PER_SEED = ITERATIONS > 0 ? 4 * Math.ceil(ITERATIONS / 2 / (4 * KEXINITS.length + STREAMS.length)) : 18_000;

/** Offsets of every uint32 length field in a KEXINIT packet built above: packet_length and the ten name-lists. */
function lengthFields(packet: Buffer): number[] {
  const offsets = [0];
  let pos = 4 + 1 + 1 + 16;
  for (let i = 0; i < 10 && pos + 4 <= packet.length; i++) {
    offsets.push(pos);
    pos += 4 + packet.readUInt32BE(pos);
  }
  return offsets;
}

function check(input: Uint8Array): void {
  const id = parseSshIdentification(input);
  if (id !== 'need-more' && id !== undefined) {
    assert.ok(id.length >= 5 && id.length <= input.length, `identification length ${id.length}`);
    assert.ok(id.ident.raw.startsWith('SSH-'));
    assert.ok(id.ident.raw.length <= MAX_IDENTIFICATION_LINE - 1);
    assert.ok(id.ident.protoVersion !== '');
    checkKexInit(input.subarray(id.length));
  }
  checkKexInit(input);
}

function checkKexInit(input: Uint8Array): void {
  const result = parseKexInit(input);
  if (result === 'need-more') {
    assert.ok(input.length < 4 + MAX_PACKET_LENGTH);
    return;
  }
  if ('error' in result) {
    assert.equal(typeof result.error, 'string');
    return;
  }
  assert.ok(result.length <= input.length && result.length <= 4 + MAX_PACKET_LENGTH);
  assert.equal(result.kexinit.lists.length, 10);
  assert.equal(result.kexinit.cookie.length, 16);
  assert.match(hassh(result.kexinit).hassh, /^[0-9a-f]{32}$/);
  assert.match(hasshServer(result.kexinit).hasshServer, /^[0-9a-f]{32}$/);
}

function run(input: Uint8Array, label: string): void {
  try {
    check(input);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    assert.fail(`${label} (seed ${SEED}): ${message}\ninput hex: ${Buffer.from(input).toString('hex')}`);
  }
}

function mutate(seed: Buffer, fields: number[], rand: () => number): Buffer {
  const pick = (n: number): number => Math.floor(rand() * n);
  const buf = Buffer.from(seed);
  switch (pick(5)) {
    case 0: {
      const flips = 1 + pick(4);
      for (let i = 0; i < flips && buf.length > 0; i++) {
        const at = pick(buf.length);
        buf[at] = (buf[at] ?? 0) ^ (1 << pick(8));
      }
      return buf;
    }
    case 1: {
      const at = fields[pick(fields.length)] ?? 0;
      if (at + 4 > buf.length) return buf;
      const actual = buf.readUInt32BE(at);
      const choices = [0, 1, 0xffffffff, 0x7fffffff, actual - 1, actual + 1, MAX_PACKET_LENGTH, MAX_PACKET_LENGTH + 1, buf.length - at - 4, buf.length - at - 3, 62, 63];
      buf.writeUInt32BE((choices[pick(choices.length)] ?? 0) >>> 0, at);
      return buf;
    }
    case 2: {
      const at = pick(buf.length + 1);
      const noise = Buffer.from(Array.from({ length: 1 + pick(8) }, () => [0, 0xff, 0x0a, 0x0d, 0x2c, 20, pick(256)][pick(7)] ?? 0));
      return Buffer.concat([buf.subarray(0, at), noise, buf.subarray(at)]);
    }
    case 3: {
      const at = pick(buf.length + 1);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + pick(16))]);
    }
    default: {
      // padding_length (byte 4 of a packet) at its extremes and off by one.
      if (buf.length < 5) return buf;
      const actual = buf[4] ?? 0;
      buf[4] = [0, 255, actual - 1, actual + 1, 3, 4][pick(6)]! & 0xff;
      return buf;
    }
  }
}

test('SSH identification and KEXINIT parser fuzz', (t) => {
  t.diagnostic(`seed ${SEED} (set SPIP_FUZZ_SEED to replay)`);
  const rand = mulberry32(SEED);
  const pick = (n: number): number => Math.floor(rand() * n);
  let inputs = 0;

  for (const [index, stream] of STREAMS.entries()) {
    for (let cut = 0; cut <= stream.length; cut++, inputs++) run(stream.subarray(0, cut), `stream ${index} cut at ${cut}`);
  }
  for (const [index, packet] of KEXINITS.entries()) {
    const fields = lengthFields(packet);
    for (let cut = 0; cut <= packet.length; cut++, inputs++) run(packet.subarray(0, cut), `packet ${index} cut at ${cut}`);
    for (let i = 0; i < MUTATIONS_PER_SEED; i++, inputs++) {
      let input = mutate(packet, fields, rand);
      if (rand() < 0.3) input = mutate(input, fields, rand);
      run(input, `packet ${index} mutation ${i}`);
    }
  }
  for (const [index, stream] of STREAMS.entries()) {
    const ident = IDENTS[index]?.length ?? 0;
    const fields = lengthFields(stream.subarray(ident)).map((offset) => offset + ident);
    for (let i = 0; i < MUTATIONS_PER_SEED / 4; i++, inputs++) run(mutate(stream, fields, rand), `stream ${index} mutation ${i}`);
  }
  for (let i = 0; i < RANDOM_INPUTS; i++, inputs++) {
    const prefix = [Buffer.alloc(0), Buffer.from('SSH-'), Buffer.from('SSH-2.0-'), Buffer.from([0, 0, 1, 0, 8, 20])][pick(4)] ?? Buffer.alloc(0);
    const body = Buffer.from(Array.from({ length: pick(rand() < 0.9 ? 128 : 1024) }, () => (rand() < 0.2 ? [0x0a, 0x0d, 0x20, 0x2d][pick(4)] ?? 0 : pick(256))));
    run(Buffer.concat([prefix, body]), `random ${i}`);
  }
  t.diagnostic(`${inputs} inputs`);
  assert.ok(inputs >= (ITERATIONS || 100_000));
});
