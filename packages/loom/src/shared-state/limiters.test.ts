import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { LeasedRateLimiter } from '../auth/leased-rate-limiter.js';
import { RateLimiter } from '../auth/rate-limiter.js';
import { RedisRateAuthority } from '../auth/redis-rate-authority.js';
import type { LimitsConfig } from '../config/types.js';
import { createRateLimiters, leaseSize } from './limiters.js';
import { SharedState } from './redis.js';

const limits: LimitsConfig = {
  max_body_size_bytes: 1 << 20,
  max_events_per_batch: 500,
  max_event_size_bytes: 1 << 16,
  per_sensor_rps: 5,
  per_sensor_burst: 3,
  per_sensor_events_rps: 10,
  max_pending_batches: 10,
};

test('without shared state the server takes from in-memory buckets directly', async () => {
  const { requestLimiter, eventLimiter, requestAuthority, eventAuthority } = createRateLimiters(limits, undefined);
  assert.ok(requestLimiter instanceof RateLimiter && eventLimiter instanceof RateLimiter);
  assert.equal(requestAuthority, requestLimiter);
  assert.equal(eventAuthority, eventLimiter);
  assert.deepEqual([1, 2, 3, 4].map(() => requestLimiter.take('s')), [0, 0, 0, 1]);
  // The event bucket holds one whole batch, though the rate is only 10 events/s.
  assert.equal(await eventLimiter.take('s', 500), 0);
  assert.ok((await eventLimiter.take('s', 1)) > 0);
});

test('with shared state the server takes leases from Redis buckets, and decides alone while Redis is away', async () => {
  // Nothing listens on port 1: the connection never comes up.
  const shared = SharedState.create({ redis_url: 'redis://127.0.0.1:1', redis_password_env: '', key_prefix: 'loom:', timeout_ms: 50, ca_file: '' }, { logger: pino({ level: 'silent' }) });
  assert.ok(shared);
  try {
    const { requestLimiter, eventLimiter, requestAuthority, eventAuthority } = createRateLimiters(limits, shared);
    assert.ok(requestAuthority instanceof RedisRateAuthority && eventAuthority instanceof RedisRateAuthority);
    assert.ok(requestLimiter instanceof LeasedRateLimiter && eventLimiter instanceof LeasedRateLimiter);
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await requestLimiter.take('s'));
    assert.deepEqual(waits, [0, 0, 0, 1]);
    assert.equal(await eventLimiter.take('s', 500), 0);
  } finally {
    await shared.close();
  }
});

test('a lease is a tenth of a second of the rate, none below 10 per second', () => {
  assert.deepEqual([0.5, 5, 9, 10, 25, 50, 1000].map(leaseSize), [0, 0, 0, 1, 2, 5, 100]);
});
