// Deterministic fuzzing of the HTTP request parser and what is computed from its result. The
// seed is printed; SPIP_FUZZ_SEED replays a run. Every input must parse without throwing, give
// the same verdict from probeHttp and parseHttpRequest, and stay within the documented bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecsHttpFields, parseHttpRequest, probeHttp, type HttpLimits } from './request.js';
import { ja4h } from '../../fingerprints/ja4h/ja4h.js';
import { mulberry32, seedFromEnv } from '@loom/test-support';

const SEED = seedFromEnv('SPIP_FUZZ_SEED', 0x5eed_4854);
// FUZZ_ITERATIONS (set by `npm run fuzz`) scales the run up; unset, CI keeps this fixed subset.
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS) || 0;


const CORPUS = [
  'GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.1.2\r\nAccept: */*\r\n\r\n',
  'POST /cgi-bin/login.cgi?x=1 HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\nContent-Length: 11\r\nCookie: a=1; b=2\r\nReferer: http://r/\r\n\r\nhello world',
  'GET / HTTP/1.0\nUser-Agent:\n\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00',
  'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n',
  'GET http://example.com/x?y HTTP/1.1\r\nAccept-Language: en-US,en;q=0.9\r\nX: a\r\n  folded\r\n\r\n',
  'GET /index.html\r\n\r\n',
  'propfind /dav HTTP/1.1\r\nDepth: 1\r\nContent-Length: 5, 5\r\n\r\n<x/>\n',
  `GET /${'A'.repeat(300)} HTTP/1.1\r\n${'X-Many: 1\r\n'.repeat(40)}\r\n`,
].map((text) => Buffer.from(text, 'latin1'));
// Half the inputs mutate the corpus and half are random, so the total is about ITERATIONS.
const RANDOM_INPUTS = ITERATIONS > 0 ? Math.ceil(ITERATIONS / 2) : 50_000;
const MUTATIONS_PER_SEED = ITERATIONS > 0 ? Math.ceil(ITERATIONS / 2 / CORPUS.length) : 6_000;

// Bytes that steer the parser into its interesting states.
const TOKENS = ['\r\n', '\n', '\r', ' ', '\t', ':', '?', '/', '[', ']', 'HTTP/1.1', 'HTTP/', '\r\n\r\n', '\x00', '\xff', 'Host: ', 'Cookie: ', 'Content-Length: ', '99999999999999999999', 'GET '].map((t) =>
  Buffer.from(t, 'latin1'),
);
const ALPHABET = Buffer.from('GETPOSTHhx:/ ?\r\n\t.-;=,[]01239*%\x00\x7f\x80\xff', 'latin1');

const LIMIT_SETS: HttpLimits[] = [{}, { maxHeaders: 3, maxHeaderBytes: 64 }, { maxHeaders: 0, maxHeaderBytes: 20 }];
const VERSION = /^\d{1,3}(\.\d{1,3})?$/;
const JA4H = /^.{2}\d{2}[cn][rn]\d{2}.{4}_[0-9a-f]{12}_[0-9a-f]{12}_[0-9a-f]{12}$/su;

function check(input: Uint8Array, limits: HttpLimits): void {
  const probe = probeHttp(input, limits);
  const req = parseHttpRequest(input, limits);
  assert.ok(probe === 'http' || probe === 'maybe' || probe === 'not-http');
  assert.equal(req !== undefined, probe === 'http', 'probeHttp and parseHttpRequest disagree');
  if (req === undefined) return;
  assert.ok(req.method.length >= 1 && req.method.length <= 32);
  assert.ok(req.target.length >= 1);
  assert.match(req.version, VERSION);
  assert.ok(req.headers.length <= (limits.maxHeaders ?? 256));
  assert.ok(req.droppedHeaders >= 0);
  assert.ok(req.headers.every((h) => h.name !== '' && !h.name.includes(':')));
  assert.ok(req.body.length <= input.length);
  if (!req.complete) assert.equal(req.body.length, 0);
  assert.ok(req.hostPort === undefined || (req.hostPort >= 1 && req.hostPort <= 65535));
  assert.ok(req.contentLength === undefined || Number.isSafeInteger(req.contentLength));
  assert.equal(req.path + (req.query === undefined ? '' : `?${req.query}`), req.target);
  const fp = ja4h(req);
  assert.match(fp.ja4h, JA4H);
  assert.match(fp.ja4h_o, JA4H);
  JSON.stringify(ecsHttpFields(req));
}

function run(input: Uint8Array, label: string): void {
  for (const limits of LIMIT_SETS) {
    try {
      check(input, limits);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      assert.fail(`${label} (seed ${SEED}, limits ${JSON.stringify(limits)}): ${message}\ninput hex: ${Buffer.from(input).toString('hex')}`);
    }
  }
}

function mutate(seed: Buffer, rand: () => number): Buffer {
  const pick = (n: number): number => Math.floor(rand() * n);
  const buf = Buffer.from(seed);
  switch (pick(6)) {
    case 0: {
      const flips = 1 + pick(4);
      for (let i = 0; i < flips && buf.length > 0; i++) {
        const at = pick(buf.length);
        buf[at] = (buf[at] ?? 0) ^ (1 << pick(8));
      }
      return buf;
    }
    case 1: {
      const at = pick(buf.length + 1);
      const token = TOKENS[pick(TOKENS.length)] ?? Buffer.alloc(0);
      return Buffer.concat([buf.subarray(0, at), token, buf.subarray(at)]);
    }
    case 2: {
      const at = pick(buf.length + 1);
      const length = pick(Math.max(1, buf.length - at + 1));
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + length)]);
    }
    case 3: {
      const at = pick(buf.length + 1);
      const length = pick(64);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + length), buf.subarray(at)]);
    }
    case 4: {
      const at = pick(buf.length + 1);
      const noise = Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256)));
      return Buffer.concat([buf.subarray(0, at), noise, buf.subarray(at)]);
    }
    default: {
      const text = buf.toString('latin1').replace(/Content-Length: [^\r\n]*/, `Content-Length: ${['0', '-1', '18446744073709551616', '5', '4', '6', '1e3', ' 7 '][pick(8)]}`);
      return Buffer.from(text, 'latin1');
    }
  }
}

test('HTTP request parser fuzz', (t) => {
  t.diagnostic(`seed ${SEED} (set SPIP_FUZZ_SEED to replay)`);
  const rand = mulberry32(SEED);
  const pick = (n: number): number => Math.floor(rand() * n);
  let inputs = 0;

  for (const [index, seed] of CORPUS.entries()) {
    for (let cut = 0; cut <= seed.length; cut++, inputs++) run(seed.subarray(0, cut), `corpus ${index} cut at ${cut}`);
    for (let i = 0; i < MUTATIONS_PER_SEED; i++, inputs++) {
      let input = mutate(seed, rand);
      if (rand() < 0.3) input = mutate(input, rand);
      run(input, `corpus ${index} mutation ${i}`);
    }
  }
  for (let i = 0; i < RANDOM_INPUTS; i++, inputs++) {
    const length = pick(rand() < 0.9 ? 96 : 2048);
    const source = rand() < 0.5 ? undefined : ALPHABET;
    const input = Buffer.from(Array.from({ length }, () => (source === undefined ? pick(256) : (source[pick(source.length)] ?? 0))));
    run(input, `random ${i}`);
  }
  // Valid heads followed by arbitrary bytes: the head must parse the same way every time.
  for (let i = 0; i < 2_000; i++, inputs++) {
    const seed = CORPUS[0] ?? Buffer.alloc(0);
    const tail = Buffer.from(Array.from({ length: pick(64) }, () => pick(256)));
    const input = Buffer.concat([seed, tail]);
    run(input, `tail ${i}`);
    const req = parseHttpRequest(input);
    assert.equal(req?.complete, true);
    assert.equal(req?.headers.length, 3);
    assert.equal(req?.body.length, tail.length);
  }
  t.diagnostic(`${inputs} inputs`);
  assert.ok(inputs >= (ITERATIONS || 100_000));
});
