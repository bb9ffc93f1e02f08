import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableCrc32 } from './crc32.js';
import { SEGMENT_MAGIC, frameHeader, readFrame, scanSegment } from './frame.js';

function segment(...payloads: string[]): Buffer {
  const parts: Buffer[] = [SEGMENT_MAGIC];
  for (const p of payloads) {
    const b = Buffer.from(p);
    parts.push(frameHeader(b), b);
  }
  return Buffer.concat(parts);
}

test('the table CRC-32 matches the standard check value and node:zlib', async () => {
  assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
  const zlib = await import('node:zlib');
  const sample = Buffer.from('{"id":"e1","pad":"xxxxxxxx"}');
  if (typeof zlib.crc32 === 'function') assert.equal(tableCrc32(sample), zlib.crc32(sample));
});

test('an intact segment scans clean', () => {
  const buf = segment('{"a":1}', '{"b":2}', '{"c":3}');
  const scan = scanSegment(buf);
  assert.equal(scan.magic, true);
  assert.equal(scan.frames.length, 3);
  assert.equal(scan.frames.at(-1)?.[1], buf.length);
  assert.equal(scan.tornAt, undefined);
  assert.equal(scan.corruptRecords, 0);
  assert.equal(scan.unreadableFrom, undefined);
});

test('a cut anywhere inside the last record is a torn tail at that record', () => {
  const buf = segment('{"a":1}', '{"b":2}', '{"c":3}');
  const lastStart = scanSegment(buf).frames[2]?.[0] as number;
  for (let cut = lastStart + 1; cut < buf.length; cut++) {
    const scan = scanSegment(buf.subarray(0, cut));
    assert.equal(scan.frames.length, 2, `cut at ${cut}`);
    assert.equal(scan.tornAt, lastStart);
    assert.equal(scan.corruptRecords, 0);
  }
});

test('a zero-filled tail (file length extended, data never written) is a torn tail', () => {
  const buf = Buffer.concat([segment('{"a":1}'), Buffer.alloc(64)]);
  const scan = scanSegment(buf);
  assert.equal(scan.frames.length, 1);
  assert.equal(scan.tornAt, buf.length - 64);
  assert.equal(scan.unreadableFrom, undefined);
});

test('a damaged payload costs that record only', () => {
  const buf = segment('{"a":1}', '{"b":2}', '{"c":3}');
  const second = scanSegment(buf).frames[1] as [number, number];
  buf[second[0] + 13] = 0x21;
  const scan = scanSegment(buf);
  assert.equal(scan.corruptRecords, 1);
  assert.deepEqual(scan.frames.map(([s, e]) => buf.subarray(s + 12, e).toString()), ['{"a":1}', '{"c":3}']);
  assert.equal(scan.tornAt, undefined);
});

test('a damaged header with data after it makes the rest unreadable', () => {
  const buf = segment('{"a":1}', '{"b":2}', '{"c":3}');
  const second = scanSegment(buf).frames[1] as [number, number];
  buf[second[0]] = 0x7f;
  const scan = scanSegment(buf);
  assert.equal(scan.frames.length, 1);
  assert.equal(scan.unreadableFrom, second[0]);
  assert.equal(readFrame(buf, second[0]).kind, 'bad-header');
});

test('a file without the magic is not a segment', () => {
  assert.equal(scanSegment(Buffer.from('hello, world')).magic, false);
  assert.equal(scanSegment(Buffer.alloc(0)).magic, false);
});
