import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameError, FrameReader } from './frames.js';

const frameBytes = (kind: number, id: number, header: unknown, payload: string): Buffer => Buffer.concat(encodeFrame(kind, id, header, Buffer.from(payload)));

test('frames come out whole however the stream is cut', () => {
  const stream = Buffer.concat([
    frameBytes(1, 7, { sensorId: 's-1', count: 2 }, '{"a":1}\n{"a":2}\n'),
    frameBytes(2, 7, null, ''),
    frameBytes(3, 4294967295, { message: 'ü' }, 'x'.repeat(5000)),
  ]);
  for (const cut of [1, 2, 3, 5, 13, 64, 4096, stream.length]) {
    const reader = new FrameReader(1 << 20);
    const frames = [];
    for (let at = 0; at < stream.length; at += cut) frames.push(...reader.push(stream.subarray(at, at + cut)));
    assert.equal(frames.length, 3, `cut every ${cut} bytes`);
    assert.deepEqual(frames.map((f) => [f.kind, f.id, f.header]), [[1, 7, { sensorId: 's-1', count: 2 }], [2, 7, null], [3, 4294967295, { message: 'ü' }]]);
    assert.equal(frames[0]?.payload.toString(), '{"a":1}\n{"a":2}\n');
    assert.equal(frames[1]?.payload.length, 0);
    assert.equal(frames[2]?.payload.toString(), 'x'.repeat(5000));
  }
});

test('a frame over the limit or with a header past its end is a broken stream', () => {
  assert.throws(() => new FrameReader(100).push(frameBytes(1, 1, null, 'y'.repeat(200))), FrameError);
  const bad = frameBytes(1, 1, { a: 1 }, '');
  bad.writeUInt32BE(1000, 9);
  assert.throws(() => new FrameReader(1000).push(bad), /header of 1000 bytes/);
  const garbage = Buffer.from(frameBytes(1, 1, { a: 1 }, ''));
  garbage.write('!', 13);
  assert.throws(() => new FrameReader(1000).push(garbage), /not JSON/);
});
