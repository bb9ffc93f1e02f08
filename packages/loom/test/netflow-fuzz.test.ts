import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, Random, seedFromEnv } from '@loom/test-support';
import { MAX_RECORDS, NetflowDecoder } from '../src/sources/netflow/decode.js';
import { renderFlows } from '../src/sources/netflow/ecs.js';
import {
  ipfixMessage, ipfixOptionsTemplateRecord, ipv4, ipv6, set, templateRecord, u16, u32, u64, u8, v4FlowFields, v4FlowRecord,
  v5Packet, v9OptionsTemplateRecord, v9Packet, varlen, type FieldSpec,
} from './helpers/netflow-packets.js';

/**
 * Deterministic fuzzing of the NetFlow decoder: valid v5, v9 and IPFIX packets, mutated
 * (bit flips, overwritten length fields, truncation, splicing, random tails) and fed to one
 * decoder, whose template state therefore also sees mutated templates. The decoder must never
 * throw, every packet must end in flows or an error, the caps must hold, and every flow it
 * yields must render as one valid, ASCII-only JSON object.
 *
 * Replay a failure with its seed: LOOM_FUZZ_SEED=<seed>. More packets than the default
 * 100,000 (outside CI): FUZZ_ITERATIONS=1000000 npm run fuzz -- netflow (LOOM_NETFLOW_FUZZ_PACKETS, if set, wins).
 */
const seed = seedFromEnv('LOOM_FUZZ_SEED', 0x4e7f10);
const packets = Number(process.env.LOOM_NETFLOW_FUZZ_PACKETS || process.env.FUZZ_ITERATIONS || 100_000);
const limits = { maxTemplates: 64, maxPerExporter: 16, timeoutMs: 30_000 };

const flow = { src: '10.1.0.1', dst: '192.0.2.10', sport: 40001, dport: 80, protocol: 6, flags: 0x1b, bytes: 530, packets: 8, first: 99_000, last: 99_900 };

function corpus(): Buffer[] {
  const ipfixFields: FieldSpec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 8], [2, 4], [82, 0xffff], [100, 4, 9], [83, 0xffff, 6871], [152, 8], [153, 8], [56, 6], [311, 8], [276, 1], [154, 8], [27, 16]];
  const ipfixRecord = Buffer.concat([
    ipv4('10.1.0.1'), ipv4('192.0.2.10'), u16(40001), u16(443), u8(6), u64(1297), u32(10), varlen('eth0'), u32(7), varlen('x'.repeat(260)),
    u64(1_714_564_799_000), u64(1_714_564_800_000), Buffer.from([2, 0, 0, 0, 0, 1]), u64(0x3ff0000000000000n), u8(1), u64(0xe9f7d2c080000000n), ipv6('2001:db8::1'),
  ]);
  const v9 = { uptime: 100_000, secs: 1_714_564_800, sourceId: 1 };
  return [
    v5Packet({ uptime: 100_000, secs: 1_714_564_800 }, [
      { src: '10.1.0.1', dst: '192.0.2.10', packets: 8, bytes: 530, first: 99_000, last: 99_900, sport: 40001, dport: 80, tcpFlags: 0x1b, protocol: 6 },
      { src: '10.1.0.3', dst: '203.0.113.7', packets: 3, bytes: 252, first: 99_000, last: 99_900, sport: 0, dport: 0x0800, protocol: 1 },
    ]),
    v9Packet(v9, [set(0, [templateRecord(256, v4FlowFields)]), set(256, [v4FlowRecord(flow), v4FlowRecord({ ...flow, protocol: 17 })], 4)]),
    v9Packet(v9, [set(256, [v4FlowRecord(flow)])]),
    v9Packet(v9, [set(1, [v9OptionsTemplateRecord(300, [[1, 4]], [[34, 4], [35, 1]])], 4), set(300, [Buffer.concat([u32(1), u32(100), u8(2)])], 4)]),
    ipfixMessage({ exportTime: 1_714_564_800, domain: 5 }, [set(2, [templateRecord(400, ipfixFields)]), set(400, [ipfixRecord, ipfixRecord])]),
    ipfixMessage({ exportTime: 1_714_564_800, domain: 5 }, [set(400, [ipfixRecord])]),
    ipfixMessage({ exportTime: 1_714_564_800, domain: 5 }, [
      set(3, [ipfixOptionsTemplateRecord(401, 1, [[143, 4], [160, 8]])]),
      set(401, [Buffer.concat([u32(1), u64(1_714_500_000_000)])]),
      set(2, [templateRecord(402, [[8, 4], [12, 4], [4, 1], [22, 4], [21, 4], [139, 2]])]),
      set(402, [Buffer.concat([ipv4('10.0.0.1'), ipv4('10.0.0.2'), u8(58), u32(1000), u32(2500), u16(0x8000)])], 4),
    ]),
    ipfixMessage({ exportTime: 1_714_564_800, domain: 5 }, [set(2, [Buffer.concat([u16(400), u16(0)]), Buffer.concat([u16(2), u16(0)])])]),
  ];
}

/** Offsets of 16-bit length fields a mutation likes to aim at: header lengths, set lengths, field lengths. */
const interesting16 = [0, 1, 2, 3, 4, 5, 6, 8, 15, 16, 20, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff];

function mutate(r: Random, base: Buffer, all: readonly Buffer[]): Buffer {
  let out = Buffer.from(base);
  const rounds = 1 + r.int(4);
  for (let round = 0; round < rounds; round++) {
    switch (r.int(8)) {
      case 0: {
        // Flip bits.
        for (let i = 0, n = 1 + r.int(4); i < n && out.length > 0; i++) {
          const at = r.int(out.length);
          out[at] = (out[at] as number) ^ (1 << r.int(8));
        }
        break;
      }
      case 1: {
        // A random byte anywhere.
        if (out.length > 0) out[r.int(out.length)] = r.int(256);
        break;
      }
      case 2: {
        // An interesting 16-bit value at an even offset (lengths, counts and ids are 16-bit, 2-aligned).
        if (out.length >= 2) out.writeUInt16BE(r.pick(interesting16), r.int(out.length >> 1) * 2);
        break;
      }
      case 3:
        out = out.subarray(0, r.int(out.length + 1));
        break;
      case 4:
        out = Buffer.concat([out, r.bytes(1 + r.int(64))]);
        break;
      case 5: {
        // Splice: the head of this packet and the tail of another.
        const other = r.pick(all);
        out = Buffer.concat([out.subarray(0, r.int(out.length + 1)), other.subarray(r.int(other.length + 1))]);
        break;
      }
      case 6: {
        // Duplicate a slice in place (repeated sets and records).
        const from = r.int(out.length + 1);
        const to = Math.min(out.length, from + r.int(64));
        out = Buffer.concat([out.subarray(0, to), out.subarray(from, to), out.subarray(to)]);
        break;
      }
      default: {
        // Random bytes after a valid version number.
        const body = r.bytes(r.int(1500));
        out = Buffer.concat([u16(r.pick([5, 9, 10])), body]);
      }
    }
  }
  return out;
}

test(`the NetFlow decoder survives ${packets.toLocaleString('en-US')} mutated packets (seed ${seed})`, { timeout: 600_000 }, (t) => {
  const bases = corpus();
  const decoder = new NetflowDecoder(limits);
  const exporters = ['192.0.2.1', '192.0.2.2', '2001:db8::9'];
  const tally = { ok: 0, malformed: 0, flows: 0, missing: 0 };
  const started = performance.now();
  let slowest = 0;
  for (let i = 0; i < packets; i++) {
    const r = new Random(mulberry32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));
    // One packet in eight is an unmutated one, so templates keep being learned and data decoded.
    const packet = r.chance(0.125) ? r.pick(bases) : mutate(r, r.pick(bases), bases);
    const exporter = r.pick(exporters);
    const now = 1_000_000 + i * 10;
    const t0 = performance.now();
    let result;
    try {
      result = decoder.decode(packet, exporter, now);
    } catch (error) {
      assert.fail(`case ${i} (LOOM_FUZZ_SEED=${seed}) threw: ${String(error)}\npacket: ${packet.toString('hex')}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
    assert.ok(decoder.templates.size <= limits.maxTemplates, `case ${i}: ${decoder.templates.size} templates`);
    if (!result.ok) {
      assert.equal(typeof result.error, 'string');
      tally.malformed++;
      continue;
    }
    tally.ok++;
    tally.missing += result.packet.missingTemplates;
    assert.ok(result.packet.flows.length <= MAX_RECORDS, `case ${i}: ${result.packet.flows.length} flows`);
    const lines: string[] = [];
    renderFlows(result.packet, { ip: exporter, port: 2055 }, now, lines);
    for (const line of lines) {
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch (error) {
        assert.fail(`case ${i} (LOOM_FUZZ_SEED=${seed}) rendered invalid JSON (${String(error)}): ${line}`);
      }
      assert.equal(typeof event, 'object');
      assert.ok(!/[\u0080-\uffff]/.test(line), `case ${i}: event is not ASCII: ${line}`);
      tally.flows++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // Every branch was exercised: some packets decoded into flows, some were refused.
  assert.ok(tally.ok > packets / 10 && tally.malformed > packets / 10 && tally.flows > packets / 10 && tally.missing > 0, JSON.stringify(tally));
  t.diagnostic(`${packets} packets in ${seconds.toFixed(1)} s: ${JSON.stringify(tally)}, slowest ${slowest.toFixed(2)} ms`);
});
