import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbuseGuard, RATE_WINDOW_MS, type AbuseSettings } from './abuse.js';

const settings = (overrides: Partial<AbuseSettings> = {}): AbuseSettings => ({
  messagesPerMinute: 0,
  strikeThreshold: 0,
  permanent: false,
  durationMs: 10_000,
  maxTracked: 1000,
  ...overrides,
});

test('the rate limit lets the limit through and refuses the next message with a strike', () => {
  const guard = new AbuseGuard(settings({ messagesPerMinute: 3, strikeThreshold: 5 }));
  for (let i = 0; i < 3; i++) assert.equal(guard.admit('192.0.2.1', 1000 + i).kind, 'ok');
  const refused = guard.admit('192.0.2.1', 1010);
  assert.deepEqual(refused, { kind: 'rate_limited', strike: { strikes: 1, threshold: 5, blacklisted: false } });
  // Another address has its own count.
  assert.equal(guard.admit('192.0.2.2', 1010).kind, 'ok');
});

test('the window slides: the previous minute counts for the part of it still within the last 60 s', () => {
  const guard = new AbuseGuard(settings({ messagesPerMinute: 10 }));
  const start = 0;
  for (let i = 0; i < 10; i++) assert.equal(guard.admit('a', start + i).kind, 'ok');
  assert.equal(guard.admit('a', start + 100).kind, 'rate_limited');
  // A quarter into the next window, 75 % of the previous 10 still count: 2 more fit, not 10.
  const quarter = start + RATE_WINDOW_MS + RATE_WINDOW_MS / 4;
  assert.equal(guard.admit('a', quarter).kind, 'ok');
  assert.equal(guard.admit('a', quarter).kind, 'ok');
  assert.equal(guard.admit('a', quarter).kind, 'rate_limited');
  // Two windows later nothing of the burst is left.
  for (let i = 0; i < 10; i++) assert.equal(guard.admit('a', start + 3 * RATE_WINDOW_MS + i).kind, 'ok');
});

test('refused messages do not use up the allowance', () => {
  const guard = new AbuseGuard(settings({ messagesPerMinute: 2 }));
  guard.admit('a', 0);
  guard.admit('a', 0);
  for (let i = 0; i < 100; i++) assert.equal(guard.admit('a', 1).kind, 'rate_limited');
  // After the window the previous one's 2 (not 102) count, weighted by the overlap.
  assert.equal(guard.admit('a', RATE_WINDOW_MS * 1.5 + 1).kind, 'ok');
});

test('reaching the strike threshold blacklists; the first message after expiry lifts it and clears the strikes', () => {
  const guard = new AbuseGuard(settings({ strikeThreshold: 3, durationMs: 5000 }));
  assert.deepEqual(guard.strike('a', 0), { strikes: 1, threshold: 3, blacklisted: false });
  assert.deepEqual(guard.strike('a', 0), { strikes: 2, threshold: 3, blacklisted: false });
  assert.deepEqual(guard.strike('a', 100), { strikes: 3, threshold: 3, blacklisted: true });
  assert.deepEqual(guard.admit('a', 1100), { kind: 'blacklisted', remainingMs: 4000 });
  assert.deepEqual(guard.admit('a', 5099), { kind: 'blacklisted', remainingMs: 1 });
  assert.equal(guard.blacklistedAddresses, 1);
  assert.equal(guard.admit('a', 5100).kind, 'ok');
  assert.equal(guard.blacklistedAddresses, 0);
  assert.equal(guard.counters.released, 1);
  assert.deepEqual(guard.strike('a', 5200), { strikes: 1, threshold: 3, blacklisted: false });
});

test('a permanent blacklist has no end', () => {
  const guard = new AbuseGuard(settings({ strikeThreshold: 1, permanent: true }));
  assert.equal(guard.strike('a', 0).blacklisted, true);
  assert.deepEqual(guard.admit('a', 1e12), { kind: 'blacklisted', remainingMs: undefined });
  guard.sweep(1e12);
  assert.deepEqual(guard.admit('a', 2e12), { kind: 'blacklisted', remainingMs: undefined });
});

test('rate-limit refusals are strikes and can blacklist', () => {
  const guard = new AbuseGuard(settings({ messagesPerMinute: 1, strikeThreshold: 2, durationMs: 1000 }));
  assert.equal(guard.admit('a', 0).kind, 'ok');
  assert.deepEqual(guard.admit('a', 1), { kind: 'rate_limited', strike: { strikes: 1, threshold: 2, blacklisted: false } });
  assert.deepEqual(guard.admit('a', 2), { kind: 'rate_limited', strike: { strikes: 2, threshold: 2, blacklisted: true } });
  assert.deepEqual(guard.admit('a', 3), { kind: 'blacklisted', remainingMs: 999 });
});

test('threshold 0 never blacklists; limit 0 never rate limits', () => {
  const guard = new AbuseGuard(settings());
  for (let i = 0; i < 10_000; i++) assert.equal(guard.admit('a', i).kind, 'ok');
  for (let i = 0; i < 1000; i++) assert.equal(guard.strike('a', i).blacklisted, false);
});

test('memory stays within maxTracked: clean addresses go first, blacklists only when nothing else is left', () => {
  const guard = new AbuseGuard(settings({ strikeThreshold: 1, maxTracked: 3, permanent: true }));
  guard.strike('bad1', 0);
  guard.strike('bad2', 0);
  guard.admit('c1', 0);
  guard.admit('c2', 0);
  assert.equal(guard.trackedAddresses, 3);
  assert.equal(guard.counters.forgotten, 1);
  assert.equal(guard.admit('bad1', 0).kind, 'blacklisted');
  assert.equal(guard.admit('bad2', 0).kind, 'blacklisted');
  // Only blacklisted entries and one clean: the clean one goes.
  guard.admit('c3', 0);
  assert.equal(guard.admit('bad1', 0).kind, 'blacklisted');
  guard.strike('bad3', 0);
  // Now all three are blacklisted; a new address pushes out the oldest blacklist.
  guard.admit('c4', 0);
  assert.equal(guard.trackedAddresses, 3);
  assert.equal(guard.counters.evicted, 1);
  assert.equal(guard.admit('bad1', 0).kind, 'ok');
});

test('the sweep drops expired blacklists and idle addresses without strikes, keeps the rest', () => {
  const guard = new AbuseGuard(settings({ strikeThreshold: 2, durationMs: 1000 }));
  guard.admit('idle', 0);
  guard.strike('striked', 0);
  guard.strike('bad', 0);
  guard.strike('bad', 0);
  guard.sweep(3 * RATE_WINDOW_MS);
  assert.equal(guard.trackedAddresses, 1);
  assert.equal(guard.blacklistedAddresses, 0);
  assert.deepEqual(guard.strike('striked', 3 * RATE_WINDOW_MS), { strikes: 2, threshold: 2, blacklisted: true });
});

test('a blacklist imposed from elsewhere refuses, ends and lifts like one by strikes, and is not counted as added', () => {
  const guard = new AbuseGuard(settings({ strikeThreshold: 3, maxTracked: 2 }));
  guard.strike('a', 0);
  guard.impose('a', 100, 2000);
  assert.deepEqual(guard.admit('a', 1100), { kind: 'blacklisted', remainingMs: 1000 });
  // Already blacklisted: a second imposition keeps the first end.
  guard.impose('a', 1100, 50_000);
  assert.deepEqual(guard.admit('a', 1200), { kind: 'blacklisted', remainingMs: 900 });
  assert.equal(guard.counters.added, 0);
  assert.equal(guard.admit('a', 2100).kind, 'ok');
  assert.deepEqual(guard.strike('a', 2100), { strikes: 1, threshold: 3, blacklisted: false });
  guard.impose('forever', 0, undefined);
  assert.deepEqual(guard.admit('forever', 1e12), { kind: 'blacklisted', remainingMs: undefined });
  // Within maxTracked: the new entry made room.
  guard.impose('b', 0, 1000);
  assert.equal(guard.trackedAddresses, 2);
});
