import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeError, describeErrorBody, readBulkResponse } from './bulk.js';

const created = { index: { _index: 'x', _id: 'a', _version: 1, result: 'created', status: 201 } };

test('statuses decide each document', () => {
  const body = JSON.stringify({
    took: 3,
    errors: true,
    items: [
      created,
      { index: { _index: 'x', _id: 'b', result: 'updated', status: 200 } },
      { index: { _index: 'x', _id: 'c', status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [source.port] of type [long]', caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "x"' } } } },
      { index: { _index: 'x', _id: 'd', status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' } } },
      { index: { _index: 'x', _id: 'e', status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' } } },
      { index: { _index: 'x', _id: 'f', status: 404, error: { type: 'index_not_found_exception', reason: 'no such index [x]' } } },
      { index: { _index: 'x', _id: 'g', status: 403, error: { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' } } },
      { index: { _index: 'x', _id: 'h', status: 409, error: { type: 'version_conflict_engine_exception', reason: '[h]: version conflict' } } },
    ],
  });
  const read = readBulkResponse(body, 8, true);
  assert.ok(read.ok);
  assert.deepEqual(read.items, [
    { kind: 'delivered' },
    { kind: 'delivered' },
    { kind: 'rejected', reason: '400 mapper_parsing_exception: failed to parse field [source.port] of type [long] (caused by illegal_argument_exception: For input string: "x")' },
    { kind: 'retry', reason: '429 es_rejected_execution_exception: rejected execution' },
    { kind: 'retry', reason: '503 unavailable_shards_exception: primary shard is not active' },
    { kind: 'rejected', reason: '404 index_not_found_exception: no such index [x]' },
    { kind: 'retry', reason: '403 security_exception: action [indices:data/write/bulk[s]] is unauthorized' },
    // A 409 only means "already stored" for create; for index it is a real conflict.
    { kind: 'rejected', reason: '409 version_conflict_engine_exception: [h]: version conflict' },
  ]);
});

test('a 409 on create with stable ids is an earlier delivery', () => {
  const conflict = { create: { _index: 'x', _id: 'a', status: 409, error: { type: 'version_conflict_engine_exception', reason: '[a]: version conflict, document already exists (current version [1])' } } };
  const body = JSON.stringify({ took: 1, errors: true, items: [conflict] });
  assert.deepEqual(readBulkResponse(body, 1, true), { ok: true, items: [{ kind: 'delivered' }] });
  assert.deepEqual(readBulkResponse(body, 1, false), {
    ok: true,
    items: [{ kind: 'rejected', reason: '409 version_conflict_engine_exception: [a]: version conflict, document already exists (current version [1])' }],
  });
});

test('bodies that cannot say what happened fail the whole request', () => {
  assert.deepEqual(readBulkResponse('', 1, false), { ok: false, reason: 'not a bulk response: the body is empty' });
  const html = readBulkResponse('<html>proxy</html>', 1, false);
  assert.ok(!html.ok && html.reason.startsWith('not a bulk response: the body is not JSON (') && html.reason.endsWith('<html>proxy</html>'));
  assert.deepEqual(readBulkResponse('{"acknowledged":true}', 1, false), { ok: false, reason: 'not a bulk response (no "items" array): {"acknowledged":true}' });
  assert.deepEqual(readBulkResponse('[]', 1, false), { ok: false, reason: 'not a bulk response (no "items" array): []' });
  assert.deepEqual(readBulkResponse(JSON.stringify({ items: [created] }), 2, false), { ok: false, reason: 'the bulk response has 1 items for 2 documents' });
});

test('an item without a status is retried', () => {
  const read = readBulkResponse(JSON.stringify({ items: [{ index: { _id: 'a' } }, 'x', null] }), 3, false);
  assert.ok(read.ok);
  assert.deepEqual(read.items.map((item) => item.kind), ['retry', 'retry', 'retry']);
  assert.match((read.items[0] as { reason: string }).reason, /without a status: \{"index":\{"_id":"a"\}\}/);
});

test('error descriptions', () => {
  assert.equal(describeError('old style message'), 'old style message');
  assert.equal(describeError(undefined), '(no error details)');
  assert.equal(describeError({ type: 't' }), 't');
  assert.equal(describeErrorBody(''), 'empty body');
  assert.equal(describeErrorBody('{"error":{"type":"a","reason":"b"},"status":400}'), 'a: b');
  assert.equal(describeErrorBody('{"error":"Content-Type header [text/plain] is not supported","status":406}'), 'Content-Type header [text/plain] is not supported');
  assert.equal(describeErrorBody('Unauthorized'), 'Unauthorized');
  assert.equal(describeError({ type: 't', reason: 'r'.repeat(5000) }).length, 1001);
});
