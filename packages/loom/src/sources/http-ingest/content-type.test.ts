import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyFormatFor, isSupportedEncoding } from './content-type.js';

test('media types with parameters and in any case are accepted', () => {
  assert.equal(bodyFormatFor('application/json'), 'json');
  assert.equal(bodyFormatFor('application/json; charset=utf-8'), 'json');
  assert.equal(bodyFormatFor('Application/JSON ;charset=UTF-8'), 'json');
  assert.equal(bodyFormatFor('application/x-ndjson'), 'ndjson');
  assert.equal(bodyFormatFor('text/plain'), undefined);
  assert.equal(bodyFormatFor(''), undefined);
  assert.equal(bodyFormatFor(undefined), undefined);
});

test('gzip and identity encodings are supported, others are not', () => {
  assert.equal(isSupportedEncoding(undefined), true);
  assert.equal(isSupportedEncoding('gzip'), true);
  assert.equal(isSupportedEncoding('identity'), true);
  assert.equal(isSupportedEncoding('br'), false);
  assert.equal(isSupportedEncoding('deflate'), false);
});
