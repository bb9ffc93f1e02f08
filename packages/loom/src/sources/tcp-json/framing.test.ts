import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, type FrameSink } from './framing.js';

/** Feeds the chunks and records what the splitter reports: message text, or "<oversized>". */
function split(max: number, chunks: (string | Buffer)[], finish = false): string[] {
  const out: string[] = [];
  const sink: FrameSink = {
    line: (buf, start, end) => out.push(buf.toString('latin1', start, end)),
    oversized: () => out.push('<oversized>'),
  };
  const splitter = new LineSplitter(max);
  for (const chunk of chunks) splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1'), sink);
  if (finish) splitter.finish(sink);
  return out;
}

test('LF ends a message, a CR before it is dropped, empty lines are no messages', () => {
  assert.deepEqual(split(100, ['{"a":1}\n{"b":2}\r\n\n\r\n{"c":3}\n']), ['{"a":1}', '{"b":2}', '{"c":3}']);
  // A lone CR inside a message is part of it; only CR right before LF is a line end.
  assert.deepEqual(split(100, ['a\rb\n']), ['a\rb']);
});

test('a message split over many reads is put back together, even one byte at a time', () => {
  const text = '{"message":"hello"}\r\n{"x":1}\n';
  assert.deepEqual(split(100, [...text]), ['{"message":"hello"}', '{"x":1}']);
  assert.deepEqual(split(100, ['{"a":', '1}\r', '\n']), ['{"a":1}']);
});

test('an unterminated last line is a message only when the peer finishes sending', () => {
  assert.deepEqual(split(100, ['{"a":1}\n{"b":']), ['{"a":1}']);
  assert.deepEqual(split(100, ['{"a":1}\n{"b":2}'], true), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(split(100, ['{"a":1}\n'], true), ['{"a":1}']);
});

test('the size limit counts the message without its line end', () => {
  const max = 10;
  assert.deepEqual(split(max, ['0123456789\n']), ['0123456789']);
  assert.deepEqual(split(max, ['0123456789\r\n']), ['0123456789']);
  assert.deepEqual(split(max, ['0123456789', '\r', '\n']), ['0123456789']);
  assert.deepEqual(split(max, ['01234567890\n']), ['<oversized>']);
  assert.deepEqual(split(max, ['01234', '567890\n']), ['<oversized>']);
});

test('an oversized message is reported once, as soon as it is known, and skipped up to the next LF', () => {
  const max = 10;
  const out: string[] = [];
  const sink: FrameSink = { line: (buf, s, e) => out.push(buf.toString('latin1', s, e)), oversized: () => out.push('<oversized>') };
  const splitter = new LineSplitter(max);
  splitter.push(Buffer.from('{"ok":1}\n0123456789ABC'), sink);
  // Known to be too long before its end arrives: reported now, not buffered.
  assert.deepEqual(out, ['{"ok":1}', '<oversized>']);
  assert.equal(splitter.buffered, 0);
  splitter.push(Buffer.alloc(100_000, 0x41), sink);
  assert.equal(splitter.buffered, 0);
  splitter.push(Buffer.from('AAAA\n{"next":1}\n'), sink);
  assert.deepEqual(out, ['{"ok":1}', '<oversized>', '{"next":1}']);
  // The unfinished tail of a skipped message is not a message at the end of the stream either.
  splitter.push(Buffer.from('0123456789012'), sink);
  splitter.finish(sink);
  assert.deepEqual(out, ['{"ok":1}', '<oversized>', '{"next":1}', '<oversized>']);
});

test('what is held between reads never exceeds the limit', () => {
  const splitter = new LineSplitter(1000);
  const sink: FrameSink = { line: () => undefined, oversized: () => undefined };
  for (let i = 0; i < 5000; i++) {
    splitter.push(Buffer.from('x'.repeat(7)), sink);
    assert.ok(splitter.buffered <= 1001);
  }
});
