import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPath, isPlainObject } from './event.js';

test('getPath reads nested and dotted keys', () => {
  const event = { source: { ip: '192.0.2.1', 'geo.country_iso_code': 'NL' }, 'destination.port': 22 };
  assert.equal(getPath(event, 'source.ip'), '192.0.2.1');
  assert.equal(getPath(event, 'source.geo.country_iso_code'), 'NL');
  assert.equal(getPath(event, 'destination.port'), 22);
  assert.equal(getPath(event, 'source.port'), undefined);
  assert.equal(getPath(event, 'source.ip.x'), undefined);
});

test('getPath ignores inherited properties', () => {
  const event = JSON.parse('{"source":{"ip":"192.0.2.1"}}');
  assert.equal(getPath(event, 'constructor'), undefined);
  assert.equal(getPath(event, 'source.toString'), undefined);
});

test('isPlainObject rejects arrays and null', () => {
  assert.equal(isPlainObject({}), true);
  assert.equal(isPlainObject([]), false);
  assert.equal(isPlainObject(null), false);
  assert.equal(isPlainObject('x'), false);
});
