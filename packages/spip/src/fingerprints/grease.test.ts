import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGrease, withoutGrease } from './grease.js';

test('exactly the sixteen RFC 8701 values are GREASE', () => {
  const grease = [];
  for (let v = 0; v <= 0xffff; v++) if (isGrease(v)) grease.push(v);
  assert.deepEqual(grease, [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa]);
});

test('withoutGrease keeps order and duplicates of the rest', () => {
  assert.deepEqual(withoutGrease([0x0a0a, 0x1301, 0x0a1a, 0x1301, 0xfafa, 0x00ff]), [0x1301, 0x0a1a, 0x1301, 0x00ff]);
});
