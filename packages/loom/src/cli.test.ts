import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from './cli.js';

test('Go-style and GNU-style config flags are equivalent', () => {
  for (const argv of [['-config', 'a.toml'], ['--config', 'a.toml'], ['-config=a.toml'], ['--config=a.toml']]) {
    const options = parseArgs(argv);
    assert.equal(typeof options === 'object' && options.configPath, 'a.toml', argv.join(' '));
  }
  const defaults = parseArgs([]);
  assert.deepEqual(defaults, { command: 'run', configPath: 'loom.toml', dev: false, addresses: [], configGiven: false, outboxAction: undefined, json: false });
});

test('subcommands and version flags', () => {
  assert.equal((parseArgs(['check-config', '-config', 'x.toml']) as { command: string }).command, 'check-config');
  assert.equal((parseArgs(['--version']) as { command: string }).command, 'version');
  assert.equal((parseArgs(['-version']) as { command: string }).command, 'version');
});

test('lookup takes addresses and an optional config', () => {
  const options = parseArgs(['lookup', '8.8.8.8', '-config', 'a.toml', '2001:db8::1']);
  assert.equal(typeof options === 'object' && options.command, 'lookup');
  assert.deepEqual(typeof options === 'object' && options.addresses, ['8.8.8.8', '2001:db8::1']);
  assert.equal(typeof options === 'object' && options.configGiven, true);
});

test('bad arguments are reported, never ignored', () => {
  assert.match(parseArgs(['-config']) as string, /needs a file path/);
  assert.match(parseArgs(['--token', 'x']) as string, /unknown flag "--token"/);
  assert.match(parseArgs(['serve']) as string, /unexpected argument "serve"/);
  assert.match(parseArgs(['--dev', '-config', 'a.toml']) as string, /--dev runs without a config file/);
});

test('outbox takes status or verify, an optional config and --json', () => {
  const options = parseArgs(['outbox', 'verify', '-config', '/etc/loom/loom.toml', '--json']);
  assert.ok(typeof options === 'object');
  assert.equal(options.command, 'outbox');
  assert.equal(options.outboxAction, 'verify');
  assert.equal(options.configPath, '/etc/loom/loom.toml');
  assert.equal(options.json, true);
  assert.equal(parseArgs(['outbox']), 'outbox needs "status" or "verify"');
  assert.equal(parseArgs(['outbox', 'purge']), 'outbox needs "status" or "verify", got "purge"');
  assert.equal(parseArgs(['--json']), '--json is only for "loom outbox"');
});

test('tcp-json reads ./config.json unless -config names another file', () => {
  const defaults = parseArgs(['tcp-json']);
  assert.ok(typeof defaults === 'object');
  assert.equal(defaults.command, 'tcp-json');
  assert.equal(defaults.configPath, 'config.json');
  assert.equal(defaults.configGiven, false);
  for (const argv of [['tcp-json', '-config', '/etc/tcp-json/config.json'], ['tcp-json', '--config=/etc/tcp-json/config.json']]) {
    const options = parseArgs(argv);
    assert.equal(typeof options === 'object' && options.configPath, '/etc/tcp-json/config.json', argv.join(' '));
  }
  assert.match(parseArgs(['tcp-json', '--dev']) as string, /--dev is not for "loom tcp-json"/);
  assert.match(parseArgs(['tcp-json', 'extra']) as string, /unexpected argument "extra"/);
  assert.equal(parseArgs(['-config', 'a.toml', 'tcp-json']), 'unexpected argument "tcp-json"');
});
