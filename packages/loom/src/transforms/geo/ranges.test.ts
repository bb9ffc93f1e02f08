import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GeoAsnLookup, GeoDataError, openGeoData, type EcsAs } from './index.js';
import { parseRangeCsv } from './ranges.js';

const CSV = [
  '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
  '1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd',
  '2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""',
  '8.8.8.0,8.8.8.255,15169,Google LLC',
  '9.9.9.0,9.9.9.255,19281,',
  '81.2.69.0,81.2.69.255,0,Not routed',
  '223.255.255.0,223.255.255.255,4608,"Société Générale, ""Ω"""',
  '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC',
  '2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,15169,"Google, LLC"',
  '2c0f:ffff::,2c0f:ffff:ffff:ffff:ffff:ffff:ffff:fffe,37000,AFRINIC',
].join('\n');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'loom-geo-csv-'));
}

async function openCsv(text: string, name = 'asn.csv'): Promise<{ lookup: GeoAsnLookup; path: string }> {
  const dir = tempDir();
  const path = join(dir, name);
  writeFileSync(path, text);
  try {
    return { lookup: new GeoAsnLookup(await openGeoData({ geoipPath: '', asnPath: path })), path };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function as(lookup: GeoAsnLookup, ip: string): EcsAs | undefined {
  const result = lookup.lookup(ip);
  assert.equal(result.geo, undefined);
  return result.as;
}

test('a range CSV answers IPv4 and IPv6 lookups, boundaries included', async () => {
  const { lookup } = await openCsv(CSV);
  const cloudflare = { number: 13335, organization: { name: 'Cloudflare, Inc.' } };
  assert.deepEqual(as(lookup, '1.0.0.0'), cloudflare);
  assert.deepEqual(as(lookup, '1.0.0.77'), cloudflare);
  assert.deepEqual(as(lookup, '1.0.0.255'), cloudflare);
  assert.equal(as(lookup, '0.255.255.255'), undefined);
  assert.equal(as(lookup, '1.0.1.0'), undefined);
  assert.equal(as(lookup, '1.0.3.255'), undefined);
  assert.deepEqual(as(lookup, '1.0.4.0'), { number: 38803, organization: { name: 'Gtelecom Pty Ltd' } });
  assert.deepEqual(as(lookup, '1.0.7.255'), { number: 38803, organization: { name: 'Gtelecom Pty Ltd' } });
  assert.equal(as(lookup, '1.0.8.0'), undefined);
  assert.deepEqual(as(lookup, '2.26.210.1'), { number: 201907, organization: { name: 'LLC "SPUTNIK"' } });
  assert.deepEqual(as(lookup, '8.8.8.8'), { number: 15169, organization: { name: 'Google LLC' } });
  assert.deepEqual(as(lookup, '::ffff:8.8.8.8'), { number: 15169, organization: { name: 'Google LLC' } });
  assert.deepEqual(as(lookup, '9.9.9.9'), { number: 19281 }, 'an empty organisation is left out');
  assert.equal(as(lookup, '81.2.69.142'), undefined, 'AS 0 is never reported');
  assert.deepEqual(as(lookup, '223.255.255.255'), { number: 4608, organization: { name: 'Société Générale, "Ω"' } });
  assert.deepEqual(as(lookup, '2001:4860:4860::8888'), { number: 15169, organization: { name: 'Google LLC' } });
  assert.deepEqual(as(lookup, '2001:4860::'), { number: 15169, organization: { name: 'Google LLC' } });
  assert.deepEqual(as(lookup, '2001:4860:ffff:ffff:ffff:ffff:ffff:ffff'), { number: 15169, organization: { name: 'Google LLC' } });
  assert.equal(as(lookup, '2001:4861::'), undefined);
  assert.equal(as(lookup, '2001:485f:ffff:ffff:ffff:ffff:ffff:ffff'), undefined);
  assert.deepEqual(as(lookup, '2a00:1450:4001::1'), { number: 15169, organization: { name: 'Google, LLC' } });
  assert.deepEqual(as(lookup, '2c0f:ffff:ffff:ffff:ffff:ffff:ffff:fffe'), { number: 37000, organization: { name: 'AFRINIC' } });
  assert.equal(as(lookup, '2c0f:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), undefined);
  assert.deepEqual(lookup.lookup('10.0.0.1'), {});
  assert.deepEqual(lookup.lookup('not an address'), {});
  const [info] = lookup.describe();
  assert.equal(info?.kind, 'asn');
  assert.equal(info?.type, 'csv');
  assert.equal(info?.ipVersion, 6);
  assert.deepEqual(info?.families, [4, 6]);
  assert.equal(info?.bundled, false);
  assert.equal(typeof info?.buildEpoch, 'number');
});

test('CRLF line ends, a byte order mark, a header and blank lines are accepted', async () => {
  const text = `\uFEFFip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization\r\n\r\n${CSV.replaceAll('\n', '\r\n')}\r\n\r\n`;
  const { lookup } = await openCsv(text);
  assert.deepEqual(as(lookup, '1.0.0.1'), { number: 13335, organization: { name: 'Cloudflare, Inc.' } });
  assert.deepEqual(as(lookup, '2c0f:ffff::1'), { number: 37000, organization: { name: 'AFRINIC' } });
});

test('malformed lines fail the load with the file and line', async () => {
  const cases: [string, RegExp][] = [
    ['1.0.0.0,1.0.0.255,13335', /:2: expected 4 fields/],
    ['1.0.0.0,1.0.0.255,AS13335,x', /:2: AS number "AS13335" is not an integer/],
    ['1.0.0.0,1.0.0.255,4294967296,x', /:2: AS number "4294967296"/],
    ['1.0.0.0,1.0.0.256,1,x', /:2: range end "1.0.0.256" is not an IPv4 address/],
    ['1.0.0.0,::1,1,x', /:2: range end "::1" is not an IPv4 address/],
    ['one,1.0.0.255,1,x', /:2: range start "one" is not an IP address/],
    ['1.0.0.255,1.0.0.0,1,x', /:2: range start is after its end/],
    ['1.0.0.0,1.0.0.255,1,"unterminated', /:2: unterminated or malformed quoted organization/],
    ['1.0.0.0,1.0.0.255,1,"quoted" trailing', /:2: unterminated or malformed quoted organization/],
  ];
  for (const [bad, expected] of cases) {
    const text = `8.8.8.0,8.8.8.255,15169,Google LLC\n${bad}\n9.9.9.0,9.9.9.255,19281,Quad9\n`;
    await assert.rejects(openCsv(text, 'broken.csv'), (error: unknown) => {
      assert.ok(error instanceof GeoDataError);
      assert.match(error.message, /broken\.csv:2: /);
      assert.match(error.message, expected);
      assert.equal(error.line, 2);
      return true;
    });
  }
  await assert.rejects(openCsv('1.2.3.4\n'), /asn\.csv:1: expected 4 fields/, 'a first line with digits is data, not a header');
  await assert.rejects(openCsv('start,end,asn,org\n'), /asn\.csv: holds no AS data/);
});

test('overlapping and unsorted ranges: the later-starting, more specific range wins', async () => {
  const text = [
    '10.0.0.0,10.255.255.255,1,reserved but fine',
    '30.0.0.0,30.0.0.255,30,after',
    '20.0.0.0,20.0.255.255,100,outer',
    '20.0.1.0,20.0.1.255,200,inner',
    '20.0.1.128,20.0.1.135,300,innermost',
    '20.0.255.0,20.1.0.255,400,straddling',
    '20.0.0.0,20.0.0.15,500,same start',
    '2001:db9::,2001:db9:ffff:ffff:ffff:ffff:ffff:ffff,600,outer6',
    '2001:db9:1::,2001:db9:1:ffff:ffff:ffff:ffff:ffff,700,inner6',
  ].join('\n');
  const { lookup } = await openCsv(text);
  const n = (ip: string): number | undefined => as(lookup, ip)?.number;
  assert.equal(n('20.0.0.0'), 500);
  assert.equal(n('20.0.0.15'), 500);
  assert.equal(n('20.0.0.16'), 100);
  assert.equal(n('20.0.0.255'), 100);
  assert.equal(n('20.0.1.0'), 200);
  assert.equal(n('20.0.1.127'), 200);
  assert.equal(n('20.0.1.128'), 300);
  assert.equal(n('20.0.1.135'), 300);
  assert.equal(n('20.0.1.136'), 200);
  assert.equal(n('20.0.1.255'), 200);
  assert.equal(n('20.0.2.0'), 100);
  assert.equal(n('20.0.254.255'), 100);
  assert.equal(n('20.0.255.0'), 400);
  assert.equal(n('20.1.0.255'), 400);
  assert.equal(n('20.1.1.0'), undefined);
  assert.equal(n('30.0.0.1'), 30);
  assert.equal(n('2001:db9::1'), 600);
  assert.equal(n('2001:db9:1::1'), 700);
  assert.equal(n('2001:db9:2::1'), 600);
  assert.equal(n('2001:db9:ffff::1'), 600);
});

test('the parsed tables are sorted, disjoint and shared', async () => {
  const ranges = await parseRangeCsv('mem.csv', Buffer.from('5.0.0.0,5.0.0.9,5,e\n1.0.0.0,1.0.0.9,1,a\n1.0.0.5,1.0.0.20,2,b\n'));
  assert.ok(ranges.v4.starts instanceof SharedArrayBuffer);
  assert.ok(ranges.orgText instanceof SharedArrayBuffer);
  assert.deepEqual([...new Uint32Array(ranges.v4.starts)], [0x01000000, 0x01000005, 0x05000000]);
  assert.deepEqual([...new Uint32Array(ranges.v4.ends)], [0x01000004, 0x01000014, 0x05000009]);
  assert.deepEqual([...new Uint32Array(ranges.v4.asns)], [1, 2, 5]);
  assert.equal(ranges.v6.count, 0);
});

test('a CSV is not accepted as GeoIP data', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'asn.csv');
    writeFileSync(path, CSV);
    await assert.rejects(openGeoData({ geoipPath: path, asnPath: '' }), /asn\.csv: range CSV files hold ASN data/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory of ip-location-db ASN files uses each file for its family and skips the -num files', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'asn-ipv4.csv'), '8.8.8.0,8.8.8.255,15169,Google LLC\n');
    writeFileSync(join(dir, 'asn-ipv6.csv'), '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n');
    writeFileSync(join(dir, 'asn-ipv4-num.csv'), '134744064,134744319,15169,Google LLC\n');
    const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: '', asnPath: dir }));
    assert.equal(lookup.lookup('8.8.8.8').as?.number, 15169);
    assert.equal(lookup.lookup('2001:4860::1').as?.number, 15169);
    assert.deepEqual(
      lookup.describe().map((i) => [i.path, i.families, i.ipVersion]),
      [
        [join(dir, 'asn-ipv4.csv'), [4], 4],
        [join(dir, 'asn-ipv6.csv'), [6], 6],
      ],
    );
    writeFileSync(join(dir, 'more-ipv4.csv'), '9.9.9.0,9.9.9.255,19281,Quad9\n');
    await assert.rejects(openGeoData({ geoipPath: '', asnPath: dir }), /both asn-ipv4\.csv and more-ipv4\.csv answer IPv4 lookups/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
