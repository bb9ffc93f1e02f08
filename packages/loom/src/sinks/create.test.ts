import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import type { OutputConfig, OutputType } from '../config/types.js';
import { createSinks } from './create.js';
import { FileSink } from './file.js';
import { StdoutSink } from './stdout.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-create-sinks-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const logger = pino({ level: 'silent' });

function output(type: OutputType): OutputConfig {
  return {
    type,
    file_path: path.join(dir, 'events.ndjson'),
    file_max_size_bytes: 0,
    file_max_files: 5,
    file_fsync: false,
    elasticsearch_url: '',
    elasticsearch_index: '',
    elasticsearch_user: '',
    elasticsearch_pass: '',
    clickhouse_url: '',
    clickhouse_database: '',
    clickhouse_table: '',
    clickhouse_user: '',
    clickhouse_password: '',
    outbox: {
      enabled: false,
      dir: '',
      max_bytes: 0,
      flush_interval_ms: 1000,
      max_batch_size: 100,
      retry_backoff_ms: 100,
      retry_max_backoff_ms: 1000,
    },
  };
}

test('output.type "stdout" gives one StdoutSink', () => {
  const sinks = createSinks(output('stdout'), logger);
  assert.equal(sinks.length, 1);
  assert.ok(sinks[0] instanceof StdoutSink);
  assert.equal(sinks[0].type, 'stdout');
});

test('output.type "file" gives one FileSink writing to output.file_path', async () => {
  const config = output('file');
  const sinks = createSinks(config, logger);
  assert.equal(sinks.length, 1);
  const sink = sinks[0]!;
  assert.ok(sink instanceof FileSink);
  await sink.start();
  await sink.write({ id: 'b', source: 't', sensorId: 's', receivedAt: 0, count: 1, ndjson: Buffer.from('{"a":1}\n') });
  await sink.close();
  assert.equal(fs.readFileSync(config.file_path, 'utf8'), '{"a":1}\n');
});

for (const type of ['clickhouse', 'elasticsearch'] as const) {
  test(`output.type "${type}" is refused with a message naming the key`, () => {
    assert.throws(() => createSinks(output(type), logger), {
      message: `output.type "${type}" is not available in this build`,
    });
  });
}
