import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntelIndex, loadIntelLists, type IntelListConfig } from './index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loom-intel-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function config(name: string, path: string, extra: Partial<IntelListConfig> = {}): IntelListConfig {
  return { name, path, category: 'malicious', confidence: 75, ...extra };
}

test('telemetry-api threats.csv: per-row category and confidence', async () => {
  const path = await file('threats.csv', 'ip_or_cidr,category,confidence\n45.155.205.233,C2,85\n91.121.0.0/16,Malware,60\n8.8.8.8,Test,90\n');
  const { handles, warnings, stats } = await loadIntelLists([config('telemetry', path)]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(stats, [{ list: 'telemetry', indicators: 3, skipped: 0 }]);
  const idx = new IntelIndex(handles);
  assert.deepEqual(idx.matchIp('45.155.205.233'), [{ list: 'telemetry', category: 'C2', confidence: 85, indicator: '45.155.205.233', kind: 'ip' }]);
  assert.deepEqual(idx.matchIp('91.121.200.1'), [{ list: 'telemetry', category: 'Malware', confidence: 60, indicator: '91.121.0.0/16', kind: 'ip' }]);
  assert.deepEqual(idx.matchIp('8.8.8.8').map((m) => m.category), ['Test']);
  assert.deepEqual(idx.matchIp('8.8.4.4'), []);
});

test('threats.csv: detected by its header, quoting, blank cells fall back to the list, bad confidence is a skipped line', async () => {
  const path = await file(
    'threats.txt',
    ['ip_or_cidr,category,confidence', '"10.0.0.0/8","Botnet, Mirai",70', '11.0.0.1,,', '12.0.0.1,scanner,high', '13.0.0.1,scanner,101', '2001:db8::/48,C2,99', '', '# comment'].join('\r\n'),
  );
  const { handles, warnings, stats } = await loadIntelLists([config('csv', path, { category: 'listcat', confidence: 40 })]);
  const idx = new IntelIndex(handles);
  assert.deepEqual(idx.matchIp('10.1.1.1').map((m) => [m.category, m.confidence]), [['Botnet, Mirai', 70]]);
  assert.deepEqual(idx.matchIp('11.0.0.1').map((m) => [m.category, m.confidence]), [['listcat', 40]]);
  assert.deepEqual(idx.matchIp('12.0.0.1'), []);
  assert.deepEqual(idx.matchIp('2001:db8::1').map((m) => m.indicator), ['2001:db8::/48']);
  assert.deepEqual(stats, [{ list: 'csv', indicators: 3, skipped: 2 }]);
  assert.deepEqual(warnings, [
    `intel list "csv": skipped ${path}:4: confidence is not an integer 0..100: "12.0.0.1,scanner,high"`,
    `intel list "csv": skipped ${path}:5: confidence is not an integer 0..100: "13.0.0.1,scanner,101"`,
  ]);
});

test('a .csv file without header is threats-csv by position', async () => {
  const path = await file('noheader.csv', '45.155.205.233,C2,85\n');
  const idx = new IntelIndex((await loadIntelLists([config('c', path)])).handles);
  assert.deepEqual(idx.matchIp('45.155.205.233').map((m) => [m.category, m.confidence]), [['C2', 85]]);
});

test('FireHOL netset and ipset', async () => {
  const netset = await file(
    'firehol_level1.netset',
    ['#', '# firehol_level1', '#', '# ipv4 hash:net ipset', '#', '0.0.0.0/8', '1.10.16.0/20', '1.19.0.0/16', '223.254.0.0/16', ''].join('\n'),
  );
  const ipset = await file('blocklist_de.ipset', '# blocklist_de\n# ipv4 hash:ip ipset\n1.1.1.1\n2.2.2.2\n2.2.2.2\n');
  const { handles, warnings, stats } = await loadIntelLists([config('firehol-level1', netset, { category: 'attacks', confidence: 90 }), config('blocklist-de', ipset, { category: 'scanner' })]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(stats, [
    { list: 'firehol-level1', indicators: 4, skipped: 0 },
    { list: 'blocklist-de', indicators: 2, skipped: 0 },
  ]);
  const idx = new IntelIndex(handles);
  assert.deepEqual(idx.matchIp('1.10.31.255').map((m) => m.indicator), ['1.10.16.0/20']);
  assert.deepEqual(idx.matchIp('1.10.32.0'), []);
  assert.deepEqual(idx.matchIp('0.1.2.3').map((m) => `${m.list}:${m.category}:${m.confidence}`), ['firehol-level1:attacks:90']);
  assert.deepEqual(idx.matchIp('2.2.2.2').map((m) => `${m.list}:${m.category}`), ['blocklist-de:scanner']);
});

test('Spamhaus DROP and DROPv6 with "; SBL" references and a BOM', async () => {
  const drop = await file('drop.txt', '\ufeff; Spamhaus DROP List 2024/06/11 - (c) 2024 The Spamhaus Project SLU\n; Last-Modified: Tue, 11 Jun 2024 06:52:58 GMT\n1.10.16.0/20 ; SBL256894\n1.19.0.0/16 ; SBL434604\n');
  const dropv6 = await file('dropv6.txt', '; Spamhaus IPv6 DROP List\n2001:678:738::/48 ; SBL546219\n2a06:5280::/29 ; SBL600000\n');
  const { handles, warnings } = await loadIntelLists([config('spamhaus-drop', drop, { category: 'hijacked' }), config('spamhaus-dropv6', dropv6, { category: 'hijacked' })]);
  assert.deepEqual(warnings, []);
  const idx = new IntelIndex(handles);
  assert.deepEqual(idx.matchIp('1.19.255.255').map((m) => m.indicator), ['1.19.0.0/16']);
  assert.deepEqual(idx.matchIp('2001:678:738:ffff::1').map((m) => `${m.list}=${m.indicator}`), ['spamhaus-dropv6=2001:678:738::/48']);
  assert.deepEqual(idx.matchIp('2a06:5287:ffff::1').map((m) => m.indicator), ['2a06:5280::/29']);
  assert.deepEqual(idx.matchIp('2a06:5288::1'), []);
});

test('fingerprint lists of each kind, and auto-detection of a mixed list', async () => {
  const ja4 = await file('ja4.txt', '# JA4 of a scanner\nt13d1516h2_8daaf6152771_b186095e22b6\nT13D1516H2_8DAAF6152771_E5627EFA2AB1  # upper case\n');
  const ja3 = await file('ja3.txt', 'e7d705a3286e19ea42f587b344ee6865\n');
  const hassh = await file('hassh.txt', 'ec7378c1a92f5a8dde7e8b7a1ddf33d1\n');
  const ja4h = await file('ja4h.txt', 'ge11cn20enus_60ca1bd65281_ac95b44401d9_8df6a44f726c\n');
  const mixed = await file('mixed.txt', ['45.155.205.0/24', 't13d1516h2_8daaf6152771_b186095e22b6', 'ge11cn20enus_60ca1bd65281_ac95b44401d9_8df6a44f726c', 'ec7378c1a92f5a8dde7e8b7a1ddf33d1'].join('\n'));
  const { handles, warnings, stats } = await loadIntelLists([
    config('ja4-list', ja4, { kind: 'ja4' }),
    config('ja3-list', ja3, { kind: 'ja3' }),
    config('hassh-list', hassh, { kind: 'hassh' }),
    config('ja4h-list', ja4h, { kind: 'ja4h' }),
    config('mixed', mixed),
  ]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    stats.map((s) => s.indicators),
    [2, 1, 1, 1, 4],
  );
  const idx = new IntelIndex(handles);
  assert.deepEqual(idx.matchFingerprint('ja4', 't13d1516h2_8daaf6152771_e5627efa2ab1').map((m) => m.list), ['ja4-list']);
  assert.deepEqual(idx.matchFingerprint('ja4', 't13d1516h2_8daaf6152771_b186095e22b6').map((m) => m.list), ['ja4-list', 'mixed']);
  assert.deepEqual(idx.matchFingerprint('ja3', 'e7d705a3286e19ea42f587b344ee6865').map((m) => m.list), ['ja3-list']);
  assert.deepEqual(idx.matchFingerprint('hassh', 'ec7378c1a92f5a8dde7e8b7a1ddf33d1').map((m) => m.list), ['hassh-list', 'mixed']);
  assert.deepEqual(idx.matchFingerprint('ja4h', 'ge11cn20enus_60ca1bd65281_ac95b44401d9_8df6a44f726c').map((m) => m.list), ['ja4h-list', 'mixed']);
  assert.deepEqual(idx.matchIp('45.155.205.7').map((m) => m.list), ['mixed']);
});

test('malformed lines are counted, the first five quoted with file:line, never fatal', async () => {
  const lines = ['# header', '1.2.3.0/24', 'not-an-ip', '300.1.1.1', '1.2.3.4/40', '', 'fe80::1%eth0', 't13d1516h2_8daaf6152771_b186095e22b6', '1.2.3.4-1.2.3.9', 'zz', '5.6.7.8'];
  const path = await file('bad.netset', lines.join('\n'));
  const { handles, warnings, stats } = await loadIntelLists([config('bad', path, { kind: 'ip' })]);
  assert.deepEqual(stats, [{ list: 'bad', indicators: 2, skipped: 7 }]);
  assert.deepEqual(warnings, [
    `intel list "bad": skipped ${path}:3: not an IP address or CIDR: "not-an-ip"`,
    `intel list "bad": skipped ${path}:4: not an IP address or CIDR: "300.1.1.1"`,
    `intel list "bad": skipped ${path}:5: not an IP address or CIDR: "1.2.3.4/40"`,
    `intel list "bad": skipped ${path}:7: not an IP address or CIDR: "fe80::1%eth0"`,
    `intel list "bad": skipped ${path}:8: not an IP address or CIDR: "t13d1516h2_8daaf6152771_b186095e22b6"`,
    'intel list "bad": 2 more lines skipped (7 in all)',
  ]);
  const idx = new IntelIndex(handles);
  assert.equal(idx.matchIp('5.6.7.8').length, 1);
  assert.equal(idx.matchIp('1.2.3.200').length, 1);
});

test('a long garbage line is quoted shortened', async () => {
  const path = await file('long.txt', `${'x'.repeat(500)}\n`);
  const { warnings } = await loadIntelLists([config('long', path)]);
  assert.equal(warnings[0], `intel list "long": skipped ${path}:1: not an IP address, CIDR, JA4, JA4H or 32-hex JA3/HASSH fingerprint: "${'x'.repeat(80)}…"`);
  assert.equal(warnings[1], `intel list "long": ${path} holds no indicators`);
});

test('a wrong-kind value in a fingerprint list is skipped', async () => {
  const path = await file('ja3-bad.txt', 'e7d705a3286e19ea42f587b344ee6865\n1.2.3.4\nt13d1516h2_8daaf6152771_b186095e22b6\ne7d705a3286e19ea42f587b344ee686\n');
  const { stats, warnings } = await loadIntelLists([config('ja3', path, { kind: 'ja3' })]);
  assert.deepEqual(stats, [{ list: 'ja3', indicators: 1, skipped: 3 }]);
  assert.match(warnings[0] ?? '', /ja3-bad\.txt:2: not a JA3 fingerprint \(32 hex digits\): "1\.2\.3\.4"/);
});

test('an unreadable file is an error naming the list and path; a file without a final newline is fine', async () => {
  const missing = join(dir, 'missing.txt');
  await assert.rejects(loadIntelLists([config('gone', missing)]), (error: Error) => error.message.startsWith(`intel list "gone": cannot read ${missing}: ENOENT`));
  const path = await file('nonl.txt', '9.9.9.9');
  const { stats } = await loadIntelLists([config('nonl', path)]);
  assert.deepEqual(stats, [{ list: 'nonl', indicators: 1, skipped: 0 }]);
});

test('an empty list warns and matches nothing', async () => {
  const path = await file('empty.txt', '# nothing yet\n');
  const { handles, warnings, stats } = await loadIntelLists([config('empty', path)]);
  assert.deepEqual(warnings, [`intel list "empty": ${path} holds no indicators`]);
  assert.deepEqual(stats, [{ list: 'empty', indicators: 0, skipped: 0 }]);
  assert.deepEqual(new IntelIndex(handles).matchIp('1.2.3.4'), []);
});

test('lines split across read chunks are joined', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 120_000; i++) lines.push(`10.${(i >> 8) & 255}.${i & 255}.${i >> 16}`);
  const path = await file('chunks.txt', lines.join('\n'));
  const { handles, stats } = await loadIntelLists([config('chunks', path)]);
  assert.deepEqual(stats, [{ list: 'chunks', indicators: 120_000, skipped: 0 }]);
  const idx = new IntelIndex(handles);
  for (const i of [0, 1, 54_321, 119_999]) assert.equal(idx.matchIp(`10.${(i >> 8) & 255}.${i & 255}.${i >> 16}`).length, 1, String(i));
});
