import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random, mulberry32, seedFromEnv } from '@loom/test-support';
import { IntelIndex, buildIntelIndex, type IntelListData } from './index.js';

function list(name: string, indicators: IntelListData['indicators'], category = 'malicious', confidence = 75): IntelListData {
  return { name, category, confidence, indicators };
}

async function index(...lists: IntelListData[]): Promise<IntelIndex> {
  return new IntelIndex(await buildIntelIndex(lists));
}

/** "list=indicator" pairs, for compact assertions. */
function hits(idx: IntelIndex, ip: string): string[] {
  return idx.matchIp(ip).map((m) => `${m.list}=${m.indicator}`);
}

test('first and last address of a range match; their neighbours do not', async () => {
  const idx = await index(list('a', ['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32']));
  assert.deepEqual(hits(idx, '10.0.0.0'), ['a=10.0.0.0/8']);
  assert.deepEqual(hits(idx, '10.255.255.255'), ['a=10.0.0.0/8']);
  assert.deepEqual(hits(idx, '9.255.255.255'), []);
  assert.deepEqual(hits(idx, '11.0.0.0'), []);
  assert.deepEqual(hits(idx, '192.168.0.255'), []);
  assert.deepEqual(hits(idx, '192.168.1.0'), ['a=192.168.1.0/24']);
  assert.deepEqual(hits(idx, '192.168.1.255'), ['a=192.168.1.0/24']);
  assert.deepEqual(hits(idx, '192.168.2.0'), []);
  assert.deepEqual(hits(idx, '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'), []);
  assert.deepEqual(hits(idx, '2001:db8::'), ['a=2001:db8::/32']);
  assert.deepEqual(hits(idx, '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), ['a=2001:db8::/32']);
  assert.deepEqual(hits(idx, '2001:db9::'), []);
});

test('/0, /32 and /128, including the very first and last addresses', async () => {
  const idx = await index(list('all4', ['0.0.0.0/0']), list('all6', ['::/0']), list('hosts', ['255.255.255.255', '0.0.0.0/32', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', '2001:db8::7']));
  assert.deepEqual(hits(idx, '0.0.0.0'), ['hosts=0.0.0.0', 'all4=0.0.0.0/0']);
  assert.deepEqual(hits(idx, '0.0.0.1'), ['all4=0.0.0.0/0']);
  assert.deepEqual(hits(idx, '255.255.255.255'), ['hosts=255.255.255.255', 'all4=0.0.0.0/0']);
  assert.deepEqual(hits(idx, '255.255.255.254'), ['all4=0.0.0.0/0']);
  assert.deepEqual(hits(idx, '::'), ['hosts=::', 'all6=::/0']);
  assert.deepEqual(hits(idx, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), ['hosts=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'all6=::/0']);
  assert.deepEqual(hits(idx, '2001:db8::7'), ['hosts=2001:db8::7', 'all6=::/0']);
  assert.deepEqual(hits(idx, '2001:db8::6'), ['all6=::/0']);
  assert.deepEqual(hits(idx, '2001:db8::8'), ['all6=::/0']);
});

test('overlapping prefixes: every list is reported with its most specific prefix, most specific first', async () => {
  const idx = await index(
    list('spamhaus', ['1.2.0.0/16'], 'botnet', 90),
    list('firehol', ['1.2.3.0/24', '1.0.0.0/8', '1.2.3.128/25'], 'scanner', 60),
  );
  assert.deepEqual(hits(idx, '1.2.3.4'), ['firehol=1.2.3.0/24', 'spamhaus=1.2.0.0/16']);
  assert.deepEqual(hits(idx, '1.2.3.200'), ['firehol=1.2.3.128/25', 'spamhaus=1.2.0.0/16']);
  assert.deepEqual(hits(idx, '1.2.4.1'), ['spamhaus=1.2.0.0/16', 'firehol=1.0.0.0/8']);
  assert.deepEqual(hits(idx, '1.3.0.0'), ['firehol=1.0.0.0/8']);
  const [first, second] = idx.matchIp('1.2.3.4');
  assert.deepEqual(first, { list: 'firehol', category: 'scanner', confidence: 60, indicator: '1.2.3.0/24', kind: 'ip' });
  assert.deepEqual(second, { list: 'spamhaus', category: 'botnet', confidence: 90, indicator: '1.2.0.0/16', kind: 'ip' });
});

test('the same prefix in two lists matches both; twice in one list, once', async () => {
  const idx = await index(list('a', ['5.5.5.0/24', '5.5.5.0/24', '5.5.5.9/24']), list('b', ['5.5.5.0/24']));
  assert.deepEqual(hits(idx, '5.5.5.5').sort(), ['a=5.5.5.0/24', 'b=5.5.5.0/24']);
});

test('IPv4-mapped IPv6 addresses match IPv4 prefixes, and mapped prefixes match IPv4 addresses', async () => {
  const idx = await index(list('a', ['198.51.100.0/24', '::ffff:203.0.113.0/120']));
  assert.deepEqual(hits(idx, '::ffff:198.51.100.7'), ['a=198.51.100.0/24']);
  assert.deepEqual(hits(idx, '::FFFF:c633:6407'), ['a=198.51.100.0/24']);
  assert.deepEqual(hits(idx, '203.0.113.9'), ['a=203.0.113.0/24']);
  assert.deepEqual(hits(idx, '::ffff:203.0.114.9'), []);
});

test('lookups of things that are not one address match nothing and do not throw', async () => {
  const idx = await index(list('a', ['0.0.0.0/0', '::/0']));
  for (const value of ['', '10.0.0.0/8', 'example.com', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4:80', '[::1]', 'x'.repeat(10_000), '1.2.3.04']) {
    assert.deepEqual(idx.matchIp(value), [], JSON.stringify(value.slice(0, 20)));
  }
  for (const value of [undefined, null, 42, {}, []]) assert.deepEqual(idx.matchIp(value as unknown as string), []);
  assert.deepEqual(hits(idx, 'fe80::1%eth0'), ['a=::/0']);
});

test('fingerprints: exact, case-insensitive, per kind; auto-detected MD5 values match JA3 and HASSH', async () => {
  const ja4 = 't13d1516h2_8daaf6152771_b186095e22b6';
  const ja4h = 'ge11cn20enus_60ca1bd65281_ac95b44401d9_8df6a44f726c';
  const md5 = 'e7d705a3286e19ea42f587b344ee6865';
  const idx = await index(
    list('tools', [ja4, ja4h, md5], 'scanner', 80),
    { name: 'ssh-bots', kind: 'hassh', category: 'botnet', confidence: 90, indicators: ['51CBA57125523CE4B9DB67714A90BF6E'] },
  );
  assert.deepEqual(idx.matchFingerprint('ja4', ja4.toUpperCase()), [{ list: 'tools', category: 'scanner', confidence: 80, indicator: ja4, kind: 'ja4' }]);
  assert.deepEqual(idx.matchFingerprint('ja4h', ja4h).map((m) => m.list), ['tools']);
  assert.deepEqual(idx.matchFingerprint('ja3', md5).map((m) => `${m.list}:${m.kind}`), ['tools:ja3']);
  assert.deepEqual(idx.matchFingerprint('hassh', md5).map((m) => `${m.list}:${m.kind}`), ['tools:hassh']);
  assert.deepEqual(idx.matchFingerprint('hassh', '51cba57125523ce4b9db67714a90bf6e').map((m) => m.list), ['ssh-bots']);
  assert.deepEqual(idx.matchFingerprint('ja3', '51cba57125523ce4b9db67714a90bf6e'), [], 'a HASSH list does not match JA3');
  assert.deepEqual(idx.matchFingerprint('ja4h', ja4), []);
  assert.deepEqual(idx.matchFingerprint('ja4', ''), []);
  assert.deepEqual(idx.matchFingerprint('ja4', 7 as unknown as string), []);
});

test('an invalid in-memory indicator is an error naming it', async () => {
  await assert.rejects(buildIntelIndex([list('a', ['10.0.0.0/33'])]), /intel list "a": "10.0.0.0\/33" is not an IP address or CIDR/);
  await assert.rejects(buildIntelIndex([{ ...list('a', ['10.0.0.1']), kind: 'ja4' }]), /not a JA4 fingerprint/);
  await assert.rejects(buildIntelIndex([list('a', []), list('a', [])]), /used twice/);
});

test('per-indicator category and confidence', async () => {
  const idx = await index(list('csv', [{ value: '45.155.205.233', category: 'C2', confidence: 85 }, '91.121.0.0/16']));
  assert.deepEqual(idx.matchIp('45.155.205.233').map((m) => [m.category, m.confidence]), [['C2', 85]]);
  assert.deepEqual(idx.matchIp('91.121.1.1').map((m) => [m.category, m.confidence]), [['malicious', 75]]);
});

test('empty index', async () => {
  const idx = await index();
  assert.deepEqual(idx.matchIp('1.2.3.4'), []);
  assert.deepEqual(idx.matchIp('::1'), []);
  assert.equal(idx.size().ranges, 2);
});

/** Brute force: every list's most specific prefix containing the address. */
function naive(lists: { name: string; prefixes: [bigint, number][] }[], address: bigint, bits: number): string[] {
  const found: { name: string; length: number; text: string }[] = [];
  for (const l of lists) {
    let best: [bigint, number] | undefined;
    for (const [network, length] of l.prefixes) {
      const shift = BigInt(bits - length);
      if (address >> shift === network >> shift && (best === undefined || length > best[1])) best = [network, length];
    }
    if (best !== undefined) found.push({ name: l.name, length: best[1], text: `${best[0]}/${best[1]}` });
  }
  return found
    .sort((x, y) => y.length - x.length || x.name.localeCompare(y.name))
    .map((f) => `${f.name}=${f.text}`);
}

function v4Text(value: bigint): string {
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6Text(value: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(16 * i)) & 0xffffn).toString(16));
  return groups.join(':');
}

for (const family of [4, 6] as const) {
  test(`random nested and overlapping IPv${family} prefixes agree with brute force`, async () => {
    const seed = seedFromEnv('LOOM_FUZZ_SEED', 20240611 + family);
    const random = new Random(mulberry32(seed));
    const bits = family === 4 ? 32 : 128;
    // Addresses cluster in a small region so prefixes nest and collide often.
    const base = family === 4 ? 0x0a000000n : 0x20010db8n << 96n;
    const randomAddress = (): bigint => base + BigInt(random.int(4096)) * (family === 4 ? 1n : 1n << 80n) + (family === 6 && random.chance(0.3) ? BigInt(random.int(1 << 16)) : 0n);
    const text = family === 4 ? v4Text : v6Text;
    const lists: { name: string; prefixes: [bigint, number][] }[] = [];
    for (let l = 0; l < 4; l++) {
      const prefixes: [bigint, number][] = [];
      for (let i = 0; i < 120; i++) {
        const length = family === 4 ? 18 + random.int(15) : 30 + random.int(99);
        const shift = BigInt(bits - length);
        const network = (randomAddress() >> shift) << shift;
        prefixes.push([network, length]);
      }
      if (random.chance(0.5)) prefixes.push([0n, family === 4 ? 4 : 8]);
      lists.push({ name: `l${l}`, prefixes });
    }
    const idx = await index(...lists.map((l) => list(l.name, l.prefixes.map(([n, len]) => `${text(n)}/${len}`))));
    const probes: bigint[] = [];
    for (const l of lists) {
      for (const [network, length] of l.prefixes) {
        const last = network + (1n << BigInt(bits - length)) - 1n;
        probes.push(network, last, network - 1n, last + 1n);
      }
    }
    for (let i = 0; i < 2000; i++) probes.push(randomAddress() + BigInt(random.int(256)));
    const max = (1n << BigInt(bits)) - 1n;
    let matched = 0;
    let overlapping = 0;
    for (const probe of probes) {
      if (probe < 0n || probe > max) continue;
      const expected = naive(lists, probe, bits).map((hit) => {
        const [name, rest] = hit.split('=') as [string, string];
        const [network, length] = rest.split('/') as [string, string];
        const shown = Number(length) === bits ? text(BigInt(network)) : `${text(BigInt(network))}/${length}`;
        return `${name}=${shown}`;
      });
      const actual = hits(idx, text(probe)).map((hit) => {
        // Normalise the index's compressed IPv6 text to the brute force's uncompressed form.
        if (family === 4) return hit;
        const [name, rest] = hit.split('=') as [string, string];
        const [address, length] = rest.split('/') as [string, string | undefined];
        return `${name}=${v6Text(v6Value(address))}${length === undefined ? '' : `/${length}`}`;
      });
      // Equal-length matches from different lists come out in list order; compare as sets within a length.
      assert.deepEqual([...actual].sort(), [...expected].sort(), `seed ${seed}, probe ${text(probe)}`);
      assert.deepEqual(lengthsOf(actual), lengthsOf(expected), `order by specificity, probe ${text(probe)}`);
      if (expected.length > 0) matched++;
      if (expected.length > 1) overlapping++;
    }
    assert.ok(matched > probes.length / 4 && overlapping > probes.length / 10, `the probes exercise overlaps (${matched}, ${overlapping} of ${probes.length})`);
  });
}

function lengthsOf(found: string[]): number[] {
  return found.map((hit) => {
    const slash = hit.lastIndexOf('/');
    return slash < 0 ? 999 : Number(hit.slice(slash + 1));
  });
}

function v6Value(text: string): bigint {
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
