import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUSY_RETRY_AFTER_MS, classify, parseHecAnswer, type RequestOutcome } from './status.js';

function outcome(status: number, body: unknown, count = 3, headers: Record<string, string> = {}): RequestOutcome {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return classify(status, headers, text, text, count);
}

test('parseHecAnswer reads text, code, invalid-event-number and ackId, and nothing else', () => {
  assert.deepEqual(parseHecAnswer('{"text":"Success","code":0,"ackId":7}'), { text: 'Success', code: 0, invalidEventNumber: undefined, ackId: 7 });
  assert.deepEqual(parseHecAnswer('{"text":"Invalid data format","code":6,"invalid-event-number":2}'), {
    text: 'Invalid data format',
    code: 6,
    invalidEventNumber: 2,
    ackId: undefined,
  });
  assert.equal(parseHecAnswer('<html>bad gateway</html>'), undefined);
  assert.equal(parseHecAnswer('[]'), undefined);
  assert.equal(parseHecAnswer('{"other":1}'), undefined);
  assert.deepEqual(parseHecAnswer('{"code":0,"ackId":-1}'), { text: undefined, code: 0, invalidEventNumber: undefined, ackId: undefined });
});

test('200 code 0 is accepted, with the ackId when there is one', () => {
  assert.deepEqual(outcome(200, { text: 'Success', code: 0 }), { kind: 'accepted', ackId: undefined });
  assert.deepEqual(outcome(200, { text: 'Success', code: 0, ackId: 3 }), { kind: 'accepted', ackId: 3 });
});

test('a 200 that is not a HEC success is retried with what came back', () => {
  assert.deepEqual(outcome(200, '<html>login</html>'), { kind: 'retry', reason: 'not a HEC answer: HTTP 200: <html>login</html>' });
  assert.deepEqual(outcome(200, ''), { kind: 'retry', reason: 'not a HEC answer: HTTP 200 with an empty body' });
  assert.deepEqual(outcome(200, { text: 'HEC is healthy', code: 17 }), { kind: 'retry', reason: 'unexpected HEC answer: 200 HEC is healthy (HEC code 17)' });
});

test('token problems (codes 1-4) are retried, never rejected', () => {
  for (const [status, code, text] of [[403, 1, 'Token disabled'], [401, 2, 'Token is required'], [401, 3, 'Invalid authorization'], [403, 4, 'Invalid token']] as const) {
    assert.deepEqual(outcome(status, { text, code }), { kind: 'retry', reason: `the collector refused the token: ${status} ${text} (HEC code ${code})` });
  }
});

test('busy and server errors are retried; busy without Retry-After waits a default time', () => {
  assert.deepEqual(outcome(503, { text: 'Server is busy', code: 9 }), { kind: 'retry', reason: '503 Server is busy (HEC code 9)', retryAfterMs: BUSY_RETRY_AFTER_MS });
  assert.deepEqual(outcome(503, { text: 'Server is busy', code: 9 }, 3, { 'retry-after': '12' }), {
    kind: 'retry',
    reason: '503 Server is busy (HEC code 9)',
    retryAfterMs: 12_000,
  });
  assert.deepEqual(outcome(500, { text: 'Internal server error', code: 8 }), { kind: 'retry', reason: '500 Internal server error (HEC code 8)' });
  assert.deepEqual(outcome(429, 'slow down', 3, { 'retry-after': '2' }), { kind: 'retry', reason: 'HTTP 429: slow down', retryAfterMs: 2_000 });
  assert.deepEqual(outcome(502, ''), { kind: 'retry', reason: 'HTTP 502 with an empty body' });
});

test('invalid data at event N: the ones before were taken, N is refused, the rest are not looked at', () => {
  assert.deepEqual(outcome(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 }), {
    kind: 'partial',
    invalid: 1,
    reason: '400 Invalid data format (HEC code 6)',
    restRejected: false,
    ackId: undefined,
  });
  for (const [code, text] of [[12, 'Event field is required'], [13, 'Event field cannot be blank'], [15, 'Error in handling indexed fields']] as const) {
    const result = outcome(400, { text, code, 'invalid-event-number': 0 });
    assert.equal(result.kind, 'partial');
    assert.equal((result as { restRejected: boolean }).restRejected, false);
  }
});

test('an incorrect index refuses every event from the first one on, since all share the index', () => {
  assert.deepEqual(outcome(400, { text: 'Incorrect index', code: 7, 'invalid-event-number': 0 }), {
    kind: 'partial',
    invalid: 0,
    reason: '400 Incorrect index (HEC code 7)',
    restRejected: true,
    ackId: undefined,
  });
});

test('an event-level refusal without a usable position refuses the whole request', () => {
  assert.deepEqual(outcome(400, { text: 'Incorrect index', code: 7 }), { kind: 'rejected', reason: '400 Incorrect index (HEC code 7)' });
  assert.deepEqual(outcome(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 3 }, 3), {
    kind: 'rejected',
    reason: '400 Invalid data format (HEC code 6)',
  });
});

test('a missing channel means the token wants acknowledgement; other 400s are retried', () => {
  assert.deepEqual(outcome(400, { text: 'Data channel is missing', code: 10 }), {
    kind: 'retry',
    reason: '400 Data channel is missing (HEC code 10): the token requires indexer acknowledgement, enable ack for this output',
  });
  assert.deepEqual(outcome(400, { text: 'No data', code: 5 }), { kind: 'retry', reason: '400 No data (HEC code 5)' });
  assert.deepEqual(outcome(400, '<html>proxy</html>'), { kind: 'retry', reason: 'HTTP 400: <html>proxy</html>' });
  assert.deepEqual(outcome(404, { text: 'The requested URL was not found on this server.', code: 404 }), {
    kind: 'retry',
    reason: '404 The requested URL was not found on this server. (HEC code 404)',
  });
});

test('413: a request of several events is retried, a single event is refused for good', () => {
  assert.equal(outcome(413, 'too large', 2).kind, 'retry');
  assert.deepEqual(outcome(413, 'too large', 1), { kind: 'rejected', reason: 'the event alone is larger than the collector accepts: HTTP 413: too large' });
});
