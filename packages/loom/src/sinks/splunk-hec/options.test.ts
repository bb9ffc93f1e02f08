import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSplunkHecOptions, SPLUNK_HEC_DEFAULTS } from './options.js';

const base = { url: 'https://splunk.example:8088', token: '0f3c1a2b-1111-2222-3333-444455556666' };

test('defaults are applied and empty strings count as absent', () => {
  const resolved = resolveSplunkHecOptions({ ...base, index: '', source: '', host: '' });
  assert.equal(resolved.sourcetype, 'loom:ecs');
  assert.equal(resolved.compression, 'gzip');
  assert.equal(resolved.maxRequestBytes, SPLUNK_HEC_DEFAULTS.maxRequestBytes);
  assert.equal(resolved.index, undefined);
  assert.equal(resolved.source, undefined);
  assert.equal(resolved.host, undefined);
  assert.equal(resolved.ack.enabled, false);
  assert.equal(resolved.ack.timeoutMs, 300_000);
  assert.equal(resolved.eventIdField, 'loom_event_id');
});

test('without a configured channel, each process gets its own GUID; a configured one is kept', () => {
  const a = resolveSplunkHecOptions(base).ack.channel;
  const b = resolveSplunkHecOptions(base).ack.channel;
  assert.match(a, /^[0-9a-f-]{36}$/);
  assert.notEqual(a, b);
  const fixed = '3c4d5e6f-0000-4000-8000-000000000001';
  assert.equal(resolveSplunkHecOptions({ ...base, ack: { enabled: true, channel: fixed } }).ack.channel, fixed);
  assert.throws(() => resolveSplunkHecOptions({ ...base, ack: { enabled: true, channel: 'my-channel' } }), /channel must be a GUID/);
});

test('sizes and times must be positive integers', () => {
  assert.throws(() => resolveSplunkHecOptions({ ...base, maxRequestBytes: 0 }), /maximum request size must be a positive integer/);
  assert.throws(() => resolveSplunkHecOptions({ ...base, timeoutMs: -1 }), /timeout must be a positive integer/);
  assert.throws(() => resolveSplunkHecOptions({ ...base, ack: { enabled: true, pollIntervalMs: 1.5 } }), /ack poll interval/);
});
