import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppendWriter } from './append-writer.js';
import { SinkUnavailableError } from './types.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-append-writer-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tempPath(name: string): string {
  return path.join(dir, `${counter++}-${name}`);
}

const bytes = (text: string): Uint8Array => Buffer.from(text);

/** A FIFO whose both ends are non-blocking, so a full pipe gives partial writes and EAGAIN. */
function openFifo(): { readFd: number; writeFd: number } {
  const fifo = tempPath('fifo');
  execFileSync('mkfifo', [fifo]);
  const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writeFd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return { readFd, writeFd };
}

/** Reads in small slices with pauses until `until` says the collected bytes are complete. */
async function readSlowly(fd: number, until: (data: Buffer) => boolean, timeoutMs = 20_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  const slice = Buffer.alloc(4096);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = Buffer.concat(parts);
    if (until(data)) return data;
    if (Date.now() > deadline) throw new Error(`reader timed out after ${data.length} bytes`);
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, slice, 0, slice.length, null, (err, read) =>
        err && err.code !== 'EAGAIN' ? reject(err) : resolve(err ? 0 : read),
      ),
    );
    if (n > 0) parts.push(Buffer.from(slice.subarray(0, n)));
    await sleep(n > 0 ? 1 : 5);
  }
}

test('concurrent appends share one group and land in call order', async () => {
  const file = tempPath('group.ndjson');
  const fd = fs.openSync(file, 'a');
  const writer = new AppendWriter(fd);
  const chunks = Array.from({ length: 200 }, (_, i) => bytes(`{"n":${i}}\n`));
  await Promise.all(chunks.map((chunk) => writer.append(chunk)));
  fs.closeSync(fd);

  const stats = writer.stats();
  assert.equal(stats.groups, 1);
  assert.equal(stats.writeCalls, 1);
  assert.equal(writer.queuedBytes, 0);
  assert.deepEqual(fs.readFileSync(file), Buffer.concat(chunks));
});

test('appends made while a group is in flight form the next group', async () => {
  const file = tempPath('next-group.ndjson');
  const fd = fs.openSync(file, 'a');
  const writer = new AppendWriter(fd);
  const first = writer.append(bytes('a\n'));
  await sleep(0);
  const rest = Array.from({ length: 50 }, (_, i) => writer.append(bytes(`b${i}\n`)));
  await Promise.all([first, ...rest]);
  fs.closeSync(fd);

  assert.equal(writer.stats().groups, 2);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines, ['a', ...Array.from({ length: 50 }, (_, i) => `b${i}`)]);
});

test('1,000 concurrent multi-line batches: every line once, no batch interleaved', async () => {
  const file = tempPath('thousand.ndjson');
  const fd = fs.openSync(file, 'a');
  const writer = new AppendWriter(fd, { maxGroupBytes: 4096 });
  const batchLines = Array.from({ length: 1000 }, (_, b) =>
    Array.from({ length: 1 + (b % 5) }, (_, l) => JSON.stringify({ b, l, pad: 'x'.repeat(b % 97) })),
  );
  await Promise.all(batchLines.map((lines) => writer.append(bytes(lines.join('\n') + '\n'))));
  fs.closeSync(fd);

  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.deepEqual([...lines].sort(), batchLines.flat().sort());
  for (const [i, line] of lines.entries()) {
    const current = JSON.parse(line) as { b: number; l: number };
    const expectedNext = batchLines[current.b]![current.l + 1];
    if (expectedNext !== undefined) assert.equal(lines[i + 1], expectedNext, `batch ${current.b} was interleaved`);
  }
  assert.ok(writer.stats().groups > 1, 'maxGroupBytes should have split the work into several groups');
});

test('partial writes to a slow pipe are resumed until the data is complete', async () => {
  const { readFd, writeFd } = openFifo();
  const writer = new AppendWriter(writeFd);
  const chunks = Array.from({ length: 8 }, (_, i) => bytes(`${String(i).repeat(64 * 1024 - 1)}\n`));
  const expected = Buffer.concat(chunks);

  const reading = readSlowly(readFd, (data) => data.length >= expected.length);
  await Promise.all(chunks.map((chunk) => writer.append(chunk)));
  const received = await reading;
  fs.closeSync(writeFd);
  fs.closeSync(readFd);

  assert.deepEqual(received, expected);
  const stats = writer.stats();
  assert.ok(stats.partialWrites > 0, `expected partial writes, got ${JSON.stringify(stats)}`);
  assert.ok(stats.stalls > 0, `expected EAGAIN retries, got ${JSON.stringify(stats)}`);
});

test('a pipe that stops draining fails the group after the stall timeout and the torn line is terminated', async () => {
  const { readFd, writeFd } = openFifo();
  const writer = new AppendWriter(writeFd, { stallTimeoutMs: 150 });
  const big = bytes(`${'a'.repeat(200_000)}\n`);

  await assert.rejects(writer.append(big), (err: unknown) => {
    assert.ok(err instanceof SinkUnavailableError);
    assert.match(err.message, /accepted no data for 150 ms/);
    return true;
  });

  const next = bytes('{"after":1}\n');
  const reading = readSlowly(readFd, (data) => data.subarray(-next.length).equals(next));
  await writer.append(next);
  const received = (await reading).toString();
  fs.closeSync(writeFd);
  fs.closeSync(readFd);

  assert.match(received, /^a+\n\{"after":1\}\n$/);
  const torn = received.indexOf('\n');
  assert.ok(torn > 0 && torn < 200_000, `expected a partial first line, got ${torn} bytes`);
});

test('more than maxQueuedBytes waiting: new appends are refused with SinkUnavailableError', async () => {
  const { readFd, writeFd } = openFifo();
  const writer = new AppendWriter(writeFd, { maxQueuedBytes: 100_000 });
  const first = bytes(`${'1'.repeat(80_000 - 1)}\n`);
  const refused = bytes(`${'2'.repeat(30_000 - 1)}\n`);
  const fits = bytes(`${'3'.repeat(10_000 - 1)}\n`);

  const firstDone = writer.append(first);
  await sleep(20);
  await assert.rejects(writer.append(refused), (err: unknown) => {
    assert.ok(err instanceof SinkUnavailableError);
    assert.equal(err.retryAfterSeconds, 1);
    return true;
  });
  const fitsDone = writer.append(fits);
  assert.equal(writer.queuedBytes, 90_000);

  const expected = Buffer.concat([first, fits]);
  const received = await readSlowly(readFd, (data) => data.length >= expected.length);
  await Promise.all([firstDone, fitsDone]);
  fs.closeSync(writeFd);
  fs.closeSync(readFd);
  assert.deepEqual(received, expected);
  assert.equal(writer.queuedBytes, 0);
});

test('fsync: one fdatasync per group on a file, and its failure rejects the whole group', async () => {
  const file = tempPath('fsync.ndjson');
  const fd = fs.openSync(file, 'a');
  const writer = new AppendWriter(fd, { fsync: true });
  await Promise.all([writer.append(bytes('a\n')), writer.append(bytes('b\n'))]);
  await writer.append(bytes('c\n'));
  fs.closeSync(fd);
  assert.equal(fs.readFileSync(file, 'utf8'), 'a\nb\nc\n');
  assert.deepEqual([writer.stats().groups, writer.stats().syncs], [2, 2]);

  // fdatasync on a pipe fails with EINVAL, which makes the sync observable.
  const { readFd, writeFd } = openFifo();
  const syncing = new AppendWriter(writeFd, { fsync: true });
  const results = await Promise.allSettled([syncing.append(bytes('x\n')), syncing.append(bytes('y\n'))]);
  assert.deepEqual(
    results.map((r) => (r.status === 'rejected' ? (r.reason as NodeJS.ErrnoException).code : 'ok')),
    ['EINVAL', 'EINVAL'],
  );
  const plain = new AppendWriter(writeFd);
  await plain.append(bytes('z\n'));
  fs.closeSync(writeFd);
  fs.closeSync(readFd);
});

test('exclusive() runs between the appends queued before and after it', async () => {
  const first = tempPath('first.ndjson');
  const second = tempPath('second.ndjson');
  const fd1 = fs.openSync(first, 'a');
  const fd2 = fs.openSync(second, 'a');
  const writer = new AppendWriter(fd1);
  const before = Array.from({ length: 20 }, (_, i) => writer.append(bytes(`before ${i}\n`)));
  const swapped = writer.exclusive(() => {
    writer.setFd(fd2);
    return 'swapped';
  });
  const afterSwap = Array.from({ length: 20 }, (_, i) => writer.append(bytes(`after ${i}\n`)));
  await Promise.all([...before, ...afterSwap]);
  assert.equal(await swapped, 'swapped');
  fs.closeSync(fd1);
  fs.closeSync(fd2);

  assert.equal(fs.readFileSync(first, 'utf8'), before.map((_, i) => `before ${i}\n`).join(''));
  assert.equal(fs.readFileSync(second, 'utf8'), afterSwap.map((_, i) => `after ${i}\n`).join(''));
});

test('close() waits for queued appends and refuses new ones', async () => {
  const file = tempPath('close.ndjson');
  const fd = fs.openSync(file, 'a');
  const writer = new AppendWriter(fd);
  const pending = Array.from({ length: 10 }, (_, i) => writer.append(bytes(`${i}\n`)));
  await writer.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n');
  await Promise.all(pending);
  await assert.rejects(writer.append(bytes('late\n')), SinkUnavailableError);
  fs.closeSync(fd);
});
