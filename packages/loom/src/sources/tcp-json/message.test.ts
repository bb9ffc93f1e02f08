import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecsEvent, logRecord, MAX_DEPTH, MessageChecker } from './message.js';
import { compileMessageSchema } from './message-schema.js';
import { clip, response } from './responses.js';

const schema = compileMessageSchema({
  type: 'object',
  required: ['level', 'message'],
  additionalProperties: false,
  properties: {
    level: { enum: ['info', 'warn'] },
    message: { type: 'string', maxLength: 20 },
    count: { type: 'integer', minimum: 0 },
    attributes: { type: 'object', properties: { 'a/b': { type: 'string' } }, additionalProperties: { type: 'number' } },
    nested: {},
  },
});
const checker = new MessageChecker(schema);

function reason(text: string): string {
  const result = checker.check(text);
  assert.equal(result.ok, false, text);
  return result.ok ? '' : result.reason;
}

test('a valid message is accepted with its text from { to } kept exactly', () => {
  const result = checker.check('  {"level":"info", "message":"hi", "count": 18446744073709551615}\t');
  assert.deepEqual(result, { ok: true, body: '{"level":"info", "message":"hi", "count": 18446744073709551615}', hasFields: true });
});

test('refusals name what is wrong, and for schema failures the field', () => {
  assert.match(reason('{"level":"info"'), /^invalid JSON: /);
  assert.equal(reason('[1,2]'), 'not a JSON object: got an array');
  assert.equal(reason('"text"'), 'not a JSON object: got a string');
  assert.equal(reason('null'), 'not a JSON object: got null');
  assert.equal(reason('{"level":"info","message":"m","timestamp":"x"}'), 'field "timestamp" is set by the server; send the client\'s value under another name');
  assert.match(reason('{"level":"info","message":"m","source_ip":"1.2.3.4"}'), /field "source_ip" is set by the server/);
  assert.equal(reason('{"message":"m"}'), 'validation failed: field "level" is required');
  assert.equal(reason('{"level":"debug","message":"m"}'), 'validation failed: field "level" must be one of "info", "warn"');
  assert.equal(reason('{"level":"info","message":"m","extra":1}'), 'validation failed: field "extra" is not allowed');
  assert.equal(reason('{"level":"info","message":"m","count":-1}'), 'validation failed: field "count" must be >= 0');
  assert.equal(reason('{"level":"info","message":"m","attributes":{"a/b":1}}'), 'validation failed: field "attributes.a/b" must be string');
  assert.equal(reason('{"level":"info","message":"m","attributes":{"x":"y"}}'), 'validation failed: field "attributes.x" must be number');
  assert.equal(reason('{"level":"info","message":"123456789012345678901"}'), 'validation failed: field "message" must NOT have more than 20 characters');
});

test('nesting deeper than the limit is refused before it can hurt a serialiser', () => {
  const deep = (depth: number): string => `{"level":"info","message":"m","nested":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
  assert.equal(checker.check(deep(MAX_DEPTH)).ok, true);
  assert.equal(reason(deep(MAX_DEPTH + 1)), `nested deeper than ${MAX_DEPTH} levels`);
  // Brackets inside strings are text, not nesting.
  assert.equal(checker.check(`{"level":"info","message":"m","nested":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`).ok, true);
  assert.equal(reason(`{"level":"info","message":"m","nested":${'['.repeat(60_000)}${']'.repeat(60_000)}}`), `nested deeper than ${MAX_DEPTH} levels`);
});

test('the logfile record puts the server fields first and splices the message in as sent', () => {
  const record = logRecord('"2026-02-15T19:47:09.123Z"', '"192.0.2.1"', '{"level":"info", "n":18446744073709551615}', true);
  assert.equal(record, '{"timestamp":"2026-02-15T19:47:09.123Z","source_ip":"192.0.2.1","level":"info", "n":18446744073709551615}');
  assert.deepEqual(Object.keys(JSON.parse(record) as object), ['timestamp', 'source_ip', 'level', 'n']);
  assert.equal(logRecord('"t"', '"::1"', '{ }', false), '{"timestamp":"t","source_ip":"::1"}');
});

test('a forwarded message becomes an ECS event with the message under tcp_json', () => {
  const event = JSON.parse(ecsEvent('"2026-02-15T19:47:09.123Z"', '"2001:db8::1"', 40522, '{"level":"info","source":{"ip":"spoofed"}}')) as Record<string, unknown>;
  assert.deepEqual(event, {
    '@timestamp': '2026-02-15T19:47:09.123Z',
    event: { kind: 'event', dataset: 'tcp_json' },
    network: { transport: 'tcp' },
    source: { ip: '2001:db8::1', port: 40522 },
    tcp_json: { level: 'info', source: { ip: 'spoofed' } },
  });
});

test('responses are one JSON line each, with the message cut to 1024 characters', () => {
  const line = response(false, 'x'.repeat(5000));
  assert.ok(line.endsWith('\n'));
  const parsed = JSON.parse(line) as { success: boolean; message: string };
  assert.equal(parsed.success, false);
  assert.equal(parsed.message.length, 1024);
  // A cut never leaves half of a surrogate pair.
  const emoji = clip('😀'.repeat(600), 1024);
  assert.ok(emoji.length <= 1024);
  assert.ok(!/[\ud800-\udbff]…$/.test(emoji));
});

test('schemas: drafts, formats and reserved names', () => {
  assert.ok(compileMessageSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { type: 'string', format: 'date-time' } } }).properties.has('a'));
  assert.ok(compileMessageSchema({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', properties: { b: {} } }).properties.has('b'));
  assert.ok(compileMessageSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { c: {} } }).properties.has('c'));
  assert.throws(() => compileMessageSchema({ $schema: 'http://json-schema.org/draft-04/schema#' }), /draft-04.*not supported/);
  assert.throws(() => compileMessageSchema({ type: 'object', properties: { a: { type: 'string', format: 'credit-card' } } }), /unknown format "credit-card"/);
  assert.throws(() => compileMessageSchema({ type: 'object', requried: ['a'] }), /unknown keyword: "requried"/);
  assert.throws(() => compileMessageSchema({ type: 'objekt' }), /not a valid JSON Schema/);
  assert.throws(() => compileMessageSchema([]), /must be a JSON object/);
  assert.throws(() => compileMessageSchema({ properties: { timestamp: {} } }), /property "timestamp" is set by the server/);
  // Properties from combinators and local references count for column_order.
  const combined = compileMessageSchema({
    definitions: { base: { properties: { service: { type: 'string' } } } },
    allOf: [{ $ref: '#/definitions/base' }, { properties: { level: {} } }],
    if: { properties: { kind: { const: 'x' } } },
    then: { properties: { detail: {} } },
  });
  assert.deepEqual([...combined.properties].sort(), ['detail', 'kind', 'level', 'service']);
});
