import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import type { FileSinkConfig } from './file.js';
import { FileSink } from './file.js';
import { SinkUnavailableError, type Batch } from './types.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-file-sink-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tempPath(name: string): string {
  return path.join(dir, `${counter++}-${name}`);
}

const silent = pino({ level: 'silent' });

function config(filePath: string, overrides: Partial<FileSinkConfig> = {}): FileSinkConfig {
  return { file_path: filePath, file_max_size_bytes: 0, file_max_files: 5, file_fsync: false, ...overrides };
}

let batchCounter = 0;
function batch(lines: string[]): Batch {
  return {
    id: `b${batchCounter++}`,
    source: 'test',
    sensorId: 'sensor-1',
    receivedAt: Date.now(),
    count: lines.length,
    ndjson: Buffer.from(lines.map((line) => `${line}\n`).join('')),
  };
}

/** One single-line batch of exactly `size` bytes including the newline. */
function sized(tag: string, size: number): Batch {
  const prefix = `{"tag":"${tag}","pad":"`;
  return batch([`${prefix}${'x'.repeat(size - prefix.length - 3)}"}`]);
}

const read = (file: string): string => fs.readFileSync(file, 'utf8');
const tags = (file: string): string[] =>
  read(file)
    .trimEnd()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { tag: string }).tag);

test('appends NDJSON to a new file created with mode 0640 at most', async () => {
  const file = tempPath('events.ndjson');
  const sink = new FileSink(config(file), silent);
  assert.equal(sink.type, 'file');
  assert.equal(sink.name, 'file');
  await sink.start();
  await sink.write(batch(['{"a":1}', '{"a":2}']));
  await sink.write(batch(['{"a":3}']));
  await sink.close();

  assert.equal(read(file), '{"a":1}\n{"a":2}\n{"a":3}\n');
  const mode = fs.statSync(file).mode & 0o777;
  assert.equal(mode & ~0o640, 0, `mode ${mode.toString(8)} is wider than 640`);
  assert.equal(mode & 0o600, 0o600);
  assert.deepEqual(sink.health(), { ok: true });
});

test('appends to an existing file instead of truncating it', async () => {
  const file = tempPath('existing.ndjson');
  fs.writeFileSync(file, '{"old":true}\n');
  const sink = new FileSink(config(file), silent);
  await sink.start();
  await sink.write(batch(['{"new":true}']));
  await sink.close();
  assert.equal(read(file), '{"old":true}\n{"new":true}\n');
});

test('start() names output.file_path and the OS error when the directory is missing', async () => {
  const file = path.join(dir, 'no-such-dir', 'events.ndjson');
  const sink = new FileSink(config(file), silent);
  await assert.rejects(sink.start(), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /output\.file_path/);
    assert.ok(err.message.includes(file));
    assert.match(err.message, /ENOENT/);
    return true;
  });
});

test('1,000 concurrent batches with file_fsync: every line exactly once, batches contiguous', async () => {
  const file = tempPath('concurrent.ndjson');
  const sink = new FileSink(config(file, { file_fsync: true }), silent);
  await sink.start();
  const batches = Array.from({ length: 1000 }, (_, b) =>
    Array.from({ length: 3 }, (_, l) => JSON.stringify({ b, l })),
  );
  await Promise.all(batches.map((lines) => sink.write(batch(lines))));
  await sink.close();

  const lines = read(file).trimEnd().split('\n');
  assert.deepEqual([...lines].sort(), batches.flat().sort());
  for (let i = 0; i < lines.length; i += 3) {
    const first = JSON.parse(lines[i]!) as { b: number };
    assert.deepEqual(lines.slice(i, i + 3), batches[first.b], `batch ${first.b} is not contiguous`);
  }
});

test('file_fsync calls fdatasync before acknowledging (observable on a FIFO, which refuses it)', async () => {
  const fifo = tempPath('fifo');
  execFileSync('mkfifo', [fifo]);
  const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);

  const syncing = new FileSink(config(fifo, { file_fsync: true }), silent);
  await syncing.start();
  await assert.rejects(syncing.write(batch(['{"a":1}'])), (err: unknown) => {
    assert.ok(err instanceof SinkUnavailableError);
    assert.match(err.message, /EINVAL/);
    return true;
  });
  assert.equal(syncing.health().ok, false);
  await syncing.close();

  const plain = new FileSink(config(fifo, { file_fsync: false }), silent);
  await plain.start();
  await plain.write(batch(['{"a":2}']));
  assert.equal(plain.health().ok, true);
  await plain.close();
  fs.closeSync(readFd);
});

test('disk full (/dev/full): write rejects and health reports the reason', async () => {
  const sink = new FileSink(config('/dev/full', { file_fsync: true }), silent);
  await sink.start();
  await assert.rejects(sink.write(batch(['{"a":1}'])), (err: unknown) => {
    assert.ok(err instanceof SinkUnavailableError);
    assert.ok(err.retryAfterSeconds > 0);
    return true;
  });
  const health = sink.health();
  assert.equal(health.ok, false);
  assert.match(health.reason ?? '', /ENOSPC/);
  assert.match(health.reason ?? '', /\/dev\/full/);
  await sink.close();
});

test('a batch cut short by the file size limit is removed again, and health recovers', () => {
  const file = tempPath('fsize.ndjson');
  const sinkUrl = new URL('./file.js', import.meta.url).href;
  const pinoUrl = import.meta.resolve('pino');
  // RLIMIT_FSIZE makes the kernel accept part of a write and then fail with EFBIG; Node ignores SIGXFSZ.
  const script = `
    const { FileSink } = await import(${JSON.stringify(sinkUrl)});
    const { pino } = await import(${JSON.stringify(pinoUrl)});
    const sink = new FileSink({ file_path: ${JSON.stringify(file)}, file_max_size_bytes: 0, file_max_files: 1, file_fsync: false }, pino({ level: 'silent' }));
    const batch = (tag, size) => ({ id: tag, source: 't', sensorId: 's', receivedAt: 0, count: 1,
      ndjson: Buffer.from(JSON.stringify({ tag, pad: 'x'.repeat(size) }) + '\\n') });
    const report = [];
    await sink.start();
    await sink.write(batch('first', 1000));
    report.push(sink.health());
    try { await sink.write(batch('second', 8000)); report.push('accepted'); }
    catch (err) { report.push(err.name); }
    report.push(sink.health());
    await sink.write(batch('third', 100));
    report.push(sink.health());
    await sink.close();
    console.log(JSON.stringify(report));
  `;
  const child = spawnSync('bash', ['-c', 'ulimit -f 4 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  const [firstHealth, secondOutcome, failedHealth, recoveredHealth] = JSON.parse(child.stdout) as [
    { ok: boolean },
    string,
    { ok: boolean; reason?: string },
    { ok: boolean },
  ];
  assert.deepEqual(firstHealth, { ok: true });
  assert.equal(secondOutcome, 'SinkUnavailableError');
  assert.equal(failedHealth.ok, false);
  assert.match(failedHealth.reason ?? '', /EFBIG/);
  assert.deepEqual(recoveredHealth, { ok: true });
  assert.deepEqual(tags(file), ['first', 'third']);
});

test('reopen after logrotate moved the file: old batches in the old file, new ones in a new file', async () => {
  const file = tempPath('rotate-me.ndjson');
  const sink = new FileSink(config(file), silent);
  await sink.start();
  for (let i = 0; i < 20; i++) await sink.write(sized(`w${i}`, 60));

  const inFlight = Array.from({ length: 30 }, (_, i) => sink.write(sized(`w${20 + i}`, 60)));
  fs.renameSync(file, `${file}.rotated`);
  const reopened = sink.reopen();
  const later = Array.from({ length: 30 }, (_, i) => sink.write(sized(`w${50 + i}`, 60)));
  await Promise.all([...inFlight, reopened, ...later]);
  await sink.close();

  const expected = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `w${from + i}`);
  assert.deepEqual(tags(`${file}.rotated`), expected(0, 50));
  assert.deepEqual(tags(file), expected(50, 80));
});

test('reopen that cannot open the path keeps writing to the previous file', async () => {
  const file = tempPath('blocked.ndjson');
  const sink = new FileSink(config(file), silent);
  await sink.start();
  await sink.write(sized('before', 60));
  fs.renameSync(file, `${file}.moved`);
  fs.mkdirSync(file);

  await assert.rejects(sink.reopen(), /EISDIR/);
  await sink.write(sized('after', 60));
  await sink.close();
  assert.deepEqual(tags(`${file}.moved`), ['before', 'after']);
});

test('size rotation keeps file_max_files rotated files and deletes the oldest', async () => {
  const file = tempPath('sized.ndjson');
  const sink = new FileSink(config(file, { file_max_size_bytes: 300, file_max_files: 2 }), silent);
  await sink.start();
  for (let i = 0; i < 10; i++) await sink.write(sized(`s${i}`, 100));
  await sink.close();

  assert.deepEqual(tags(file), ['s9']);
  assert.deepEqual(tags(`${file}.1`), ['s6', 's7', 's8']);
  assert.deepEqual(tags(`${file}.2`), ['s3', 's4', 's5']);
  assert.equal(fs.existsSync(`${file}.3`), false);
});

test('size rotation under concurrent writes never splits a batch or exceeds the limit', async () => {
  const file = tempPath('sized-concurrent.ndjson');
  const sink = new FileSink(config(file, { file_max_size_bytes: 1000, file_max_files: 50 }), silent);
  await sink.start();
  const all = Array.from({ length: 200 }, (_, i) => ({ tag: `c${i}`, lines: 1 + (i % 3) }));
  await Promise.all(
    all.map(({ tag, lines }) =>
      sink.write(batch(Array.from({ length: lines }, (_, l) => JSON.stringify({ tag, l, pad: 'y'.repeat(40) })))),
    ),
  );
  await sink.close();

  const files = [...Array.from({ length: 50 }, (_, i) => `${file}.${50 - i}`), file].filter((f) => fs.existsSync(f));
  assert.ok(files.length > 10, `expected many rotated files, got ${files.length}`);
  const order: string[] = [];
  for (const f of files) {
    assert.ok(fs.statSync(f).size <= 1000, `${f} exceeds the limit`);
    const lines = read(f).trimEnd().split('\n').map((line) => JSON.parse(line) as { tag: string; l: number });
    for (const [i, line] of lines.entries()) {
      const expectedLines = all.find((b) => b.tag === line.tag)!.lines;
      if (line.l === 0) order.push(line.tag);
      if (line.l + 1 < expectedLines) {
        assert.equal(lines[i + 1]?.tag, line.tag, `batch ${line.tag} split or interleaved in ${f}`);
      }
    }
    assert.equal(lines[0]?.l, 0, `${f} starts in the middle of a batch`);
  }
  assert.deepEqual(order, all.map((b) => b.tag));
});

test('a batch larger than file_max_size_bytes is written whole into a file of its own', async () => {
  const file = tempPath('oversized.ndjson');
  const sink = new FileSink(config(file, { file_max_size_bytes: 300, file_max_files: 3 }), silent);
  await sink.start();
  await sink.write(sized('small-1', 100));
  await sink.write(sized('huge', 1000));
  await sink.write(sized('small-2', 100));
  await sink.close();

  assert.deepEqual(tags(`${file}.2`), ['small-1']);
  assert.deepEqual(tags(`${file}.1`), ['huge']);
  assert.equal(fs.statSync(`${file}.1`).size, 1000);
  assert.deepEqual(tags(file), ['small-2']);
});

test('rotation is logged for operators without any event content', async () => {
  const file = tempPath('logged.ndjson');
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const sink = new FileSink(config(file, { file_max_size_bytes: 150, file_max_files: 1 }), logger);
  await sink.start();
  await sink.write(sized('secret-payload-1', 100));
  await sink.write(sized('secret-payload-2', 100));
  fs.renameSync(file, `${file}.moved`);
  await sink.reopen();
  await sink.close();

  const messages = logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  assert.deepEqual(messages, ['file output rotated', 'file output reopened']);
  assert.ok(!logLines.join('').includes('secret-payload'), 'event content leaked into the log');
});

test('close() waits for accepted batches; later writes are refused', async () => {
  const file = tempPath('closing.ndjson');
  const sink = new FileSink(config(file), silent);
  await sink.start();
  const pending = Array.from({ length: 25 }, (_, i) => sink.write(sized(`p${i}`, 80)));
  await sink.close();
  await Promise.all(pending);
  assert.equal(tags(file).length, 25);
  await assert.rejects(sink.write(sized('late', 80)), SinkUnavailableError);
});
