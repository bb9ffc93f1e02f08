import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeBuilder, eventHost, groupBySize, hecTime } from './envelope.js';

const settings = { index: undefined, sourcetype: 'loom:ecs', source: undefined, host: undefined, eventIdField: 'loom_event_id' };

test('hecTime gives epoch seconds with milliseconds as three decimals', () => {
  assert.equal(hecTime('2024-05-01T12:34:56.789Z'), '1714566896.789');
  assert.equal(hecTime('2024-05-01T12:34:56Z'), '1714566896.000');
  assert.equal(hecTime('2024-05-01T14:34:56.5+02:00'), '1714566896.500');
  assert.equal(hecTime('2024-05-01T12:34:56.789123Z'), '1714566896.789', 'microseconds are cut to milliseconds');
});

test('hecTime leaves out what is not a date, so that HEC uses the receive time', () => {
  for (const value of [undefined, null, '', 'yesterday', 1714566896789, {}, '1969-12-31T23:59:59Z']) {
    assert.equal(hecTime(value), undefined, String(value));
  }
});

test('eventHost prefers the observer (the sensor) over the host, in nested or dotted form', () => {
  assert.equal(eventHost({ observer: { hostname: 'sensor-1', name: 'n' }, host: { name: 'h' } }), 'sensor-1');
  assert.equal(eventHost({ observer: { name: 'obs' }, host: { name: 'h' } }), 'obs');
  assert.equal(eventHost({ 'host.name': 'dotted' }), 'dotted');
  assert.equal(eventHost({ host: { hostname: 'hh' } }), 'hh');
  assert.equal(eventHost({ observer: { hostname: '  ' }, host: { name: 7 } }), undefined);
  assert.equal(eventHost({}), undefined);
});

test('an envelope carries time, host, metadata, the event id and the event text unchanged', () => {
  const builder = new EnvelopeBuilder({ ...settings, index: 'honeypot', source: 'loom "main"' });
  const raw = '{"@timestamp":"2024-05-01T12:34:56.789Z","observer":{"hostname":"sensor-1"},"message":"é \\"x\\""}';
  assert.deepEqual(builder.build(raw, 'b1-0'), {
    ok: true,
    json: `{"time":1714566896.789,"host":"sensor-1","source":"loom \\"main\\"","sourcetype":"loom:ecs","index":"honeypot","fields":{"loom_event_id":"b1-0"},"event":${raw}}`,
  });
});

test('a configured host wins; no timestamp, no host, no event id field: those keys are left out', () => {
  const fixedHost = new EnvelopeBuilder({ ...settings, host: 'loom-1', eventIdField: '' });
  assert.deepEqual(fixedHost.build('{"observer":{"hostname":"s"}}', 'id'), {
    ok: true,
    json: '{"host":"loom-1","sourcetype":"loom:ecs","event":{"observer":{"hostname":"s"}}}',
  });
  const plain = new EnvelopeBuilder(settings);
  assert.deepEqual(plain.build('{"a":1}', undefined), { ok: true, json: '{"sourcetype":"loom:ecs","event":{"a":1}}' });
});

test('an event that is not a JSON object is refused before sending', () => {
  const builder = new EnvelopeBuilder(settings);
  const broken = builder.build('{"a":', 'x');
  assert.equal(broken.ok, false);
  assert.match((broken as { reason: string }).reason, /^not valid JSON/);
  assert.deepEqual(builder.build('[1,2]', 'x'), { ok: false, reason: 'not a JSON object' });
  assert.deepEqual(builder.build('"text"', 'x'), { ok: false, reason: 'not a JSON object' });
  assert.deepEqual(builder.build('null', 'x'), { ok: false, reason: 'not a JSON object' });
});

test('groupBySize keeps requests at or under the limit, counting a newline per item', () => {
  assert.deepEqual(groupBySize([], 100), []);
  assert.deepEqual(groupBySize([49, 49, 49], 100), [[0, 1], [2]]);
  assert.deepEqual(groupBySize([49, 50, 10], 100), [[0], [1, 2]]);
  assert.deepEqual(groupBySize([10, 500, 10], 100), [[0], [1], [2]], 'an oversized item travels alone');
  assert.deepEqual(groupBySize([1, 1, 1, 1], 1_000_000), [[0, 1, 2, 3]]);
});
