import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpResponse } from '../http-target.js';
import { classifyInsert, parseException } from './response.js';

const context = { display: 'http://ch:8123', table: 'loom.events' };
const answer = (status: number, body: string, headers: HttpResponse['headers'] = {}): HttpResponse => ({ status, body, headers });

describe('ClickHouse answers', () => {
  test('parseException reads 18.16 and current formats', () => {
    assert.deepEqual(
      parseException('Code: 26, e.displayText() = DB::Exception: Cannot parse JSON string: expected opening quote: (while read the value of key event): (at row 2)\n, e.what() = DB::Exception\n'),
      { code: 26, message: 'Code: 26, DB::Exception: Cannot parse JSON string: expected opening quote: (while read the value of key event)' },
    );
    assert.deepEqual(
      parseException('Code: 60. DB::Exception: Table loom.events does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n', '60'),
      { code: 60, message: 'Code: 60. DB::Exception: Table loom.events does not exist. (UNKNOWN_TABLE)' },
    );
    assert.deepEqual(parseException('<html>Bad Gateway</html>'), { code: undefined, message: '<html>Bad Gateway</html>' });
  });

  test('errors in the rows, whatever the status, are bad rows', () => {
    assert.equal(classifyInsert(answer(200, ''), context).kind, 'delivered');
    assert.equal(classifyInsert(answer(400, 'Code: 26, e.displayText() = DB::Exception: Cannot parse JSON string'), context).kind, 'bad_rows');
    assert.equal(classifyInsert(answer(500, 'Code: 131, e.displayText() = DB::Exception: Too large value for FixedString(3)'), context).kind, 'bad_rows');
    assert.equal(classifyInsert(answer(400, 'Code: 6. DB::Exception: Cannot parse string', { 'x-clickhouse-exception-code': '6' }), context).kind, 'bad_rows');
    const tooLarge = classifyInsert(answer(413, '<html>Request Entity Too Large</html>'), context);
    assert.deepEqual(tooLarge, { kind: 'bad_rows', message: 'ClickHouse 413 from http://ch:8123: request too large: <html>Request Entity Too Large</html>' });
  });

  test('everything else retries, with a reason that says what to fix', () => {
    const auth = classifyInsert(answer(401, 'Code: 193, e.displayText() = DB::Exception: Wrong password for user loom, e.what() = DB::Exception'), context);
    assert.deepEqual(auth, {
      kind: 'retry',
      reason: 'ClickHouse 401 from http://ch:8123: authentication failed (check the ClickHouse user and password): Code: 193, DB::Exception: Wrong password for user loom',
    });
    const table = classifyInsert(answer(404, "Code: 60, e.displayText() = DB::Exception: Table loom.events doesn't exist., e.what() = DB::Exception"), context);
    assert.deepEqual(table, {
      kind: 'retry',
      reason: "ClickHouse 404 from http://ch:8123: Code: 60, DB::Exception: Table loom.events doesn't exist. (create loom.events first, e.g. from docs/clickhouse/schema.sql)",
    });
    const setting = classifyInsert(answer(404, 'Code: 115, e.displayText() = DB::Exception: Unknown setting insert_deduplication_token, e.what() = DB::Exception'), context);
    assert.match(setting.kind === 'retry' ? setting.reason : '', /Unknown setting insert_deduplication_token \(this server predates/);
    const column = classifyInsert(answer(500, 'Code: 16, e.displayText() = DB::Exception: No such column event in table e, e.what() = DB::Exception'), context);
    assert.equal(column.kind, 'retry');
    const denied = classifyInsert(answer(403, 'Code: 497. DB::Exception: loom: Not enough privileges. (ACCESS_DENIED)'), context);
    assert.match(denied.kind === 'retry' ? denied.reason : '', /^ClickHouse 403 from http:\/\/ch:8123: permission denied/);
    assert.deepEqual(classifyInsert(answer(503, '', { 'retry-after': '7' }), context), {
      kind: 'retry',
      reason: 'ClickHouse 503 from http://ch:8123: (empty body)',
      retryAfterMs: 7000,
    });
    // An authentication failure is never mistaken for bad rows, whatever code it carries.
    assert.equal(classifyInsert(answer(401, 'Code: 26 from a proxy'), context).kind, 'retry');
  });
});
