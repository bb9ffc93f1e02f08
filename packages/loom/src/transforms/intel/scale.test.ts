import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Random, mulberry32, seedFromEnv } from '@loom/test-support';
import { IntelIndex, loadIntelLists } from './index.js';

/*
 * A million random CIDRs in one file, shaped like real block lists: mostly single addresses
 * and /24s, some wide networks that nest over them, a tenth IPv6. Figures are printed as
 * test diagnostics; nothing here asserts on time (npm run bench is the place for that).
 */
const LINES = 1_000_000;

function ipv4Line(random: Random): { text: string; first: string } {
  const roll = random.int(100);
  const length = roll < 60 ? 32 : roll < 85 ? 24 : roll < 97 ? 16 + random.int(8) : 8 + random.int(8);
  const address = (random.int(0x10000) * 0x10000 + random.int(0x10000)) >>> 0;
  const network = length === 0 ? 0 : (address & (0xffffffff << (32 - length))) >>> 0;
  const text = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}`;
  return { text: length === 32 ? text : `${text}/${length}`, first: text };
}

function ipv6Line(random: Random): { text: string; first: string } {
  const groups = [0x2000 + random.int(0x1000), random.int(0x10000), random.int(0x10000), random.int(0x10000)];
  const length = random.chance(0.5) ? 48 : 64;
  if (length === 48) groups[3] = 0;
  const first = `${groups.map((g) => g.toString(16)).join(':')}::`;
  return { text: `${first}/${length}`, first };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

test('one million random CIDRs: load, memory, lookups per second', async (t) => {
  const seed = seedFromEnv('LOOM_FUZZ_SEED', 1_000_000);
  const random = new Random(mulberry32(seed));
  const dir = await mkdtemp(join(tmpdir(), 'loom-intel-scale-'));
  try {
    const samples: string[] = [];
    const path = join(dir, 'million.netset');
    const file = await open(path, 'w');
    await file.write(`# generated, seed ${seed}\n`);
    for (let block = 0; block < LINES; block += 50_000) {
      const lines: string[] = [];
      for (let i = block; i < block + 50_000; i++) {
        const line = i % 10 === 9 ? ipv6Line(random) : ipv4Line(random);
        lines.push(line.text);
        if (i % 1000 === 0) samples.push(line.first);
      }
      await file.write(`${lines.join('\n')}\n`);
    }
    await file.close();

    const memoryBefore = process.memoryUsage();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let peakRss = memoryBefore.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10);
    const started = performance.now();
    const { handles, stats, warnings } = await loadIntelLists([{ name: 'million', path, category: 'scanner', confidence: 50 }]);
    const loadMs = performance.now() - started;
    clearInterval(sampler);
    delay.disable();
    const memoryAfter = process.memoryUsage();

    assert.deepEqual(warnings, []);
    assert.equal(stats[0]?.skipped, 0);
    assert.ok((stats[0]?.indicators ?? 0) > LINES * 0.95, 'duplicates (wide networks drawn twice) are few');
    const index = new IntelIndex(handles);
    for (const address of samples) assert.ok(index.matchIp(address).length >= 1, address);

    const probes4: string[] = [];
    const probes6: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const a = (random.int(0x10000) * 0x10000 + random.int(0x10000)) >>> 0;
      probes4.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
      probes6.push(`${(0x2000 + random.int(0x1000)).toString(16)}:${random.int(0x10000).toString(16)}::${random.int(0x10000).toString(16)}`);
    }
    const rate = (probes: string[]): { perSecond: number; hits: number } => {
      let hits = 0;
      for (const ip of probes.slice(0, 20_000)) hits += index.matchIp(ip).length;
      hits = 0;
      const begin = performance.now();
      for (const ip of probes) hits += index.matchIp(ip).length;
      return { perSecond: probes.length / ((performance.now() - begin) / 1000), hits };
    };
    const v4 = rate(probes4);
    const v6 = rate(probes6);
    const size = index.size();

    t.diagnostic(`load of ${LINES.toLocaleString("en")} CIDRs, ${stats[0]?.indicators} unique (${size.ipv4Prefixes} IPv4, ${size.ipv6Prefixes} IPv6 -> ${size.ranges} ranges): ${seconds(loadMs)}`);
    t.diagnostic(`longest event-loop stall during the load: ${(delay.max / 1e6).toFixed(0)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms)`);
    t.diagnostic(`shared index memory: ${mib(size.sharedBytes)}; process after/before the load: rss ${mib(memoryAfter.rss)}/${mib(memoryBefore.rss)} (peak ${mib(peakRss)}), heap ${mib(memoryAfter.heapUsed)}/${mib(memoryBefore.heapUsed)}, array buffers ${mib(memoryAfter.arrayBuffers)}/${mib(memoryBefore.arrayBuffers)}`);
    t.diagnostic(`lookups: IPv4 ${Math.round(v4.perSecond).toLocaleString('en')}/s (${v4.hits} hits in ${probes4.length}), IPv6 ${Math.round(v6.perSecond).toLocaleString('en')}/s`);
    t.diagnostic(`per lookup: IPv4 ${(1e6 / v4.perSecond).toFixed(2)} µs, IPv6 ${(1e6 / v6.perSecond).toFixed(2)} µs`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
