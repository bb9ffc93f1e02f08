import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../config/load.js';
import { Metrics } from '../management/metrics.js';
import { compressesFor, createSinks } from './create.js';
import { DestinationSink } from './destination-sink.js';
import { FileSink } from './file.js';
import { StdoutSink } from './stdout.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-create-sinks-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const logger = pino({ level: 'silent' });
const env = { LOOM_SENSOR_s1: 'token-of-sensor-one-0123456789', LOOM_SPLUNK_HEC_TOKEN: 'hec-token' };

function sinksOf(toml: string): ReturnType<typeof createSinks> {
  return createSinks(loadConfigText(toml, { env }).config.outputs, logger, new Metrics());
}

test('no output configured gives one StdoutSink named stdout', () => {
  const sinks = sinksOf('');
  assert.equal(sinks.length, 1);
  assert.ok(sinks[0] instanceof StdoutSink);
  assert.equal(sinks[0].name, 'stdout');
});

test('output.type "file" gives one FileSink writing to output.file_path', async () => {
  const file = path.join(dir, 'events.ndjson');
  const sinks = sinksOf(`[output]\ntype = "file"\nfile_path = ${JSON.stringify(file)}\nfile_fsync = false\n`);
  assert.equal(sinks.length, 1);
  const sink = sinks[0]!;
  assert.ok(sink instanceof FileSink);
  await sink.start();
  await sink.write({ id: 'b', source: 't', sensorId: 's', receivedAt: 0, count: 1, ndjson: Buffer.from('{"a":1}\n') });
  await sink.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}\n');
});

test('[output] and [[outputs]] together give every output, in order, with names and types', () => {
  const sinks = sinksOf(`
[output]
type = "clickhouse"
clickhouse_url = "http://127.0.0.1:1"
[output.outbox]
dir = ${JSON.stringify(dir)}

[[outputs]]
name = "search"
type = "elasticsearch"
elasticsearch_url = "http://127.0.0.1:2"
outbox.dir = ${JSON.stringify(dir)}

[[outputs]]
type = "splunk_hec"
splunk_hec_url = "https://127.0.0.1:3"
outbox.enabled = false
outbox.dir = ${JSON.stringify(dir)}

[[outputs]]
name = "archive"
type = "file"
file_path = ${JSON.stringify(path.join(dir, 'archive.ndjson'))}
`);
  assert.deepEqual(sinks.map((s) => [s.name, s.type]), [
    ['clickhouse', 'clickhouse'],
    ['search', 'elasticsearch'],
    ['splunk_hec', 'splunk_hec'],
    ['archive', 'file'],
  ]);
  assert.ok(sinks[0] instanceof DestinationSink);
  assert.ok(sinks[1] instanceof DestinationSink);
  assert.ok(sinks[2] instanceof DestinationSink);
  assert.ok(sinks[3] instanceof FileSink);
  assert.equal((sinks[2] as DestinationSink).status().outbox, undefined, 'outbox.enabled = false: no outbox');
  assert.equal((sinks[0] as DestinationSink).status().outbox?.enabled, true, 'network outputs have an outbox by default');
});

test('compression left out: gzip, except to a loopback destination; written true or false is obeyed', () => {
  assert.equal(compressesFor({ compression: 'auto' }, 'http://clickhouse.internal:8123'), true);
  assert.equal(compressesFor({ compression: 'auto' }, 'https://10.1.2.3:9200'), true);
  for (const url of ['http://localhost:8123', 'http://127.0.0.1:8123', 'http://127.8.9.10:8123', 'http://[::1]:8123']) {
    assert.equal(compressesFor({ compression: 'auto' }, url), false, url);
  }
  assert.equal(compressesFor({ compression: true }, 'http://127.0.0.1:8123'), true);
  assert.equal(compressesFor({ compression: false }, 'http://clickhouse.internal:8123'), false);
});
