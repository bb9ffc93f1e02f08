import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache } from './answer-cache.js';

test('answers and "no name" are kept for their TTL', () => {
  let now = 0;
  const cache = new AnswerCache(10, 60_000, () => now);
  cache.set('a', 'a.example', 1000);
  cache.set('b', undefined, 500);
  assert.deepEqual(cache.get('a'), { name: 'a.example', expiresAt: 1000 });
  assert.equal(cache.get('b')?.name, undefined);
  assert.notEqual(cache.get('b'), undefined, 'a negative answer is an entry, not a miss');
  now = 500;
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.size, 1, 'an expired entry is dropped when read');
  now = 999;
  assert.equal(cache.get('a')?.name, 'a.example');
  now = 1000;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0);
});

test('a TTL of 0 or a size of 0 stores nothing', () => {
  const cache = new AnswerCache(10, 1000, () => 0);
  cache.set('a', 'a.example', 0);
  assert.equal(cache.size, 0);
  const none = new AnswerCache(0, 1000, () => 0);
  none.set('a', 'a.example', 1000);
  assert.equal(none.size, 0);
});

test('the least recently used entry goes first', () => {
  const cache = new AnswerCache(3, 60_000, () => 0);
  for (const key of ['a', 'b', 'c']) cache.set(key, key, 1000);
  assert.equal(cache.get('a')?.name, 'a');
  cache.set('d', 'd', 1000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  for (const key of ['a', 'c', 'd']) assert.equal(cache.get(key)?.name, key);
  cache.set('c', 'c2', 1000);
  cache.set('e', 'e', 1000);
  assert.equal(cache.get('a'), undefined, 'overwriting c made it recent, so a went');
  assert.equal(cache.get('c')?.name, 'c2');
});

test('expired entries that are never read again are swept', () => {
  let now = 0;
  const cache = new AnswerCache(100, 1000, () => now);
  for (let i = 0; i < 50; i++) cache.set(`short${i}`, undefined, 500);
  cache.set('long', 'long.example', 10_000);
  now = 999;
  cache.set('x', 'x', 10_000);
  assert.equal(cache.size, 52, 'no sweep before sweepEveryMs');
  now = 1000;
  cache.set('y', 'y', 10_000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('long')?.name, 'long.example');
});
