import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CONFIG_SCHEMA_PATH, loadTcpJsonSettings, TcpJsonConfigError } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'tcp-json-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const messageSchema = { type: 'object', required: ['level'], properties: { level: { type: 'string' }, message: { type: 'string' } } };
let counter = 0;

/** Writes config.json (and by default a message schema next to it) into a fresh directory; returns its path. */
function write(config: unknown, schema: unknown = messageSchema): string {
  const sub = join(dir, String(counter++));
  const path = join(sub, 'config.json');
  mkdirSync(sub, { recursive: true });
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  if (schema !== undefined) writeFileSync(join(sub, 'schema.json'), typeof schema === 'string' ? schema : JSON.stringify(schema));
  return path;
}

const minimal = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  server_settings: { IP: '127.0.0.1', Port: 0 },
  logfile_settings: { path: 'messages.log' },
  protocol_settings: { incoming_json_schema: 'schema.json' },
  ...overrides,
});

async function problem(config: unknown, schema?: unknown): Promise<string> {
  const path = write(config, schema);
  try {
    await loadTcpJsonSettings(path);
  } catch (error) {
    assert.ok(error instanceof TcpJsonConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a TcpJsonConfigError');
}

test('the shipped example config.json and message schema load', async () => {
  const settings = await loadTcpJsonSettings(join(dirname(CONFIG_SCHEMA_PATH), 'config.json'));
  assert.equal(settings.server.port, 5170);
  assert.equal(settings.logfile?.format, 'plaintext');
  assert.equal(settings.logfile?.path, join(dirname(CONFIG_SCHEMA_PATH), 'messages.log'));
  assert.equal(settings.errorHandling.invalidMessage, 'redirect_to_error_log');
  assert.ok(settings.protocol.blacklist.has('198.51.100.77'));
  assert.ok(settings.protocol.schema.properties.has('service'));
});

test('defaults come from config_schema.json and relative paths resolve against the config file', async () => {
  const path = write(minimal());
  const settings = await loadTcpJsonSettings(path);
  assert.deepEqual(settings.server, { host: '127.0.0.1', port: 0, maxConnections: 1024, maxConnectionsPerIp: 64, allowedNetworks: ['0.0.0.0/0', '::/0'], idleTimeoutSeconds: 300 });
  assert.deepEqual(settings.logfile, { path: join(dirname(path), 'messages.log'), format: 'json', fieldDelimiter: '\t', entryDelimiter: '\n', columnOrder: [], fsync: true, maxSizeBytes: 0, maxFiles: 5 });
  const { protocol } = settings;
  assert.equal(protocol.schemaPath, join(dirname(path), 'schema.json'));
  assert.deepEqual(
    [protocol.messagesPerMinute, protocol.strikeThreshold, protocol.permanent, protocol.durationSeconds, protocol.maxMessageBytes, protocol.maxTrackedIps],
    [600, 10, false, 300, 65536, 100000],
  );
  assert.deepEqual(settings.errorHandling, { invalidMessage: 'ignore', errorLogPath: undefined });
});

test('the config file itself: missing, not JSON (with line and column)', async () => {
  await assert.rejects(loadTcpJsonSettings(join(dir, 'nope', 'config.json')), /nope\/config.json: cannot read: no such file or directory/);
  assert.match(await problem('{\n  "server_settings": {\n    "IP": "x",\n  }\n}'), /config.json: not valid JSON \(line 4, column 3\)/);
});

test('schema violations are all listed, each naming its key', async () => {
  const message = await problem({
    server_settings: { IP: '127.0.0.1', Port: 70000 },
    logfile_settings: { path: 'm.log', format: 'xml', coulmn_order: ['a'] },
    protocol_settings: { incoming_json_schema: 'schema.json', messages_per_ip_per_minute: 'ten', blacklisted_ips: ['1.2.3.4', '1.2.3.4'] },
    error_handling: { invalid_message: 'redirect_to_error_log' },
    extra: true,
  });
  const lines = message.split('\n').map((line) => line.replace(/^.*config.json: /, ''));
  for (const expected of [
    'server_settings.Port: must be <= 65535, got 70000',
    'logfile_settings.format: must be one of "json", "plaintext", got "xml"',
    'logfile_settings.coulmn_order: unknown key (did you mean "column_order"?)',
    'protocol_settings.messages_per_ip_per_minute: must be integer, got "ten"',
    'error_handling.error_log_path: required',
    'extra: unknown key',
  ]) assert.ok(lines.includes(expected), `missing "${expected}" in:\n${message}`);
  assert.match(await problem({ logfile_settings: { path: 'x' } }), /server_settings: required/);
  assert.match(await problem(minimal({ server_settings: { ip: '127.0.0.1', Port: 1 } })), /server_settings.ip: unknown key \(did you mean "IP"\?\)/);
});

test('column_order may name only schema properties and the server fields', async () => {
  assert.match(
    await problem(minimal({ logfile_settings: { path: 'm.log', column_order: ['timestamp', 'source_ip', 'level', 'lvl'] } })),
    /logfile_settings.column_order\[3\]: "lvl" is neither a property of incoming_json_schema \(.*schema.json\) nor a server field \(timestamp, source_ip\)/,
  );
  assert.match(await problem(minimal({ logfile_settings: { path: 'm.log', format: 'plaintext' } })), /logfile_settings.column_order: required with format "plaintext"/);
  assert.match(await problem(minimal({ logfile_settings: { path: 'm.log', column_order: ['level', 'level'] } })), /logfile_settings.column_order: lists "level" twice/);
});

test('the message schema must load, parse, compile and leave the server fields alone', async () => {
  assert.match(await problem(minimal({ protocol_settings: { incoming_json_schema: 'missing.json' } })), /protocol_settings.incoming_json_schema: .*missing.json: cannot read: no such file or directory/);
  assert.match(await problem(minimal(), '{"type": "object",}'), /protocol_settings.incoming_json_schema: .*schema.json: not valid JSON \(line 1, column 19\)/);
  assert.match(await problem(minimal(), { type: 'objekt' }), /protocol_settings.incoming_json_schema: .*schema.json: not a valid JSON Schema/);
  assert.match(await problem(minimal(), { properties: { source_ip: { type: 'string' } } }), /protocol_settings.incoming_json_schema: .*property "source_ip" is set by the server/);
});

test('blacklisted_ips entries, listen address and file clashes are checked', async () => {
  assert.match(await problem(minimal({ protocol_settings: { incoming_json_schema: 'schema.json', blacklisted_ips: ['10.0.0.1', '10.0.0.0/40', 'bad'] } })), /protocol_settings.blacklisted_ips\[1\]: .*prefix length[\s\S]*protocol_settings.blacklisted_ips\[2\]: "bad" is not/);
  assert.match(await problem(minimal({ server_settings: { IP: '10.0.0.1 ', Port: 1 } })), /server_settings.IP: "10.0.0.1 " is not an IP address or host name/);
  assert.match(
    await problem(minimal({ error_handling: { invalid_message: 'redirect_to_error_log', error_log_path: './messages.log' } })),
    /error_handling.error_log_path: must not be the same file as logfile_settings.path/,
  );
});
