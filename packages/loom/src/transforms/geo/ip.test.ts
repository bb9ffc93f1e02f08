import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { embeddedIpv4, formatIpv4, formatIpv6, isReservedIpv4, isReservedIpv6, parseIp } from './ip.js';

function parse(s: string): string | undefined {
  const out = new Uint32Array(4);
  const family = parseIp(s, 0, s.length, out);
  if (family === 0) return undefined;
  return family === 4 ? formatIpv4(out[0] ?? 0) : formatIpv6(out);
}

test('valid addresses parse to their numbers', () => {
  assert.equal(parse('8.8.8.8'), '8.8.8.8');
  assert.equal(parse('0.0.0.0'), '0.0.0.0');
  assert.equal(parse('255.255.255.255'), '255.255.255.255');
  assert.equal(parse('::'), '0:0:0:0:0:0:0:0');
  assert.equal(parse('::1'), '0:0:0:0:0:0:0:1');
  assert.equal(parse('1::'), '1:0:0:0:0:0:0:0');
  assert.equal(parse('2001:4860:4860::8888'), '2001:4860:4860:0:0:0:0:8888');
  assert.equal(parse('2001:DB8:0:0:0:0:0:1'), '2001:db8:0:0:0:0:0:1');
  assert.equal(parse('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0');
  assert.equal(parse('::ffff:1.2.3.4'), '0:0:0:0:0:ffff:102:304');
  assert.equal(parse('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  assert.equal(parse('fe80::1%eth0'), 'fe80:0:0:0:0:0:0:1');
});

test('anything else is rejected, as node:net rejects it', () => {
  const invalid = [
    '', ' 8.8.8.8', '8.8.8.8 ', '8.8.8', '8.8.8.8.8', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..2.3', '1.2.3.', '-1.2.3.4',
    '1.2.3.4:80', '[::1]', ':', ':::', '1:2', '1::2::3', '12345::', '::g', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::',
    ':1::', '1:', '::1.2.3', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%', 'not-an-ip', '８.８.８.８',
  ];
  for (const s of invalid) {
    assert.equal(parse(s), undefined, JSON.stringify(s));
    assert.equal(isIP(s), 0, `node:net agrees about ${JSON.stringify(s)}`);
  }
});

test('a slice of a longer string parses on its own', () => {
  const out = new Uint32Array(4);
  const line = '1.0.0.0,1.0.0.255,13335';
  assert.equal(parseIp(line, 0, 7, out), 4);
  assert.equal(out[0], 0x01000000);
  assert.equal(parseIp(line, 8, 17, out), 4);
  assert.equal(out[0], 0x010000ff);
  const v6 = 'x,2001:db8::,y';
  assert.equal(parseIp(v6, 2, 12, out), 6);
  assert.equal(out[0], 0x20010db8);
});

test('mapped, NAT64 and 6to4 addresses stand for their IPv4 address', () => {
  const words = (s: string): Uint32Array => {
    const out = new Uint32Array(4);
    assert.equal(parseIp(s, 0, s.length, out), 6);
    return out;
  };
  assert.equal(formatIpv4(embeddedIpv4(words('::ffff:8.8.8.8'))), '8.8.8.8');
  assert.equal(formatIpv4(embeddedIpv4(words('::ffff:808:808'))), '8.8.8.8');
  assert.equal(formatIpv4(embeddedIpv4(words('64:ff9b::1.1.1.1'))), '1.1.1.1');
  assert.equal(formatIpv4(embeddedIpv4(words('2002:0808:0404::1'))), '8.8.4.4');
  assert.equal(embeddedIpv4(words('2001:4860::8888')), -1);
  assert.equal(embeddedIpv4(words('::8.8.8.8')), -1);
});

test('special-purpose IPv4 ranges are reserved, their neighbours are not', () => {
  const v4 = (s: string): number => {
    const out = new Uint32Array(4);
    assert.equal(parseIp(s, 0, s.length, out), 4);
    return out[0] ?? 0;
  };
  const reserved = [
    '0.0.0.0', '0.255.255.255', '10.0.0.0', '10.255.255.255', '100.64.0.0', '100.127.255.255', '127.0.0.1',
    '169.254.0.1', '172.16.0.0', '172.31.255.255', '192.0.0.1', '192.0.2.1', '192.168.0.0', '192.168.255.255',
    '198.18.0.0', '198.19.255.255', '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.255.255.255', '240.0.0.1',
    '255.255.255.255',
  ];
  const publicAddresses = [
    '1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
    '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.0.3.0',
    '192.88.99.1', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '198.51.99.255',
    '198.51.101.0', '203.0.112.255', '203.0.114.0', '223.255.255.255',
  ];
  for (const s of reserved) assert.equal(isReservedIpv4(v4(s)), true, s);
  for (const s of publicAddresses) assert.equal(isReservedIpv4(v4(s)), false, s);
});

test('only global unicast IPv6 outside documentation, benchmarking and ORCHID is public', () => {
  const v6 = (s: string): Uint32Array => {
    const out = new Uint32Array(4);
    assert.equal(parseIp(s, 0, s.length, out), 6);
    return out;
  };
  const reserved = [
    '::', '::1', '::8.8.8.8', '100::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fec0::1', 'ff02::1', '2001:db8::1',
    '2001:db8:ffff::1', '3fff::1', '3fff:fff::1', '2001:2::1', '2001:10::1', '2001:2f::1', '4000::1', '1fff::1',
  ];
  const publicAddresses = ['2001:4860:4860::8888', '2a00:1450::1', '2001:218::1', '2001:2:1::1', '2001:30::1', '3ffe::1', '3fff:1000::1', '2c0f::1'];
  for (const s of reserved) assert.equal(isReservedIpv6(v6(s)), true, s);
  for (const s of publicAddresses) assert.equal(isReservedIpv6(v6(s)), false, s);
});
