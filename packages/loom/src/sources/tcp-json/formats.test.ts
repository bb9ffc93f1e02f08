import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageFormats } from './formats.js';

const check = (format: string, value: string): boolean => (messageFormats[format] as (value: string) => boolean)(value);

test('date-time, date and time follow RFC 3339', () => {
  for (const ok of ['2026-02-15T19:47:09Z', '2026-02-15t19:47:09.123+01:00', '2024-02-29T00:00:00Z', '2026-12-31T23:59:60Z']) assert.ok(check('date-time', ok), ok);
  for (const bad of ['2026-02-15 19:47:09Z', '2026-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-02-15T24:00:00Z', '2026-02-15T19:47:09', '2026-02-15']) assert.ok(!check('date-time', bad), bad);
  assert.ok(check('date', '2000-02-29'));
  assert.ok(!check('date', '1900-02-29'));
  assert.ok(check('time', '08:30:00-05:00'));
  assert.ok(!check('time', '08:30'));
});

test('addresses, names and identifiers', () => {
  assert.ok(check('ipv4', '192.0.2.1'));
  assert.ok(!check('ipv4', '192.0.2.256'));
  assert.ok(check('ipv6', '2001:db8::1'));
  assert.ok(!check('ipv6', '192.0.2.1'));
  assert.ok(check('hostname', 'api-1.example.com'));
  assert.ok(!check('hostname', '-bad.example.com'));
  assert.ok(!check('hostname', `${'a'.repeat(64)}.example.com`));
  assert.ok(check('email', 'ops@example.com'));
  assert.ok(!check('email', 'ops@@example.com'));
  assert.ok(check('uuid', '5c3f0d5e-7a0e-4c4b-9a51-000000000001'));
  assert.ok(!check('uuid', '5c3f0d5e-7a0e-4c4b-9a51'));
  assert.ok(check('uri', 'https://example.com/a?b=c'));
  assert.ok(!check('uri', '/relative/path'));
  assert.ok(check('regex', '^a+$'));
  assert.ok(!check('regex', '(unclosed'));
});

// A pattern with catastrophic backtracking would hang here; the timeout turns that into a failure.
test('long hostile inputs are decided (no catastrophic backtracking)', { timeout: 5000 }, () => {
  for (const format of Object.keys(messageFormats)) {
    for (const value of [`${'a'.repeat(50_000)}!`, `${'a-'.repeat(25_000)}@`, `a@${'a'.repeat(50_000)}-`, `${'1'.repeat(50_000)}`]) check(format, value);
  }
});
