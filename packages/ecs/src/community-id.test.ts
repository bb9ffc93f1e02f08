import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { communityId } from './community-id.js';

interface BaselineFlow {
  proto: number;
  saddr: string;
  daddr: string;
  sport: number | null;
  dport: number | null;
  communityid: string;
}

function baseline(name: string): BaselineFlow[] {
  // Compiled to dist/src/, so the package root is two levels up.
  const url = new URL(`../../test-fixtures/community-id/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as BaselineFlow[];
}

function fromBaseline(row: BaselineFlow): Parameters<typeof communityId>[0] {
  return { sourceIp: row.saddr, destinationIp: row.daddr, protocol: row.proto, sourcePort: row.sport ?? undefined, destinationPort: row.dport ?? undefined };
}

const baselines: [string, { seed?: number; base64?: boolean }][] = [
  ['baseline_deflt.json', {}],
  ['baseline_seed1.json', { seed: 1 }],
  ['baseline_nob64.json', { base64: false }],
];

for (const [file, options] of baselines) {
  test(`every flow of the spec's ${file}`, () => {
    const rows = baseline(file);
    assert.equal(rows.length, 23);
    for (const row of rows) {
      assert.equal(communityId(fromBaseline(row), options), row.communityid, JSON.stringify(row));
    }
  });
}

test('ICMP rows of the baseline also match when given as type and code', () => {
  for (const row of baseline('baseline_deflt.json').filter((r) => r.proto === 1 || r.proto === 58)) {
    const flow = { sourceIp: row.saddr, destinationIp: row.daddr, protocol: row.proto, icmpType: row.sport ?? 0, icmpCode: row.dport ?? 0 };
    assert.equal(communityId(flow), row.communityid);
  }
});

// The tables of baseline/README.md in the spec repository.
const table: [string, string, string, number, number | undefined, number | undefined, string, string, string][] = [
  // proto name, saddr, daddr, proto, sport, dport, default, seed 1, hex
  ['TCP', '1.2.3.4', '5.6.7.8', 6, 1122, 3344, '1:wCb3OG7yAFWelaUydu0D+125CLM=', '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=', '1:c026f7386ef200559e95a53276ed03fb5db908b3'],
  ['TCP', '5.6.7.8', '1.2.3.4', 6, 3344, 1122, '1:wCb3OG7yAFWelaUydu0D+125CLM=', '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=', '1:c026f7386ef200559e95a53276ed03fb5db908b3'],
  ['UDP', '1.2.3.4', '5.6.7.8', 17, 1122, 3344, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=', '1:OShq+iKDAMVouh/4bMxB9Sz4amw=', '1:d0cbbd227431eb3e1988264cffb1d78b658c84e8'],
  ['UDP', '5.6.7.8', '1.2.3.4', 17, 3344, 1122, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=', '1:OShq+iKDAMVouh/4bMxB9Sz4amw=', '1:d0cbbd227431eb3e1988264cffb1d78b658c84e8'],
  ['SCTP', '1.2.3.4', '5.6.7.8', 132, 1122, 3344, '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=', '1:uitchpn5MMGAQKBJh7bIr/bAr7s=', '1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f'],
  ['SCTP', '5.6.7.8', '1.2.3.4', 132, 3344, 1122, '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=', '1:uitchpn5MMGAQKBJh7bIr/bAr7s=', '1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f'],
  ['ICMP', '1.2.3.4', '5.6.7.8', 1, 8, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=', '1:9pr4ZGTICiuZoIh90RRYE2RyXpU=', '1:72ba1d4472f6144b078dbbf752446b7dbb386d9d'],
  ['ICMP', '5.6.7.8', '1.2.3.4', 1, 0, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=', '1:9pr4ZGTICiuZoIh90RRYE2RyXpU=', '1:72ba1d4472f6144b078dbbf752446b7dbb386d9d'],
  ['ICMP', '1.2.3.4', '5.6.7.8', 1, 11, 0, '1:f/YiSyWqczrTgfUCZlBUnvHRcPk=', '1:1DD7cWGC/Yg91YGsQeni8du3pIA=', '1:7ff6224b25aa733ad381f5026650549ef1d170f9'],
  ['ICMP6', 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', 58, 128, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=', '1:IO27GQzPuCtNnwFvjWALMHu5tJE=', '1:d1b7fb872309530b777cc103ef3f0b21f46905ea'],
  ['ICMP6', 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 58, 129, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=', '1:IO27GQzPuCtNnwFvjWALMHu5tJE=', '1:d1b7fb872309530b777cc103ef3f0b21f46905ea'],
  ['ICMP6', 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', 58, 146, 0, '1:fYC8+pz24E+EhANP1EZhpX0Dw10=', '1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=', '1:7d80bcfa9cf6e04f8484034fd44661a57d03c35d'],
  ['RSVP', '1.2.3.4', '5.6.7.8', 46, undefined, undefined, '1:ikv3kmf89luf73WPz1jOs49S768=', '1:/buhqeOmaRCopOZFy9HnoJd5XW8=', '1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf'],
  ['RSVP', '5.6.7.8', '1.2.3.4', 46, undefined, undefined, '1:ikv3kmf89luf73WPz1jOs49S768=', '1:/buhqeOmaRCopOZFy9HnoJd5XW8=', '1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf'],
  ['RSVP', 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', 46, undefined, undefined, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=', '1:c10ff69b0ae75cfe259897077462f978f8d1f9ed'],
  ['RSVP', 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', 46, undefined, undefined, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=', '1:c10ff69b0ae75cfe259897077462f978f8d1f9ed'],
];

test('the README tables: default seed, seed 1 and hex, both directions', () => {
  for (const [name, sourceIp, destinationIp, protocol, sourcePort, destinationPort, deflt, seed1, hex] of table) {
    const flow = { sourceIp, destinationIp, protocol, sourcePort, destinationPort };
    assert.equal(communityId(flow), deflt, `${name} ${sourceIp}`);
    assert.equal(communityId(flow, { seed: 1 }), seed1, `${name} ${sourceIp} seed 1`);
    assert.equal(communityId(flow, { base64: false }), hex, `${name} ${sourceIp} hex`);
  }
});

test('flows checked against the Go sensor and the spec baseline', () => {
  const tcp = (sourceIp: string, sourcePort: number, destinationIp: string, destinationPort: number, seed = 0): string | undefined =>
    communityId({ sourceIp, sourcePort, destinationIp, destinationPort, protocol: 6 }, { seed });
  assert.equal(tcp('128.232.110.120', 34855, '66.35.250.204', 80), '1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  assert.equal(tcp('128.232.110.120', 34855, '66.35.250.204', 80, 1), '1:3V71V58M3Ksw/yuFALMcW0LAHvc=');
  assert.equal(tcp('2001:470:e5bf:dead:4957:2174:e82c:4887', 63943, '2607:f8b0:400c:c03::1a', 25), '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=');
  assert.equal(tcp('2001:470:e5bf:dead:4957:2174:e82c:4887', 63943, '2607:f8b0:400c:c03::1a', 25, 1), '1:eJYTW6AOzFLlSUoESovMjnu7rMw=');
  assert.equal(communityId({ sourceIp: '192.168.1.52', sourcePort: 54585, destinationIp: '8.8.8.8', destinationPort: 53, protocol: 17 }), '1:d/FP5EW3wiY1vCndhwleRRKHowQ=');
  // The Go sensor's own test tuple: both directions agree.
  assert.equal(tcp('192.168.1.1', 12345, '192.168.1.2', 443), '1:Q2e2ECNkbN33SWaUj395wc3Zfp4=');
  assert.equal(tcp('192.168.1.2', 443, '192.168.1.1', 12345), '1:Q2e2ECNkbN33SWaUj395wc3Zfp4=');
});

test('equal addresses are ordered by port', () => {
  const a = communityId({ sourceIp: '10.0.0.1', sourcePort: 80, destinationIp: '10.0.0.1', destinationPort: 1234, protocol: 6 });
  const b = communityId({ sourceIp: '10.0.0.1', sourcePort: 1234, destinationIp: '10.0.0.1', destinationPort: 80, protocol: 6 });
  assert.equal(a, b);
});

test('one-way ICMP is not reordered; request and reply pair up', () => {
  const unreachable = { sourceIp: '5.6.7.8', destinationIp: '1.2.3.4', protocol: 1, icmpType: 3, icmpCode: 1 };
  const reversed = { sourceIp: '1.2.3.4', destinationIp: '5.6.7.8', protocol: 1, icmpType: 3, icmpCode: 1 };
  assert.notEqual(communityId(unreachable), communityId(reversed));
  const solicit = { sourceIp: '1.2.3.4', destinationIp: '5.6.7.8', protocol: 1, icmpType: 10, icmpCode: 0 };
  const advert = { sourceIp: '5.6.7.8', destinationIp: '1.2.3.4', protocol: 1, icmpType: 9, icmpCode: 0 };
  assert.equal(communityId(solicit), communityId(advert));
});

test('IPv4-mapped IPv6 hashes as IPv4, zone indexes are ignored', () => {
  const plain = communityId({ sourceIp: '1.2.3.4', sourcePort: 1122, destinationIp: '5.6.7.8', destinationPort: 3344, protocol: 6 });
  assert.equal(communityId({ sourceIp: '::ffff:1.2.3.4', sourcePort: 1122, destinationIp: '5.6.7.8', destinationPort: 3344, protocol: 6 }), plain);
  assert.equal(communityId({ sourceIp: '::ffff:102:304', sourcePort: 1122, destinationIp: '::ffff:5.6.7.8', destinationPort: 3344, protocol: 6 }), plain);
  const link = { sourceIp: 'fe80::1', destinationIp: 'fe80::2', sourcePort: 1, destinationPort: 2, protocol: 6 };
  assert.equal(communityId({ ...link, sourceIp: 'fe80::1%eth0' }), communityId(link));
});

test('other protocols ignore ports', () => {
  const bare = communityId({ sourceIp: '1.2.3.4', destinationIp: '5.6.7.8', protocol: 46 });
  assert.equal(bare, '1:ikv3kmf89luf73WPz1jOs49S768=');
  assert.equal(communityId({ sourceIp: '1.2.3.4', destinationIp: '5.6.7.8', protocol: 46, sourcePort: 0, destinationPort: 0 }), bare);
});

test('undefined for what cannot be hashed', () => {
  const ok = { sourceIp: '192.168.1.1', sourcePort: 1, destinationIp: '192.168.1.2', destinationPort: 2, protocol: 6 };
  assert.equal(communityId({ ...ok, sourceIp: 'not-an-ip' }), undefined);
  assert.equal(communityId({ ...ok, destinationIp: '' }), undefined);
  assert.equal(communityId({ ...ok, sourceIp: '01.2.3.4' }), undefined);
  assert.equal(communityId({ ...ok, sourceIp: '1.2.3.4.5' }), undefined);
  assert.equal(communityId({ ...ok, destinationIp: '::1' }), undefined, 'mixed families');
  assert.equal(communityId({ ...ok, sourcePort: undefined }), undefined);
  assert.equal(communityId({ ...ok, sourcePort: 65536 }), undefined);
  assert.equal(communityId({ ...ok, destinationPort: -1 }), undefined);
  assert.equal(communityId({ ...ok, destinationPort: 1.5 }), undefined);
  assert.equal(communityId({ ...ok, protocol: 256 }), undefined);
  assert.equal(communityId({ ...ok, protocol: 1, sourcePort: undefined }), undefined, 'ICMP without a type');
  assert.throws(() => communityId(ok, { seed: 65536 }), RangeError);
  assert.throws(() => communityId(ok, { seed: -1 }), RangeError);
});
