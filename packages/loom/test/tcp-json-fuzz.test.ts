import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { mulberry32, Random, seedFromEnv } from '@loom/test-support';
import { LineSplitter, type FrameSink } from '../src/sources/tcp-json/framing.js';
import { logRecord, MessageChecker } from '../src/sources/tcp-json/message.js';
import { compileMessageSchema } from '../src/sources/tcp-json/message-schema.js';
import { response } from '../src/sources/tcp-json/responses.js';
import { LineClient, messageSchemaPath, startTcpJson, tcpJsonConfig, type TcpJsonProcess } from './helpers/tcp-json.js';

/**
 * Deterministic fuzzing of the TCP JSON line parser and validator: every case comes from
 * the seed and its index, so a failure names the case to replay (LOOM_FUZZ_SEED=<seed>).
 */
const seed = seedFromEnv('LOOM_FUZZ_SEED', 0x7c9e15);
// FUZZ_ITERATIONS (set by `npm run fuzz`) scales the in-process parser test; the network test keeps its size.
const parserCases = Number(process.env.FUZZ_ITERATIONS) || 12_000;
const networkCases = 1500;
const connections = 6;
const maxBytes = 512;

function randomFor(index: number, salt: number): Random {
  return new Random(mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ salt) >>> 0));
}

const words = ['info', 'warn', 'debug', 'error', 'nope', '', 'caf\u00e9', '\u{1f600}', '\\', '"', '\r', '\u2028', '\u0000', 'x'.repeat(300)];

function randomValue(r: Random, depth: number): unknown {
  switch (r.int(depth > 3 ? 5 : 7)) {
    case 0: return r.pick(words);
    case 1: return r.int(1e9) - 5e8;
    case 2: return r.chance(0.5);
    case 3: return null;
    case 4: return r.int(1000) / 7;
    case 5: return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['a', 'level', 'message', 'seq', '__proto__', 'timestamp', '']), randomValue(r, depth + 1)]));
  }
}

/** One message's bytes (never containing LF): valid, nearly valid, or garbage. */
function randomMessage(r: Random): Buffer {
  const valid = { level: r.pick(['info', 'warn', 'debug', 'error']), message: r.pick(words), ...(r.chance(0.3) ? { seq: r.int(1e6) } : {}), ...(r.chance(0.2) ? { attributes: randomValue(r, 1) } : {}) };
  let bytes: Buffer;
  switch (r.int(10)) {
    case 0: bytes = r.bytes(r.int(80)); break;
    case 1: bytes = Buffer.from(JSON.stringify(randomValue(r, 0)) ?? 'null'); break;
    case 2: bytes = Buffer.from(`${'['.repeat(r.int(200))}${']'.repeat(r.int(200))}`); break;
    case 3: bytes = Buffer.from(JSON.stringify({ ...valid, message: 'y'.repeat(r.int(2 * maxBytes)) })); break;
    case 4: bytes = Buffer.from(`{"level":"info","message":"m","timestamp":"${r.int(10)}"}`); break;
    default: bytes = Buffer.from(JSON.stringify(valid));
  }
  if (r.chance(0.3)) {
    // Mutations: flipped, inserted and deleted bytes, a cut, a CR.
    const out = [...bytes];
    for (let i = r.int(4); i > 0 && out.length > 0; i--) {
      const at = r.int(out.length);
      const op = r.int(4);
      if (op === 0) out[at] = r.int(256);
      else if (op === 1) out.splice(at, 0, r.pick([0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x0d, 0x00, 0xc3, 0xff]));
      else if (op === 2) out.splice(at, 1);
      else out.length = at;
    }
    bytes = Buffer.from(out);
  }
  // LF is the frame separator: a random one inside would only make two messages of one.
  return Buffer.from(bytes.filter((b) => b !== 0x0a));
}

/** How many responses a stream of LF-terminated segments gets: one per segment not empty after dropping a final CR. */
function expectedResponses(stream: Buffer): number {
  let count = 0;
  let from = 0;
  for (let lf = stream.indexOf(0x0a); lf >= 0; lf = stream.indexOf(0x0a, from)) {
    let end = lf;
    if (end > from && stream[end - 1] === 0x0d) end--;
    if (end > from) count++;
    from = lf + 1;
  }
  return count;
}

function randomStream(r: Random): Buffer {
  const parts: Buffer[] = [];
  for (let i = 1 + r.int(5); i > 0; i--) {
    parts.push(randomMessage(r), Buffer.from(r.pick(['\n', '\n', '\r\n', '\n\n', '\r\n\r\n'])));
  }
  return Buffer.concat(parts);
}

function chunksOf(r: Random, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const size = 1 + r.int(r.chance(0.3) ? 8 : 600);
    chunks.push(stream.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('TCP JSON fuzz', () => {
  test(`${parserCases} generated streams through the splitter and checker: never a throw, one outcome per message`, () => {
    const checker = new MessageChecker(compileMessageSchema(JSON.parse(readFileSync(messageSchemaPath, 'utf8'))));
    let accepted = 0;
    let refused = 0;
    for (let index = 0; index < parserCases; index++) {
      const r = randomFor(index, 0x51);
      const stream = randomStream(r);
      let outcomes = 0;
      const sink: FrameSink = {
        line(buf, start, end) {
          outcomes++;
          const bytes = buf.subarray(start, end);
          if (!isUtf8(bytes)) {
            refused++;
            return;
          }
          const result = checker.check(bytes.toString('utf8'));
          if (result.ok) {
            accepted++;
            const record = JSON.parse(logRecord('"2026-01-01T00:00:00.000Z"', '"192.0.2.1"', result.body, result.hasFields)) as Record<string, unknown>;
            assert.deepEqual(Object.keys(record).slice(0, 2), ['timestamp', 'source_ip'], `case ${index}`);
            assert.equal(record.source_ip, '192.0.2.1');
          } else {
            refused++;
            const answer = JSON.parse(response(false, result.reason)) as { success: boolean; message: string };
            assert.ok(answer.message.length <= 1024, `case ${index}`);
          }
        },
        oversized() {
          outcomes++;
          refused++;
        },
      };
      const splitter = new LineSplitter(maxBytes);
      try {
        for (const chunk of chunksOf(r, stream)) splitter.push(chunk, sink);
      } catch (error) {
        assert.fail(`case ${index} (seed ${seed}) threw: ${error instanceof Error ? error.stack : String(error)}`);
      }
      assert.equal(outcomes, expectedResponses(stream), `case ${index} (seed ${seed}): ${JSON.stringify(stream.toString('latin1'))}`);
    }
    // The generator must exercise both sides, or the fuzz proves little.
    assert.ok(accepted > parserCases / 4 && refused > parserCases / 4, `accepted ${accepted}, refused ${refused}`);
  });

  describe(`${networkCases} generated streams against a running loom tcp-json`, () => {
    let server: TcpJsonProcess;
    before(async () => {
      server = await startTcpJson(tcpJsonConfig({ protocol: { max_message_bytes: maxBytes }, errors: { invalid_message: 'redirect_to_error_log', error_log_path: 'errors.log' } }));
    });
    after(async () => {
      await server.loom.cleanup();
    });

    test('every message is answered once, with a well-formed response, and the server keeps serving', async () => {
      const clients = await Promise.all(Array.from({ length: connections }, () => LineClient.connect(server.port)));
      let successes = 0;
      await Promise.all(clients.map(async (client, c) => {
        for (let index = c; index < networkCases; index += connections) {
          const r = randomFor(index, 0x77);
          const stream = randomStream(r);
          const expected = expectedResponses(stream);
          for (const chunk of chunksOf(r, stream)) client.send(chunk);
          const responses = await client.next(expected, 10_000).catch((error: unknown) => {
            throw new Error(`case ${index} (seed ${seed}): ${error instanceof Error ? error.message : String(error)}; stream ${JSON.stringify(stream.toString('latin1'))}`);
          });
          for (const answer of responses) {
            assert.equal(typeof answer.success, 'boolean');
            assert.equal(typeof answer.message, 'string');
            assert.ok(answer.message.length <= 1024);
            if (answer.success) successes++;
          }
          // Nothing beyond the expected answers may arrive.
          assert.equal(client.unread, 0, `case ${index}: extra responses`);
        }
      }));
      assert.ok(successes > 0);
      assert.equal(server.logLines().length, successes);
      const probe = await LineClient.connect(server.port);
      assert.deepEqual(await probe.exchange({ level: 'info', message: 'still here' }), { success: true, message: 'message logged' });
      for (const client of [...clients, probe]) client.destroy();
      assert.equal(server.loom.exitCode, undefined);
      assert.deepEqual(server.loom.logs.filter((l) => l.level === 'error' || l.level === 'fatal'), []);
    });
  });
});
