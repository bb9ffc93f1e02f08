import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenStore, bearerToken } from './token-store.js';

test('tokens map to their sensor; near misses do not', () => {
  const store = new TokenStore(new Map([['secret-token-1', 'spip-001'], ['secret-token-2', 'vps-frankfurt-01']]));
  assert.equal(store.sensorFor('secret-token-1'), 'spip-001');
  assert.equal(store.sensorFor('secret-token-2'), 'vps-frankfurt-01');
  for (const wrong of ['', 'wrong-token', 'secret-token-1x', 'secret-token-', 'SECRET-TOKEN-1']) {
    assert.equal(store.sensorFor(wrong), undefined, wrong);
  }
  assert.deepEqual(store.sensorIds(), ['spip-001', 'vps-frankfurt-01']);
});

test('replace swaps the whole set', () => {
  const store = new TokenStore(new Map([['old', 'sensor-a']]));
  store.replace(new Map([['new', 'sensor-b']]));
  assert.equal(store.sensorFor('old'), undefined);
  assert.equal(store.sensorFor('new'), 'sensor-b');
  assert.equal(store.size, 1);
});

test('bearer scheme is case-insensitive and the token is trimmed', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('BEARER  abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer '), undefined);
  assert.equal(bearerToken('Bearerabc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('a store rebuilt from digests knows the same tokens and never holds them', () => {
  const original = new TokenStore(new Map([['secret-one', 'spip-1'], ['secret-two', 'spip-2']]));
  const copy = new TokenStore(new Map());
  copy.replaceDigests(original.digests());
  assert.equal(copy.sensorFor('secret-one'), 'spip-1');
  assert.equal(copy.sensorFor('secret-two'), 'spip-2');
  assert.equal(copy.sensorFor('secret-three'), undefined);
  assert.ok(!JSON.stringify(original.digests()).includes('secret'));
  assert.deepEqual(copy.sensorIds(), ['spip-1', 'spip-2']);
});
