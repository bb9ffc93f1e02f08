import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexName, indexNameProblem } from './index-name.js';

const jan31 = new Date(Date.UTC(2024, 0, 31, 5, 6, 7));

test('a name without %{} is static', () => {
  const name = IndexName.parse('loom-events');
  assert.equal(name.isStatic, true);
  assert.equal(name.forEvent('{"@timestamp":"2020-01-01T00:00:00Z"}', jan31), 'loom-events');
});

test('date tokens render in UTC', () => {
  assert.equal(IndexName.parse('loom-%{+yyyy.MM.dd}').render(jan31), 'loom-2024.01.31');
  assert.equal(IndexName.parse('loom-%{+yyyy.MM.dd.HH}').render(jan31), 'loom-2024.01.31.05');
  assert.equal(IndexName.parse('loom-%{+yy-MM}').render(jan31), 'loom-24-01');
  assert.equal(IndexName.parse('%{+yyyy}-loom-%{+MM}').render(jan31), '2024-loom-01');
  // A date just before midnight in UTC+2 is still the previous day in UTC.
  assert.equal(IndexName.parse('l-%{+yyyy.MM.dd}').forEvent('{"@timestamp":"2024-03-01T01:30:00+02:00"}', jan31), 'l-2024.02.29');
});

test('ISO week-year and week', () => {
  const weekly = IndexName.parse('loom-%{+xxxx.ww}');
  assert.equal(weekly.render(new Date(Date.UTC(2024, 11, 30))), 'loom-2025.01'); // Monday of 2025's week 1
  assert.equal(weekly.render(new Date(Date.UTC(2021, 0, 3))), 'loom-2020.53'); // Sunday, still 2020's week 53
  assert.equal(weekly.render(new Date(Date.UTC(2024, 0, 1))), 'loom-2024.01');
  assert.equal(weekly.render(new Date(Date.UTC(2026, 5, 15))), 'loom-2026.25');
});

test('the event timestamp decides the index; without a usable one, now does', () => {
  const name = IndexName.parse('loom-%{+yyyy.MM.dd}');
  assert.equal(name.forEvent('{"@timestamp":"2023-12-24T23:59:59.999Z","a":1}', jan31), 'loom-2023.12.24');
  assert.equal(name.forEvent('{"@timestamp":1700000000000}', jan31), 'loom-2023.11.14');
  assert.equal(name.forEvent('{"a":1}', jan31), 'loom-2024.01.31');
  assert.equal(name.forEvent('{"@timestamp":"yesterday"}', jan31), 'loom-2024.01.31');
  assert.equal(name.forEvent('{"@timestamp":null}', jan31), 'loom-2024.01.31');
  assert.equal(name.forEvent('[1,2]', jan31), 'loom-2024.01.31');
  assert.equal(name.forEvent('not json', jan31), 'loom-2024.01.31');
  assert.equal(name.forEvent('{"nested":{"@timestamp":"2001-01-01T00:00:00Z"}}', jan31), 'loom-2024.01.31');
});

test('mistakes are refused with a message that names them', () => {
  assert.throws(() => IndexName.parse('loom-%{+yyyy.mm.dd}'), /unsupported date token "mm"/);
  assert.throws(() => IndexName.parse('loom-%{+YYYY}'), /unsupported date token "YYYY"/);
  assert.throws(() => IndexName.parse('loom-%{[event][dataset]}'), /only dates can be substituted/);
  assert.throws(() => IndexName.parse('loom-%{+yyyy'), /unterminated/);
  assert.throws(() => IndexName.parse('loom-%{+}'), /empty date format/);
  assert.throws(() => IndexName.parse('Loom-%{+yyyy}'), /must be lowercase/);
  assert.throws(() => IndexName.parse('loom events'), /must not contain " "/);
  assert.throws(() => IndexName.parse('_loom'), /must not start with/);
  assert.throws(() => IndexName.parse(''), /empty/);
});

test('indexNameProblem follows the server rules', () => {
  assert.equal(indexNameProblem('logs-loom-default'), undefined);
  assert.equal(indexNameProblem('.ds-x'), undefined);
  assert.match(indexNameProblem('a,b') ?? '', /","/);
  assert.match(indexNameProblem('..') ?? '', /\.\./);
  assert.match(indexNameProblem('x'.repeat(256)) ?? '', /255 bytes/);
});
