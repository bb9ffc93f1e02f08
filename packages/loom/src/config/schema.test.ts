import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TomlValues, describeValue, unknownKeyWarnings } from './schema.js';
import { closest, editDistance } from '@loom/toml-config';

test('editDistance counts single-character edits, ignoring case', () => {
  assert.equal(editDistance('listen_adress', 'listen_address'), 1);
  assert.equal(editDistance('TLS', 'tls'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest suggests only plausible typos', () => {
  assert.equal(closest('metrics_enable', ['metrics_enabled', 'level']), 'metrics_enabled');
  assert.equal(closest('zzzz', ['tls', 'workers']), undefined);
});

test('unknown keys inside a known table of the wrong type are not reported twice', () => {
  assert.deepEqual(unknownKeyWarnings({ server: 'x' }), []);
});

test('[auth.tokens] keys are never reported as unknown', () => {
  assert.deepEqual(unknownKeyWarnings({ auth: { tokens: { 'some-token': 'sensor' } } }), []);
});

test('a misplaced key is pointed to the table where it belongs', () => {
  assert.deepEqual(unknownKeyWarnings({ output: { metrics_enabled: true } }), [
    'unknown key "output.metrics_enabled" (ignored; did you mean "observability.metrics_enabled"?)',
  ]);
});

test('TomlValues reads typed values and treats wrong types as absent', () => {
  const values = new TomlValues({ a: { s: 'x', n: 5n, f: 2.0, b: true, list: ['k'] } });
  assert.equal(values.string('a.s'), 'x');
  assert.equal(values.integer('a.n'), 5);
  assert.equal(values.integer('a.f'), 2);
  assert.equal(values.boolean('a.b'), true);
  assert.deepEqual(values.stringArray('a.list'), ['k']);
  assert.equal(values.string('a.missing'), undefined);
  assert.equal(values.integer('a.s'), undefined);
  assert.deepEqual(values.errors, ['a.s: expected an integer, got string "x"']);
});

test('describeValue shortens long strings and can hide the value', () => {
  assert.equal(describeValue('x'.repeat(100)), `string "${'x'.repeat(57)}..."`);
  assert.equal(describeValue('secret', false), 'string');
  assert.equal(describeValue(new Date(0)), 'datetime');
});

test('a stray key in [auth] is reported without its name, which may be a token', () => {
  assert.deepEqual(unknownKeyWarnings({ auth: { 'Xk81-secret-token-value': 'spip01', token_fil: 'x' } }), [
    'unknown key in [auth] (ignored; name not shown because it may be a token; tokens go in [auth.tokens])',
    'unknown key "auth.token_fil" (ignored; did you mean "auth.token_file"?)',
  ]);
});

test('[auth.tokens] written as a string is reported without the string', () => {
  const values = new TomlValues({ auth: { tokens: 'secret-value' } });
  assert.equal(values.table('auth.tokens'), undefined);
  assert.deepEqual(values.errors, ['auth.tokens: expected a table, got string']);
});
