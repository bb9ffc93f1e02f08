import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseToml, runLoom, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { request } from './helpers/http.js';
import { LineClient, readLines, tcpJsonConfig } from './helpers/tcp-json.js';

interface ForwardedEvent {
  '@timestamp': string;
  event: { dataset: string };
  source: { ip: string; port: number };
  tcp_json: unknown;
}

/** Writes config.json into a fresh directory and returns the directory. */
async function configDir(config: Record<string, unknown>): Promise<string> {
  const dir = await tempDir('tcp-json-loom-');
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Loom needs a sensor token for its ingest API even when only this input is used. */
const env = { LOOM_SENSOR_tcp_json_test: 'tcp-json-test-token-5b1e' };

const inputSection = (dir: string, forward: boolean): string => `
[inputs.tcp_json]
enabled = true
config_file = ${JSON.stringify(join(dir, 'config.json'))}
forward = ${forward}
`;

describe('Loom with [inputs.tcp_json], forward = true', () => {
  let loom: LoomProcess;
  let dir: string;
  let port: number;
  before(async () => {
    dir = await configDir(tcpJsonConfig({
      logfile: { format: 'json', column_order: ['source_ip', 'level', 'message', 'timestamp'] },
      protocol: { messages_per_ip_per_minute: 100, bad_message_blacklist_threshold: 5 },
    }));
    loom = await startLoom({ toml: baseToml({ extra: inputSection(dir, true) }), env });
    const listening = loom.logs.find((line) => line.msg === 'tcp_json input listening');
    assert.ok(listening, loom.stderrText);
    port = listening.port as number;
  });
  after(async () => {
    await loom.cleanup();
  });

  test('an accepted message is in the logfile (json with column_order) and, as an ECS event, in the outputs before success is answered', async () => {
    const client = await LineClient.connect(port);
    client.sendMessages([
      { level: 'warn', message: 'disk almost full', service: 'db', attributes: { source: { ip: '203.0.113.66' } } },
      { level: 'info' },
    ]);
    const [ok, invalid] = await client.next(2);
    assert.deepEqual(ok, { success: true, message: 'message logged' });
    assert.deepEqual(invalid, { success: false, message: 'validation failed: field "message" is required (strike 1 of 5)' });

    // Acknowledged only after both destinations took it: the logfile holds it now.
    const logged = readLines(join(dir, 'messages.log')).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(logged.length, 1);
    assert.deepEqual(Object.keys(logged[0] as object), ['source_ip', 'level', 'message', 'timestamp']);
    assert.equal(logged[0]?.source_ip, '127.0.0.1');

    // stdout reaches this process through a pipe of its own, so it may trail the TCP answer a little.
    await loom.until(() => loom.stdoutLines.some((line) => line.includes('disk almost full')), 'the event on stdout', 2000);
    const events = loom.stdoutLines.filter((line) => line.includes('disk almost full')).map((line) => JSON.parse(line) as ForwardedEvent);
    assert.equal(events.length, 1);
    const event = events[0] as ForwardedEvent;
    assert.equal(event['@timestamp'], logged[0]?.timestamp);
    assert.equal(event.source.ip, '127.0.0.1');
    assert.equal(typeof event.source.port, 'number');
    assert.deepEqual(event.event.dataset, 'tcp_json');
    // The message's own fields stay under tcp_json; a "source.ip" inside it cannot pose as the sender.
    assert.deepEqual(event.tcp_json, { level: 'warn', message: 'disk almost full', service: 'db', attributes: { source: { ip: '203.0.113.66' } } });
    client.destroy();
  });

  test('metrics count messages by result, and forwarded ones as input events', async () => {
    const res = await request(loom.managementUrl('/metrics'), undefined, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.match(res.text, /loom_tcp_json_messages_total\{result="logged"\} 1\b/);
    assert.match(res.text, /loom_tcp_json_messages_total\{result="malformed"\} 1\b/);
    assert.match(res.text, /loom_input_events_total\{input="tcp_json"\} 1\b/);
    assert.match(res.text, /loom_input_rejected_total\{input="tcp_json",reason="malformed"\} 1\b/);
    assert.match(res.text, /loom_tcp_json_connections_total\{result="accepted"\} 1\b/);
    assert.match(res.text, /loom_tcp_json_tracked_ips 1\b/);
  });

  test('SIGTERM stops the input with Loom', async () => {
    const client = await LineClient.connect(port);
    assert.equal((await client.exchange({ level: 'info', message: 'last one' })).success, true);
    assert.equal(await loom.stop(), 0);
    await client.until(() => client.ended, 'the connection to be closed');
    assert.ok(loom.hasLog('tcp-json stopped'));
  });
});

describe('Loom with [inputs.tcp_json]: startup errors', () => {
  test('enabled without config_file', async () => {
    const result = await runLoom({ toml: baseToml({ extra: '[inputs.tcp_json]\nenabled = true' }), env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /inputs\.tcp_json\.config_file: required when inputs\.tcp_json\.enabled = true/);
  });

  test('an invalid config.json names the Loom key and the config.json key', async () => {
    const dir = await configDir(tcpJsonConfig({ protocol: { messages_per_ip_per_minute: -1 } }));
    const result = await runLoom({ toml: baseToml({ extra: inputSection(dir, false) }), env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /inputs\.tcp_json\.config_file: .*config\.json: protocol_settings\.messages_per_ip_per_minute: must be >= 0, got -1/);
  });

  test('without logfile_settings, forward must be on', async () => {
    const dir = await configDir(tcpJsonConfig({ logfile: null }));
    const result = await runLoom({ toml: baseToml({ extra: inputSection(dir, false) }), env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /logfile_settings: required unless inputs\.tcp_json\.forward = true/);
  });
});
