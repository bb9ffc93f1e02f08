import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressList, normalizeAddress } from './addresses.js';

test('IPv4-mapped IPv6 addresses become IPv4; IPv6 is lower-cased', () => {
  assert.equal(normalizeAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeAddress('::FFFF:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeAddress('0:0:0:0:0:ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeAddress('192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeAddress('2001:DB8::1'), '2001:db8::1');
  assert.equal(normalizeAddress('::1'), '::1');
  // Not a mapped address: an IPv4-compatible form or a different prefix stays IPv6.
  assert.equal(normalizeAddress('::ffff:1:192.0.2.1'), '::ffff:1:192.0.2.1');
});

test('the pre-configured list takes addresses and CIDR ranges of both families', () => {
  const list = new AddressList();
  for (const entry of ['192.0.2.13', '198.51.100.0/24', '2001:db8:bad::/48', '::1', '::ffff:203.0.113.9']) assert.equal(list.add(entry), undefined, entry);
  assert.equal(list.size, 5);
  for (const address of ['192.0.2.13', '198.51.100.0', '198.51.100.255', '2001:db8:bad:1::7', '::1', '203.0.113.9']) assert.ok(list.has(address), address);
  for (const address of ['192.0.2.14', '198.51.101.1', '2001:db8:bae::1', '::2', '10.0.0.1']) assert.ok(!list.has(address), address);
});

test('entries that are not addresses or ranges are reported', () => {
  const list = new AddressList();
  assert.match(list.add('example.com') ?? '', /"example.com" is not an IPv4 or IPv6 address or CIDR range/);
  assert.match(list.add('10.0.0.0/33') ?? '', /prefix length must be 0 to 32/);
  assert.match(list.add('2001:db8::/129') ?? '', /prefix length must be 0 to 128/);
  assert.match(list.add('10.0.0.0/x') ?? '', /prefix length/);
  assert.match(list.add('300.1.1.1') ?? '', /not an IPv4/);
  assert.equal(list.size, 0);
  assert.ok(!list.has('10.0.0.1'));
});
