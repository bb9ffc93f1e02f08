import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limiter.js';

test('rps 2: allow, allow, deny', () => {
  let now = 0;
  const limiter = new RateLimiter(2, 2, () => now);
  assert.equal(limiter.take('s'), 0);
  assert.equal(limiter.take('s'), 0);
  assert.equal(limiter.take('s'), 1);
  now = 500;
  assert.equal(limiter.take('s'), 0, 'half a second refills one token at 2/s');
  assert.ok(limiter.take('s') > 0);
});

test('sensors have separate buckets', () => {
  const limiter = new RateLimiter(1, 1, () => 0);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('b'), 0);
  assert.ok(limiter.take('a') > 0);
});

test('no double burst across a second boundary, unlike a fixed window', () => {
  let now = 999;
  const limiter = new RateLimiter(10, 10, () => now);
  let allowed = 0;
  for (let i = 0; i < 10; i++) if (limiter.take('s') === 0) allowed++;
  now = 1001;
  for (let i = 0; i < 10; i++) if (limiter.take('s') === 0) allowed++;
  assert.equal(allowed, 10);
});

test('Retry-After reflects the time until enough tokens exist', () => {
  const limiter = new RateLimiter(1, 5, () => 0);
  for (let i = 0; i < 5; i++) limiter.take('s');
  assert.equal(limiter.take('s'), 1);
  assert.equal(limiter.take('s', 3), 3);
  const events = new RateLimiter(100, 500, () => 0);
  assert.equal(events.take('s', 500), 0);
  assert.equal(events.take('s', 200), 2);
});

test('a rate <= 0 disables limiting', () => {
  const limiter = new RateLimiter(-1, 0, () => 0);
  let allowed = 0;
  for (let i = 0; i < 100; i++) if (limiter.take('s') === 0) allowed++;
  assert.equal(allowed, 100);
  assert.equal(limiter.enabled, false);
});

test('retain forgets removed sensors', () => {
  const limiter = new RateLimiter(1, 1, () => 0);
  limiter.take('gone');
  limiter.retain(new Set(['kept']));
  assert.equal(limiter.take('gone'), 0, 'a fresh bucket after being forgotten');
});
