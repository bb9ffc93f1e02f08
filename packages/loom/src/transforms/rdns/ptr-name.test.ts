import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usableName } from './ptr-name.js';

test('host names pass, without the trailing dot', () => {
  assert.equal(usableName('dns.google.'), 'dns.google');
  assert.equal(usableName('dns.google'), 'dns.google');
  assert.equal(usableName('one.one.one.one'), 'one.one.one.one');
  assert.equal(usableName('ec2-3-8-1-2.eu-west-2.compute.amazonaws.com'), 'ec2-3-8-1-2.eu-west-2.compute.amazonaws.com');
  assert.equal(usableName('_dmarc.Example.ORG'), '_dmarc.Example.ORG');
  assert.equal(usableName('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  const longest = [61, 63, 63, 63].map((n) => 'a'.repeat(n)).join('.');
  assert.equal(longest.length, 253);
  assert.equal(usableName(`${longest}.`), longest);
});

test('anything else is no name', () => {
  const bad = [
    undefined, '', '.', '..', 'a..b', '.a', 'a b', 'a\tb', 'bad\x01name', 'bad\\001name', '<script>alert(1)</script>',
    'a.b/c', 'ünicode.example', 'a'.repeat(64), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`,
    'x'.repeat(300), 'name.\n', 'a.b;rm -rf /', '"quoted"',
  ];
  for (const name of bad) assert.equal(usableName(name), undefined, JSON.stringify(name));
});
