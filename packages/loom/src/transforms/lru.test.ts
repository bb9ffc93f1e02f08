import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from './lru.js';

type Entry = { n: number; stamp?: number };
const value = (n: number): Entry => ({ n });

test('never more than capacity entries; the oldest goes first', () => {
  const cache = new LruCache<string, Entry>(3);
  for (let i = 0; i < 10; i++) cache.set(`k${i}`, value(i));
  assert.equal(cache.size, 3);
  assert.deepEqual(['k6', 'k7', 'k8', 'k9'].map((k) => cache.get(k)?.n), [undefined, 7, 8, 9]);
});

test('an entry used within the last capacity / 2 insertions is never evicted', () => {
  const capacity = 100;
  const cache = new LruCache<string, Entry>(capacity);
  cache.set('hot', value(-1));
  // A stream of new keys, the hot one asked for after every capacity / 2 of them.
  for (let i = 0; i < 10 * capacity; i++) {
    cache.set(`k${i}`, value(i));
    if (i % (capacity / 2) === 0) assert.equal(cache.get('hot')?.n, -1, `after ${i} insertions`);
    assert.ok(cache.size <= capacity);
  }
});

test('an entry not used for capacity insertions is gone', () => {
  const cache = new LruCache<string, Entry>(10);
  cache.set('cold', value(0));
  for (let i = 0; i < 10; i++) cache.set(`k${i}`, value(i));
  assert.equal(cache.get('cold'), undefined);
});

test('replacing a key keeps one entry; capacity 0 keeps nothing; clear empties', () => {
  const cache = new LruCache<string, Entry>(2);
  cache.set('a', value(1));
  cache.set('a', value(2));
  assert.equal(cache.size, 1);
  assert.equal(cache.get('a')?.n, 2);
  cache.clear();
  assert.equal(cache.get('a'), undefined);
  const none = new LruCache<string, Entry>(0);
  none.set('a', value(1));
  assert.equal(none.get('a'), undefined);
  assert.equal(none.size, 0);
});
