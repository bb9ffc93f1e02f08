import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPath, isPlainObject, pathReader, type EcsEvent, type JsonValue } from './event.js';

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

test('pathReader answers exactly as getPath, for nested, literal dotted and odd keys', () => {
  const events: EcsEvent[] = [
    { source: { ip: '192.0.2.1', 'geo.country_iso_code': 'NL', geo: { country_iso_code: 'DE' } }, 'destination.port': 22 },
    { 'source.ip': 'top', source: { ip: 'nested' } },
    { source: { 'ip': null }, a: { '': { b: 1 }, '.b': 2 }, 'a.': 3 },
    { source: ['192.0.2.1'], tls: { client: { hash: { ja4: 'x' } }, 'client.hash': { ja4: 'y' } } },
    { tls: { 'client.hash.ja4': 'literal', client: { hash: { ja4: 'nested' } } } },
    JSON.parse('{"__proto__":{"ip":"p"},"constructor":{"name":"c"},"source":{"toString":"t"}}') as EcsEvent,
    {},
  ];
  const paths = ['source.ip', 'source.geo.country_iso_code', 'destination.port', 'a..b', 'a.', 'a', '', '.', 'tls.client.hash.ja4',
    '__proto__.ip', 'constructor.name', 'source.toString', 'source.ip.x', 'constructor', 'source.hasOwnProperty'];
  for (const path of paths) {
    const read = pathReader(path);
    for (const event of events) assert.deepEqual(read(event), getPath(event, path), `${path} of ${JSON.stringify(event)}`);
  }
});

test('pathReader agrees with getPath on generated objects with dotted keys at every level', () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const segments = ['a', 'b', 'c', ''];
  const key = (): string => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => segments[Math.floor(rand() * segments.length)]).join('.');
  const value = (depth: number): JsonValue => {
    const roll = rand();
    if (depth === 0 || roll < 0.3) return roll < 0.1 ? null : Math.floor(roll * 100);
    if (roll < 0.4) return [value(depth - 1)];
    const object: { [key: string]: JsonValue } = {};
    for (let i = Math.floor(rand() * 5); i > 0; i--) object[key()] = value(depth - 1);
    return object;
  };
  const paths = Array.from({ length: 12 }, key);
  const readers = paths.map(pathReader);
  for (let i = 0; i < 2000; i++) {
    const event = value(4);
    if (!isPlainObject(event)) continue;
    const expected = paths.map((path) => getPath(event, path));
    assert.deepEqual(readers.map((read) => read(event)), expected, JSON.stringify(event));
  }
});
