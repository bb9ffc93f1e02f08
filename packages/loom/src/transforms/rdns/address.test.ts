import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress, reverseName } from './address.js';

const hex = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

test('IPv4: dotted quads only, no leading zeros', () => {
  assert.equal(hex(parseAddress('8.8.4.4')), '08080404');
  assert.equal(hex(parseAddress('0.0.0.0')), '00000000');
  assert.equal(hex(parseAddress('255.255.255.255')), 'ffffffff');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', '0x1.2.3.4', '1.2.3.4/32']) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

test('IPv6: every spelling of one address gives the same bytes', () => {
  const expected = '20014860486000000000000000008888';
  for (const text of ['2001:4860:4860::8888', '2001:4860:4860:0:0:0:0:8888', '2001:4860:4860:0000::0:8888', '2001:4860:4860::0.0.136.136', '2001:4860:4860:0:0:0:0.0.136.136']) {
    assert.equal(hex(parseAddress(text)), expected, text);
  }
  assert.equal(hex(parseAddress('::')), '0'.repeat(32));
  assert.equal(hex(parseAddress('::1')), `${'0'.repeat(31)}1`);
  assert.equal(hex(parseAddress('FE80::AbCd')), `fe80${'0'.repeat(24)}abcd`);
  assert.equal(hex(parseAddress('1::')), `0001${'0'.repeat(28)}`);
  assert.equal(hex(parseAddress('64:ff9b::198.51.100.7')), `0064ff9b${'0'.repeat(16)}c6336407`);
});

test('IPv6: malformed text is rejected', () => {
  for (const bad of [':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::1',
    ':1::', '1::2:', 'fe80::1%eth0', '::1.2.3', '::1.2.3.4:5', '1.2.3.4::', '::256.1.1.1', '[::1]', '::ffff:01.2.3.4']) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

test('an IPv4-mapped IPv6 address is its IPv4 address', () => {
  assert.equal(hex(parseAddress('::ffff:8.8.8.8')), '08080808');
  assert.equal(hex(parseAddress('::FFFF:808:808')), '08080808');
  assert.equal(hex(parseAddress('0:0:0:0:0:ffff:0808:0808')), '08080808');
  assert.equal(parseAddress('::fffe:8.8.8.8')?.length, 16);
});

test('reverse names', () => {
  const name = (text: string): string => reverseName(parseAddress(text) ?? new Uint8Array());
  assert.equal(name('192.0.2.10'), '10.2.0.192.in-addr.arpa');
  assert.equal(name('::ffff:192.0.2.10'), '10.2.0.192.in-addr.arpa');
  assert.equal(name('2001:4860:4860::8888'), '8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.0.6.8.4.1.0.0.2.ip6.arpa');
  assert.equal(name('2001:DB8::ABCD'), 'd.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
});
