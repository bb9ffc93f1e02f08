import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { decodeBatch, type DecodeLimits } from './decode.js';

const limits: DecodeLimits = { max_body_size_bytes: 1 << 20, max_events_per_batch: 3, max_event_size_bytes: 200 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const lines = (result: ReturnType<typeof decodeBatch>): string[] => {
  assert.equal(result.ok, true, JSON.stringify(result));
  if (!result.ok) return [];
  return new TextDecoder().decode(result.ndjson).split('\n').slice(0, -1);
};

test('a JSON array becomes one compact line per event, keys in original order', () => {
  const result = decodeBatch(bytes('[ {"z":1, "a":{"y":2,"b":3}} ,\n {"m":"x"} ]'), 'json', limits);
  assert.deepEqual(lines(result), ['{"z":1,"a":{"y":2,"b":3}}', '{"m":"x"}']);
  assert.equal(result.ok && result.count, 2);
});

test('events without source get no source field', () => {
  assert.deepEqual(lines(decodeBatch(bytes('[{"destination":{"port":22}}]'), 'json', limits)), ['{"destination":{"port":22}}']);
});

test('the wrapped {"records":[...]} form and NDJSON are accepted', () => {
  assert.deepEqual(lines(decodeBatch(bytes('{"records":[{"a":1},{"b":2}]}'), 'json', limits)), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(lines(decodeBatch(bytes('{"a":1}\r\n\n{"b":2}\n'), 'ndjson', limits)), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(lines(decodeBatch(bytes('{"a":1}\n{"b":2}'), 'json', limits)), ['{"a":1}', '{"b":2}']);
});

test('gzip is recognised by its magic bytes, and a UTF-8 BOM is ignored', () => {
  assert.deepEqual(lines(decodeBatch(gzipSync(bytes('[{"a":1}]')), 'json', limits)), ['{"a":1}']);
  assert.deepEqual(lines(decodeBatch(bytes('\ufeff[{"a":1}]'), 'json', limits)), ['{"a":1}']);
});

test('an empty array is a valid batch of zero events', () => {
  const result = decodeBatch(bytes('[]'), 'json', limits);
  assert.deepEqual(result.ok && [result.count, result.ndjson.length], [0, 0]);
});

test('each malformed body gets the right code and a message naming the problem', () => {
  const cases: [string, 'json' | 'ndjson', string, RegExp][] = [
    ['', 'json', 'invalid_request', /empty/],
    ['null', 'json', 'invalid_request', /array of events/],
    ['{"a":1}', 'json', 'invalid_request', /array of events/],
    ['{"records":{"a":1}}', 'json', 'invalid_request', /array of events/],
    ['[{"a":1},', 'json', 'invalid_request', /not valid JSON/],
    ['[{"a":1},null]', 'json', 'invalid_request', /event 1 is null/],
    ['[{"a":1},7]', 'json', 'invalid_request', /event 1 is a number/],
    ['[[1]]', 'json', 'invalid_request', /event 0 is an array/],
    ['[{},{},{},{}]', 'json', 'batch_too_large', /4 events; limits.max_events_per_batch is 3/],
    [`[{"a":"${'x'.repeat(300)}"}]`, 'json', 'event_too_large', /event 0 is 308 bytes; limits.max_event_size_bytes is 200/],
    ['{"a":1}\n{"a":', 'ndjson', 'invalid_request', /line 2 is not valid JSON/],
    ['{}\n{}\n{}\n{}\n', 'ndjson', 'batch_too_large', /more than 3/],
    ['"x"', 'ndjson', 'invalid_request', /event 0 is a string/],
  ];
  for (const [body, format, code, message] of cases) {
    const result = decodeBatch(bytes(body), format, limits);
    assert.equal(result.ok, false, body);
    if (result.ok) continue;
    assert.equal(result.code, code, body);
    assert.match(result.message, message, body);
  }
});

test('multi-byte characters count as UTF-8 bytes against the event size limit', () => {
  const fits = `[{"a":"${'é'.repeat(90)}"}]`;
  const tooBig = `[{"a":"${'é'.repeat(100)}"}]`;
  assert.equal(decodeBatch(bytes(fits), 'json', limits).ok, true);
  const result = decodeBatch(bytes(tooBig), 'json', limits);
  assert.equal(!result.ok && result.code, 'event_too_large');
});

test('a gzip bomb stops at the body limit instead of exhausting memory', () => {
  const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20));
  assert.ok(bomb.length < 1 << 20);
  const result = decodeBatch(bomb, 'json', limits);
  assert.equal(!result.ok && result.code, 'payload_too_large');
  assert.match(!result.ok ? result.message : '', /decompressed body exceeds limits.max_body_size_bytes/);
});

test('corrupt gzip and deep nesting are rejected, never thrown', () => {
  const corrupt = gzipSync(bytes('[{"a":1}]')).subarray(0, 12);
  const result = decodeBatch(corrupt, 'json', limits);
  assert.equal(!result.ok && result.code, 'invalid_request');
  const deep = `[${'['.repeat(200_000)}${']'.repeat(200_000)}]`;
  const deepResult = decodeBatch(bytes(deep), 'json', { ...limits, max_body_size_bytes: 1 << 22 });
  assert.equal(deepResult.ok, false);
  const deepObject = `[${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}]`;
  const objectResult = decodeBatch(bytes(deepObject), 'json', { ...limits, max_event_size_bytes: 1 << 22 });
  assert.equal(objectResult.ok ? 'ok' : objectResult.code, objectResult.ok ? 'ok' : 'invalid_request');
});
