import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpipConfigText } from './load.js';
import { parseGoDuration } from './duration.js';

const path = '/etc/spip/config.toml';
const load = (text: string, env: NodeJS.ProcessEnv = {}) => loadSpipConfigText(text, path, env);
const error = (text: string, env: NodeJS.ProcessEnv = {}): string => {
  try {
    load(text, env);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected a configuration error');
};

test('the minimal Go config loads with the Go defaults', () => {
  const { config, warnings } = load('name = "spip-agent"\nip = "127.0.0.1"\nport = 8080\n');
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.ports, [8080]);
  assert.equal(config.read_timeout_seconds, 30);
  assert.equal(config.write_timeout_seconds, 10);
  assert.equal(config.rate_limit_per_second, 20);
  assert.equal(config.rate_limit_burst, 50000);
  assert.equal(config.community_id_seed, 0);
  assert.equal(config.log_file, '');
  assert.equal(config.cert_path, '');
  assert.equal(config.loom.enabled, false);
  assert.equal(config.loom.batch_size, 50);
  assert.equal(config.loom.flush_interval_ms, 10_000);
  assert.equal(config.max_payload_bytes, 65536);
  assert.equal(config.http.body, '{source.ip}');
  assert.equal(config.ssh.banner, 'SSH-2.0-spip');
});

test('cert and key paths resolve against the config file directory', () => {
  const { config } = load('name = "a"\nip = "0.0.0.0"\nport = 443\ncert_path = "certs/cert.pem"\nkey_path = "/abs/key.pem"\n');
  assert.equal(config.cert_path, '/etc/spip/certs/cert.pem');
  assert.equal(config.key_path, '/abs/key.pem');
});

test('the Go validation errors keep their wording', () => {
  assert.match(error('ip = "1.2.3.4"\nport = 1\n'), /name is required in configuration/);
  assert.match(error('name = "a"\nport = 1\n'), /IP address is required/);
  assert.match(error('name = "a"\nip = "1.2.3.4"\n'), /port is required/);
  assert.match(error('name = "a"\nip = "1.2.3.4"\nport = 1\ncert_path = "c.pem"\n'), /both cert_path and key_path must be provided for TLS/);
  assert.match(error('name = "a"\nip = "1.2.3.4"\nport = "8080"\n'), /port: expected an integer, got string "8080"/);
  const loomBase = 'name = "a"\nip = "1.2.3.4"\nport = 1\n[loom]\nenabled = true\n';
  assert.match(error(loomBase + 'sensor_id = "s"\ntoken = "t"\n'), /loom.url is required when loom.enabled is true/);
  assert.match(error(loomBase + 'url = "http://x/"\ntoken = "t"\n'), /loom.sensor_id is required/);
  assert.match(error(loomBase + 'url = "http://x/"\nsensor_id = "s"\n'), /loom.token is required/);
  assert.match(error(loomBase + 'url = "http://x/"\nsensor_id = "s"\ntoken = "t"\nflush_interval = "soon"\n'), /loom.flush_interval must be a positive duration/);
});

test('all errors are reported together', () => {
  const message = error('port = 70000\ncommunity_id_seed = 70000\n');
  assert.match(message, /name is required/);
  assert.match(message, /IP address is required/);
  assert.match(message, /port: 70000 is not a TCP port/);
  assert.match(message, /community_id_seed: must be 0..65535/);
});

test('several ports and ranges in one process', () => {
  const { config } = load('name = "a"\nip = "0.0.0.0"\nport = 8080\nports = [22, "2222-2224", 8080]\n');
  assert.deepEqual(config.ports, [22, 2222, 2223, 2224, 8080]);
  assert.match(error('name = "a"\nip = "0.0.0.0"\nports = ["10-5"]\n'), /must go upwards/);
  assert.match(error('name = "a"\nip = "0.0.0.0"\nports = ["http"]\n'), /neither a port nor a range/);
  assert.deepEqual(load('name = "a"\nip = "0.0.0.0"\nports = [443]\n').config.ports, [443]);
});

test('the Loom token may come from the environment instead of the file', () => {
  const base = 'name = "a"\nip = "1.2.3.4"\nport = 1\n[loom]\nenabled = true\nurl = "https://loom:8443/ingest"\nsensor_id = "s"\n';
  const fromDefault = load(base, { SPIP_LOOM_TOKEN: 'env-secret' });
  assert.equal(fromDefault.config.loom.token, 'env-secret');
  assert.deepEqual(fromDefault.warnings, []);
  const named = load(`${base}token_env = "MY_TOKEN"\n`, { MY_TOKEN: 'named-secret' });
  assert.equal(named.config.loom.token, 'named-secret');
  assert.match(error(`${base}token_env = "MISSING"\n`), /loom.token_env: the environment variable MISSING is not set/);
  const inFile = load(`${base}token = "file-secret"\n`);
  assert.equal(inFile.config.loom.token, 'file-secret');
  assert.match(inFile.warnings.join('\n'), /prefer SPIP_LOOM_TOKEN/);
  assert.doesNotMatch(inFile.warnings.join('\n'), /file-secret/);
});

test('a token of the wrong type is reported without its value', () => {
  const message = error('name = "a"\nip = "1.2.3.4"\nport = 1\n[loom]\ntoken = 12345678\n');
  assert.match(message, /loom.token: expected a string, got integer$/m);
  assert.doesNotMatch(message, /12345678/);
});

test('unknown keys are warnings with a suggestion', () => {
  const { warnings } = load('name = "a"\nip = "1.2.3.4"\nport = 1\nread_timout_seconds = 5\n');
  assert.match(warnings.join('\n'), /unknown key "read_timout_seconds" \(ignored; did you mean "read_timeout_seconds"\?\)/);
});

test('Go durations', () => {
  assert.equal(parseGoDuration('10s'), 10_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('10'), undefined);
  assert.equal(parseGoDuration('s'), undefined);
});
