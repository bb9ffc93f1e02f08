// Deterministic fuzzing of the ClientHello probe, parser and fingerprints
// with random bytes and structured mutations of real ClientHellos. Replay a
// failure with SPIP_FUZZ_SEED=<seed printed by the test>.
import { test } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../../test/helpers/pcap.js';
import { ja3 } from '../../fingerprints/ja3.js';
import { ja4 } from '../../fingerprints/ja4.js';
import { parseClientHello, probeClientHello, type ClientHelloProbe } from './client-hello.js';
import { alpnExtension, buildClientHello, sniExtension, supportedVersionsExtension, u16ListExtension } from './hello-builder.js';
import { mulberry32, seedFromEnv } from '@loom/test-support';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/ja4/', import.meta.url));
// FUZZ_ITERATIONS (set by `npm run fuzz`) scales the run up; unset, CI keeps this fixed subset.
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS) || 0;
const RANDOM_INPUTS = ITERATIONS || 100_000;
const DEFAULT_SEED = 0x5eed_4a34;


/** Every ClientHello in a client byte stream, including the retry after a HelloRetryRequest. */
function hellosIn(client: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 5 <= client.length) {
    const probe = probeClientHello(client.subarray(pos));
    if (probe.kind === 'complete') {
      out.push(client.slice(pos, pos + probe.length));
      pos += probe.length;
      continue;
    }
    pos += 5 + ((client[pos + 3]! << 8) | client[pos + 4]!);
  }
  return out;
}

function corpus(): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const add = (bytes: Uint8Array) => {
    const key = Buffer.from(bytes).toString('hex');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(bytes);
    }
  };
  const picks: [string, number[]][] = [
    ['tls12.pcap', [0]],
    ['tls-alpn-h2.pcap', [0]],
    ['badcurveball.pcap', [0]],
    ['tls-non-ascii-alpn.pcapng', [0]],
    // Chrome with and without ALPN, with pre_shared_key, and a HelloRetryRequest retry.
    ['tls-handshake.pcapng', [2, 6, 31, 38]],
  ];
  for (const [pcap, streams] of picks) {
    const all = readTcpStreams(join(fixtures, 'pcap', pcap));
    for (const s of streams) for (const hello of hellosIn(all[s]!.client)) add(hello);
  }
  const spec = {
    ciphers: [0x0a0a, 0x1301, 0xc02b],
    extensions: [sniExtension('fuzz.example'), alpnExtension(['h2']), supportedVersionsExtension([0x0304]), u16ListExtension(0x000d, [0x0403])],
  };
  add(buildClientHello(spec));
  add(buildClientHello({ ...spec, maxRecordPayload: 7 }));
  add(buildClientHello({ ciphers: [0x002f], legacyVersion: 0x0300 }));
  return out;
}

interface LengthField {
  offset: number;
  size: 1 | 2 | 3;
}

/** Where the length fields of a single-record ClientHello are, found by walking it. */
function lengthFields(h: Uint8Array): LengthField[] {
  const fields: LengthField[] = [
    { offset: 3, size: 2 },
    { offset: 6, size: 3 },
  ];
  const u16 = (at: number) => (h[at]! << 8) | h[at + 1]!;
  let p = 9 + 2 + 32;
  fields.push({ offset: p, size: 1 });
  p += 1 + h[p]!;
  fields.push({ offset: p, size: 2 });
  p += 2 + u16(p);
  fields.push({ offset: p, size: 1 });
  p += 1 + h[p]!;
  if (p + 2 > h.length) return fields;
  fields.push({ offset: p, size: 2 });
  const end = p + 2 + u16(p);
  p += 2;
  while (p + 4 <= end) {
    const type = u16(p);
    const len = u16(p + 2);
    fields.push({ offset: p + 2, size: 2 });
    const data = p + 4;
    if (type === 0x0000 || type === 0x000a || type === 0x000d || type === 0x0010 || type === 0x0033) fields.push({ offset: data, size: 2 });
    if (type === 0x0000) fields.push({ offset: data + 3, size: 2 });
    if (type === 0x000b || type === 0x002b) fields.push({ offset: data, size: 1 });
    if (type === 0x0010) for (let q = data + 2; q < data + len; q += 1 + h[q]!) fields.push({ offset: q, size: 1 });
    p = data + len;
  }
  return fields.filter((f) => f.offset + f.size <= h.length);
}

function readField(h: Uint8Array, f: LengthField): number {
  let v = 0;
  for (let i = 0; i < f.size; i++) v = v * 256 + h[f.offset + i]!;
  return v;
}

function writeField(h: Uint8Array, f: LengthField, value: number): void {
  let v = value;
  for (let i = f.size - 1; i >= 0; i--) {
    h[f.offset + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

const JA4_FORMAT = /^[tqd](13|12|11|10|s3|s2|d1|d2|d3|00)[di]\d{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;

test('fuzz: probe, parse, JA4 and JA3 never throw and stay within bounds', (t) => {
  const seed = seedFromEnv('SPIP_FUZZ_SEED', DEFAULT_SEED);
  t.diagnostic(`fuzz seed ${seed} (replay with SPIP_FUZZ_SEED=${seed})`);
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const hellos = corpus();
  const singleRecord = hellos.filter((h) => ((h[3]! << 8) | h[4]!) + 5 === h.length);
  let inputs = 0;

  const check = (buf: Uint8Array, how: string): void => {
    inputs++;
    const fail = (why: string): never => {
      throw new Error(`${why} [seed ${seed}, input ${inputs}, ${how}] ${Buffer.from(buf).toString('hex')}`);
    };
    const checkProbe = (p: ClientHelloProbe, max: number) => {
      if (p.kind === 'complete' && !(p.length > 0 && p.length <= buf.length && p.length <= max)) fail(`complete.length ${p.length} out of bounds`);
      if (p.kind === 'need-more' && p.have !== buf.length) fail(`need-more.have ${p.have}`);
    };
    try {
      checkProbe(probeClientHello(buf), 65556);
      const max = 1 + int(buf.length + 16);
      checkProbe(probeClientHello(buf, max), max);
      const unlimited = probeClientHello(buf, Infinity);
      checkProbe(unlimited, Infinity);
      const result = parseClientHello(buf);
      if (result.ok) {
        if (unlimited.kind !== 'complete' || unlimited.length !== result.length) fail('parse succeeded where the probe did not complete at the same length');
        const fp = ja4(result.hello);
        if (!JA4_FORMAT.test(fp.ja4) || !JA4_FORMAT.test(fp.ja4_o)) fail(`bad JA4 ${fp.ja4}`);
        if (!JA4_FORMAT.test(ja4(result.hello, 'q').ja4)) fail('bad QUIC JA4');
        if (!/^[0-9a-f]{32}$/.test(ja3(result.hello).ja3_hash)) fail('bad JA3 hash');
      } else {
        if (result.error.length === 0 || result.error.startsWith('internal')) fail(`error "${result.error}"`);
        if (unlimited.kind === 'complete' && !/length|truncated|odd|unexpected/.test(result.error)) fail(`unexpected error for a complete hello: ${result.error}`);
      }
    } catch (err) {
      if (err instanceof Error && err.message.includes('[seed ')) throw err;
      fail(`threw ${String(err)}`);
    }
  };

  // Every truncation of every real hello.
  for (const h of hellos) for (let n = 0; n <= h.length; n++) check(h.subarray(0, n), `truncate to ${n}`);

  // Every length field set to 0, its maximum and off by one either way.
  for (const h of singleRecord) {
    for (const f of lengthFields(h)) {
      const value = readField(h, f);
      const max = 2 ** (8 * f.size) - 1;
      for (const v of [0, max, value - 1, value + 1]) {
        if (v < 0 || v > max) continue;
        const m = Uint8Array.from(h);
        writeField(m, f, v);
        check(m, `length at ${f.offset} = ${v}`);
      }
    }
  }

  const mutators: ((h: Uint8Array) => [Uint8Array, string])[] = [
    () => {
      const n = int(400);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      // Half of them look like a handshake record so they get past the first byte.
      if (rand() < 0.5 && n >= 6) out.set([0x16, 0x03, int(5), int(2), int(256), 0x01]);
      return [out, 'random bytes'];
    },
    (h) => {
      const out = Uint8Array.from(h);
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) out[int(out.length)]! ^= 1 << int(8);
      return [out, `${flips} bit flips`];
    },
    (h) => {
      const at = int(h.length + 1);
      const n = 1 + int(24);
      const extra = Array.from({ length: n }, () => int(256));
      return [Uint8Array.from([...h.subarray(0, at), ...extra, ...h.subarray(at)]), `insert ${n} at ${at}`];
    },
    (h) => {
      const at = int(h.length);
      const n = 1 + int(16);
      return [Uint8Array.from([...h.subarray(0, at), ...h.subarray(at + n)]), `delete ${n} at ${at}`];
    },
    (h) => {
      const fields = lengthFields(h);
      const f = fields[int(fields.length)]!;
      const out = Uint8Array.from(h);
      writeField(out, f, int(2 ** (8 * f.size)));
      return [out, `random length at ${f.offset}`];
    },
    (h) => {
      // Duplicate one extension and fix every enclosing length so only the duplicate is odd.
      const fields = lengthFields(h);
      const extensionFields = fields.filter((f, i) => i > 5 && f.size === 2 && h[f.offset - 2] !== undefined);
      const f = extensionFields[int(extensionFields.length)];
      if (f === undefined || fields.length < 6) return [h, 'no extension to duplicate'];
      const start = f.offset - 2;
      const end = f.offset + 2 + readField(h, f);
      if (end > h.length) return [h, 'no extension to duplicate'];
      const copy = h.subarray(start, end);
      const out = Uint8Array.from([...h.subarray(0, end), ...copy, ...h.subarray(end)]);
      for (const g of [fields[0]!, fields[1]!, fields[5]!]) writeField(out, g, readField(out, g) + copy.length);
      return [out, `duplicate extension at ${start}`];
    },
    (h) => {
      // Re-split the handshake message over records of random sizes, then flip a byte.
      const message = h.subarray(5);
      const out: number[] = [];
      for (let i = 0; i < message.length; ) {
        const n = 1 + int(64);
        const part = message.subarray(i, i + n);
        out.push(0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff, ...part);
        i += n;
      }
      const bytes = Uint8Array.from(out);
      if (rand() < 0.5) bytes[int(bytes.length)] = int(256);
      return [bytes, 'record re-split'];
    },
    (h) => {
      const other = hellos[int(hellos.length)]!;
      const cut = int(h.length);
      return [Uint8Array.from([...h.subarray(0, cut), ...other.subarray(int(other.length))]), `splice at ${cut}`];
    },
  ];

  for (let i = 0; i < RANDOM_INPUTS; i++) {
    const base = singleRecord[int(singleRecord.length)]!;
    const mutate = mutators[int(mutators.length)]!;
    const [input, how] = mutate(base);
    check(input, how);
  }

  t.diagnostic(`${inputs} inputs`);
  if (inputs < RANDOM_INPUTS) throw new Error(`only ${inputs} inputs`);
});
