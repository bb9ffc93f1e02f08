import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv6, formatPrefix, newParsedPrefix, parseIPv4, parsePrefix } from './address.js';

function parsed(text: string, allowZone = false): string | undefined {
  const out = newParsedPrefix();
  if (!parsePrefix(text, out, allowZone)) return undefined;
  return `${formatPrefix(out.family, out.words, 0, out.length)}|${out.family}|${out.length}`;
}

test('IPv4 addresses: valid forms and the ones refused', () => {
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('192.168.1.10'), 0xc0a8010a);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.', '.1.2.3', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.-4', '1.2.3.4a']) {
    assert.equal(parseIPv4(bad), -1, bad);
  }
});

test('prefixes: host bits cleared, bare addresses are single-address prefixes', () => {
  assert.equal(parsed('10.1.2.3/8'), '10.0.0.0/8|4|8');
  assert.equal(parsed('0.0.0.0/0'), '0.0.0.0/0|4|0');
  assert.equal(parsed('1.2.3.4'), '1.2.3.4|4|32');
  assert.equal(parsed('1.2.3.4/32'), '1.2.3.4|4|32');
  assert.equal(parsed('2001:db8::1/32'), '2001:db8::/32|6|32');
  assert.equal(parsed('::/0'), '::/0|6|0');
  assert.equal(parsed('2001:db8::1'), '2001:db8::1|6|128');
  assert.equal(parsed('2001:db8:0:0:0:0:0:1/127'), '2001:db8::/127|6|127');
  for (const bad of ['1.2.3.4/33', '1.2.3.4/', '1.2.3.4/08', '1.2.3.4/-1', '::/129', 'example.com', '1.2.3.4/8/8']) {
    assert.equal(parsed(bad), undefined, bad);
  }
});

test('IPv6 text forms', () => {
  assert.equal(parsed('::'), '::|6|128');
  assert.equal(parsed('::1'), '::1|6|128');
  assert.equal(parsed('1::'), '1::|6|128');
  assert.equal(parsed('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8|6|128');
  assert.equal(parsed('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0|6|128');
  assert.equal(parsed('FE80::ABCD'), 'fe80::abcd|6|128');
  assert.equal(parsed('64:ff9b::192.0.2.33'), '64:ff9b::c000:221|6|128');
  for (const bad of [':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:2:3:4:5:6:7', ':1::', '1:', 'g::1', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4']) {
    assert.equal(parsed(bad), undefined, bad);
  }
});

test('zones are ignored only where allowed', () => {
  assert.equal(parsed('fe80::1%eth0'), undefined);
  assert.equal(parsed('fe80::1%eth0', true), 'fe80::1|6|128');
});

test('IPv4-mapped IPv6 becomes IPv4', () => {
  assert.equal(parsed('::ffff:1.2.3.4'), '1.2.3.4|4|32');
  assert.equal(parsed('::ffff:102:304'), '1.2.3.4|4|32');
  assert.equal(parsed('::ffff:1.2.3.0/120'), '1.2.3.0/24|4|24');
  assert.equal(parsed('::ffff:0:0/96'), '0.0.0.0/0|4|0');
  assert.equal(parsed('::ffff:0:0/95'), '::fffe:0:0/95|6|95', 'a wider prefix is not only IPv4');
});

test('RFC 5952 output: the longest zero run, the first of equal runs, no single-group compression', () => {
  assert.equal(formatIPv6([0x20010db8, 0, 0, 1]), '2001:db8::1');
  assert.equal(formatIPv6([0x20010db8, 0x00000001, 0, 0x00010001]), '2001:db8:0:1::1:1');
  assert.equal(formatIPv6([0x20010000, 0x00010000, 0, 0x00000001]), '2001:0:1::1');
  assert.equal(formatIPv6([0x20010db8, 0x00010001, 0x00010001, 0x00010000]), '2001:db8:1:1:1:1:1:0');
  assert.equal(formatIPv6([0x20010000, 0x00010000, 0x00010000, 0x00010000]), '2001:0:1:0:1:0:1:0');
});
