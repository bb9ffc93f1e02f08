import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv6GroupsText } from './ipv6-text.js';

test('RFC 5952 text of IPv6 groups', () => {
  const cases: [number[], string][] = [
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], '2001:db8::'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    // One zero group is not shortened; of two equal runs the first is.
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'],
    [[0x2001, 0, 0, 1, 1, 0, 0, 1], '2001::1:1:0:0:1'],
    [[0xABCD, 0x00ef, 0, 0, 0, 0, 0, 0x0a], 'abcd:ef::a'],
    [[0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], '::ffff:102:304'],
  ];
  for (const [groups, text] of cases) assert.equal(ipv6GroupsText(groups), text, groups.join(','));
  assert.equal(ipv6GroupsText(new Uint16Array([0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4])), 'fe80::1:2:3:4');
});
