import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRY_AFTER_MAX_MS, decide, fullJitter, parseRetryAfter } from './retry-policy.js';
import type { PostOutcome } from './transport.js';

const backoff = { initialMs: 100, maxMs: 10_000 };
const response = (status: number, errorCode?: string, retryAfter?: string): PostOutcome => ({ kind: 'response', status, retryAfter, errorCode, message: undefined });

test('Retry-After: delta-seconds, HTTP dates, nonsense', () => {
  const now = Date.parse('2026-02-15T19:47:09Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 15 Feb 2026 19:47:14 GMT', now), 5000);
  assert.equal(parseRetryAfter('Sun, 15 Feb 2026 19:40:00 GMT', now), 0);
  assert.equal(parseRetryAfter('999999', now), RETRY_AFTER_MAX_MS);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('full jitter stays within [0, min(max, initial·2^attempt))', () => {
  assert.equal(fullJitter(0, backoff, () => 0.999), 99);
  assert.equal(fullJitter(3, backoff, () => 0.5), 400);
  assert.equal(fullJitter(40, backoff, () => 0.999), 9990);
  assert.equal(fullJitter(5000, backoff, () => 0), 0);
});

test('the status table', () => {
  const r = (): number => 0.5;
  assert.deepEqual(decide(response(204), 0, backoff, 0, r), { action: 'ok' });
  assert.deepEqual(decide(response(200), 0, backoff, 0, r), { action: 'ok' });
  assert.deepEqual(decide(response(413, 'payload_too_large'), 0, backoff, 0, r), { action: 'split' });
  assert.deepEqual(decide(response(400, 'invalid_request'), 0, backoff, 0, r), { action: 'bisect' });
  assert.deepEqual(decide(response(503, 'overloaded', '2'), 0, backoff, 0, r), { action: 'retry', delayMs: 2000 });
  assert.deepEqual(decide(response(429, 'rate_limit_exceeded', '1'), 0, backoff, 0, r), { action: 'retry', delayMs: 1000 });
  assert.deepEqual(decide(response(500), 2, backoff, 0, r), { action: 'retry', delayMs: 200 });
  assert.deepEqual(decide(response(408), 0, backoff, 0, r), { action: 'retry', delayMs: 50 });
  assert.deepEqual(decide({ kind: 'failure', error: 'connect ECONNREFUSED', aborted: false }, 1, backoff, 0, r), { action: 'retry', delayMs: 100 });
  for (const status of [401, 403, 404, 405, 415, 301]) {
    assert.deepEqual(decide(response(status), 0, backoff, 0, r), { action: 'hold', delayMs: 7500 }, `status ${status}`);
  }
  // A 400 that is not Loom's invalid_request (a proxy's, say) says nothing about the events.
  assert.deepEqual(decide(response(400), 0, backoff, 0, r), { action: 'hold', delayMs: 7500 });
  // Unknown statuses are retried rather than dropped.
  assert.deepEqual(decide(response(422), 0, backoff, 0, r), { action: 'retry', delayMs: 50 });
});
