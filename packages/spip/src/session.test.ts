import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseAddress, startsLikeKnownMethod } from './session.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

test('only a known HTTP method (or a prefix of one) is worth waiting for', () => {
  for (const text of ['GET ', 'GET /x', 'G', 'GE', 'post /', 'PROPFIND /', 'PRI * HTTP/2.0']) assert.equal(startsLikeKnownMethod(bytes(text)), true, text);
  for (const text of ['Hello TCP!', 'GETX /', 'BitTorrent protocol', 'TCP probe 1', 'SSH-2.0-x', '\x16\x03\x01']) assert.equal(startsLikeKnownMethod(bytes(text)), false, text);
});

test('IPv4-mapped addresses are shown as IPv4', () => {
  assert.equal(normaliseAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normaliseAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(normaliseAddress('::ffff:0:1'), '::ffff:0:1');
});
