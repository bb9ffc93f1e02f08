import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapZeekRecord } from '../map.js';
import { expand } from './glob.js';
import { takeLines, type TakeOptions } from './lines.js';

const line = (i: number) => JSON.stringify({ ts: 1723351200 + i, uid: `C${i}`, 'id.orig_h': '10.0.0.1', 'id.resp_h': '10.0.0.2' });
const options = (over: Partial<TakeOptions> = {}): TakeOptions => ({
  offset: 1000,
  maxEvents: 100,
  maxEventBytes: 400,
  final: false,
  skipping: false,
  map: (record, offset) => mapZeekRecord('conn', record, { sensor: 's', file: { path: '/x', offset } }),
  ...over,
});

test('complete lines become events; a partial last line waits; CRLF and blank lines are fine', () => {
  const chunk = Buffer.from(`${line(1)}\r\n\n${line(2)}\n${line(3).slice(0, 20)}`);
  const taken = takeLines(chunk, options());
  assert.equal(taken.events.length, 2);
  assert.equal(taken.consumed, chunk.indexOf(line(3).slice(0, 20)));
  assert.equal(JSON.parse(taken.events[1]?.text ?? '').log.offset, 1000 + chunk.indexOf(line(2)));
  // Once the file is finished (rotated away), the last line counts without its newline.
  const final = takeLines(Buffer.from(`${line(1)}\n${line(2)}`), options({ final: true }));
  assert.equal(final.events.length, 2);
});

test('at most maxEvents per batch; the rest is left for the next one', () => {
  const chunk = Buffer.from([1, 2, 3, 4, 5].map((i) => `${line(i)}\n`).join(''));
  const taken = takeLines(chunk, options({ maxEvents: 2 }));
  assert.equal(taken.events.length, 2);
  assert.equal(taken.consumed, chunk.indexOf(line(3)));
});

test('bad lines are skipped with a reason; an oversized line is dropped up to its newline', () => {
  const big = `{"ts":1,"pad":"${'x'.repeat(500)}"}`;
  const chunk = Buffer.from(`not json\n[1]\n{"id.orig_h":"1.2.3.4"}\n${big}\n#fields\tts\tuid\n${line(1)}\n`);
  const taken = takeLines(chunk, options());
  assert.deepEqual(taken.skipped.map((s) => s.reason), ['invalid_json', 'invalid_record', 'invalid_record', 'event_too_large', 'invalid_json']);
  assert.match(taken.skipped[4]?.message ?? '', /Zeek writes TSV unless its JSON writer is on/);
  assert.equal(taken.events.length, 1);
  assert.equal(taken.consumed, chunk.length);
  // Without a newline in sight: skipped as soon as it is longer than the limit, and its rest after that.
  const head = takeLines(Buffer.from(big.slice(0, 450)), options());
  assert.deepEqual([head.skipped.length, head.skipping, head.consumed], [1, true, 450]);
  const rest = takeLines(Buffer.from(`${big.slice(450)}\n${line(2)}\n`), options({ skipping: true }));
  assert.deepEqual([rest.skipped.length, rest.skipping, rest.events.length], [0, false, 1]);
});

test('globs expand per path component, sorted, without dot files unless asked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'loom-glob-'));
  try {
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    for (const name of ['a/conn.log', 'a/conn.1.log', 'a/.conn.log', 'b/conn.log', 'b/dns.log']) await writeFile(join(dir, name), '');
    assert.deepEqual(await expand(join(dir, '*', 'conn.log')), [join(dir, 'a/conn.log'), join(dir, 'b/conn.log')]);
    assert.deepEqual(await expand(join(dir, 'a', 'conn*.log')), [join(dir, 'a/conn.1.log'), join(dir, 'a/conn.log')]);
    assert.deepEqual(await expand(join(dir, 'b', '[cd]?s.log')), [join(dir, 'b/dns.log')]);
    assert.deepEqual(await expand(join(dir, 'b', '[!d]*.log')), [join(dir, 'b/conn.log')]);
    assert.deepEqual(await expand(join(dir, 'none', '*.log')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
