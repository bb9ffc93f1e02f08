import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordFormatter } from './record-format.js';

const ndjson = (...events: unknown[]): Buffer => Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** What a reader of the plaintext file does: split on the delimiters, then undo the escapes. */
function readBack(file: string, field: string, entry: string): string[][] {
  const unescape = (value: string): string => value.replace(/\\(\\|x[0-9a-f]{2}|u\{[0-9a-f]+\})/g, (_m, esc: string) => {
    if (esc === '\\') return '\\';
    return String.fromCodePoint(parseInt(esc.startsWith('x') ? esc.slice(1) : esc.slice(2, -1), 16));
  });
  return file.split(entry).slice(0, -1).map((record) => record.split(field).map(unescape));
}

test('json without column_order writes the events exactly as received (same buffer)', () => {
  const formatter = new RecordFormatter({ format: 'json', columnOrder: [], fieldDelimiter: '\t', entryDelimiter: '\n' });
  const input = ndjson({ a: 1 }, { b: 'x' });
  assert.equal(formatter.format(input), input);
});

test('json with column_order keeps only those fields, in that order, named as the columns; missing ones are null', () => {
  const formatter = new RecordFormatter({ format: 'json', columnOrder: ['source_ip', 'timestamp', 'source.port', 'message', 'absent'], fieldDelimiter: '\t', entryDelimiter: '\n' });
  const out = text(formatter.format(ndjson({ '@timestamp': '2026-01-01T00:00:00Z', source: { ip: '192.0.2.1', port: 22 }, message: 'hi', extra: true })));
  assert.equal(out, '{"source_ip":"192.0.2.1","timestamp":"2026-01-01T00:00:00Z","source.port":22,"message":"hi","absent":null}\n');
});

test('plaintext joins the columns and escapes backslashes and every delimiter character, so records split back exactly', () => {
  const field = '|';
  const entry = '\n';
  const formatter = new RecordFormatter({ format: 'plaintext', columnOrder: ['timestamp', 'source_ip', 'message', 'count', 'tags', 'missing'], fieldDelimiter: field, entryDelimiter: entry });
  const nasty = 'a|b\nc\\d é 🙂';
  const out = text(formatter.format(ndjson(
    { timestamp: '2026-01-01T00:00:00Z', source_ip: '198.51.100.7', message: nasty, count: 3, tags: ['x', 'y'] },
    { timestamp: '2026-01-01T00:00:01Z', source_ip: '2001:db8::1', message: '', count: 0 },
  )));
  assert.equal(out.split(entry).length, 3, 'two records, each ended by the entry delimiter');
  assert.match(out, /a\\x7cb\\x0ac\\\\d é 🙂/);
  assert.deepEqual(readBack(out, field, entry), [
    ['2026-01-01T00:00:00Z', '198.51.100.7', nasty, '3', '["x","y"]', ''],
    ['2026-01-01T00:00:01Z', '2001:db8::1', '', '0', '', ''],
  ]);
});

test('multi-character and non-Latin-1 delimiters are escaped character by character', () => {
  const field = '::';
  const entry = '¶\n';
  const formatter = new RecordFormatter({ format: 'plaintext', columnOrder: ['v', 'w'], fieldDelimiter: field, entryDelimiter: entry });
  const out = text(formatter.format(ndjson({ v: 'x::y¶z', w: '→:' })));
  assert.equal(out, 'x\\x3a\\x3ay\\xb6z::→\\x3a¶\n');
  assert.deepEqual(readBack(out, field, entry), [['x::y¶z', '→:']]);
  const arrow = new RecordFormatter({ format: 'plaintext', columnOrder: ['v'], fieldDelimiter: '→', entryDelimiter: '\n' });
  assert.equal(text(arrow.format(ndjson({ v: 'a→b' }))), 'a\\u{2192}b\n');
});
