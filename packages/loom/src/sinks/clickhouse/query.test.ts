import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupTokenFor, eventStringTsvPath, insertPath, insertStatement, parseVersion, quoteIdentifier, selectPath, supportsDedupToken, tsvFromNdjson } from './query.js';

describe('insert query strings', () => {
  test('event_string without a token: the Go statement, quoted, and best_effort times', () => {
    assert.equal(
      insertPath({ database: 'default', table: 'loom_events', mode: 'event_string' }),
      '/?query=INSERT%20INTO%20%60default%60.%60loom_events%60%20(event)%20FORMAT%20JSONEachRow&date_time_input_format=best_effort',
    );
  });

  test('typed with a token: no column list, unknown fields skipped, the token last', () => {
    assert.equal(
      insertPath({ database: 'loom', table: 'events', mode: 'typed' }, 'batch-7:0-50'),
      '/?query=INSERT%20INTO%20%60loom%60.%60events%60%20FORMAT%20JSONEachRow&date_time_input_format=best_effort' +
        '&input_format_skip_unknown_fields=1&insert_deduplication_token=batch-7%3A0-50',
    );
  });

  test('the query string decodes back to the statement and settings', () => {
    const params = new URLSearchParams(insertPath({ database: 'db', table: 't', mode: 'typed' }, 'a&b=c').slice(2));
    assert.deepEqual([...params.entries()], [
      ['query', 'INSERT INTO `db`.`t` FORMAT JSONEachRow'],
      ['date_time_input_format', 'best_effort'],
      ['input_format_skip_unknown_fields', '1'],
      ['insert_deduplication_token', 'a&b=c'],
    ]);
  });

  test('identifiers are quoted so that a name cannot end the statement', () => {
    assert.equal(quoteIdentifier('events'), '`events`');
    assert.equal(quoteIdentifier('we`ird\\name'), '`we\\`ird\\\\name`');
    assert.equal(insertStatement('a b', 'c', 'event_string'), 'INSERT INTO `a b`.`c` (event) FORMAT JSONEachRow');
  });

  test('selectPath', () => {
    assert.equal(selectPath('SELECT version()'), '/?query=SELECT%20version()');
  });
});

describe('dedup token support', () => {
  test('22.2 and newer take insert_deduplication_token; older servers do not', () => {
    assert.equal(supportsDedupToken('18.16.1'), false);
    assert.equal(supportsDedupToken('21.12.4.1'), false);
    assert.equal(supportsDedupToken('22.1.3.7'), false);
    assert.equal(supportsDedupToken('22.2.1.2139'), true);
    assert.equal(supportsDedupToken('22.10.1.1'), true);
    assert.equal(supportsDedupToken('24.8.4.13\n'), true);
    assert.equal(supportsDedupToken('100.1'), true);
    assert.equal(supportsDedupToken(''), false);
    assert.equal(supportsDedupToken('unknown'), false);
  });

  test('parseVersion', () => {
    assert.deepEqual(parseVersion('18.16.1'), [18, 16]);
    assert.equal(parseVersion('v1'), undefined);
  });

  test('the whole batch sends its id; a part, the id and its range', () => {
    assert.equal(dedupTokenFor('b1', 0, 10, 10), 'b1');
    assert.equal(dedupTokenFor('b1', 0, 5, 10), 'b1:0-5');
    assert.equal(dedupTokenFor('b1', 5, 10, 10), 'b1:5-10');
  });
});

test('tsvFromNdjson doubles every backslash and returns the same buffer when there is none', () => {
  const plain = Buffer.from('{"a":1}\n{"b":"x"}\n');
  assert.equal(tsvFromNdjson(plain), plain);
  const escaped = Buffer.from('{"a":"q\\"x\\\\y"}\n{"b":"\\u0000"}\n');
  assert.equal(Buffer.from(tsvFromNdjson(escaped)).toString(), '{"a":"q\\\\"x\\\\\\\\y"}\n{"b":"\\\\u0000"}\n');
  assert.equal(Buffer.from(tsvFromNdjson(Buffer.from('\\'))).toString(), '\\\\');
});

test('eventStringTsvPath: one column, TabSeparated, and the dedup token only when given', () => {
  assert.equal(eventStringTsvPath('db', 'events'), `/?query=${encodeURIComponent('INSERT INTO `db`.`events` (event) FORMAT TabSeparated')}`);
  assert.match(eventStringTsvPath('db', 'events', 'batch-1'), /&insert_deduplication_token=batch-1$/);
});
