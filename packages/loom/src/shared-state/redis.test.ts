import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfigText } from '../config/load.js';
import type { SharedStateConfig } from '../config/types.js';
import { ConfigError } from '../config/types.js';
import { SharedState } from './redis.js';
import { parseRedisUrl } from './redis-url.js';

const key = 'shared_state.redis_url';
const hint = 'use shared_state.redis_password_env';
const base: SharedStateConfig = { redis_url: '', redis_password_env: '', key_prefix: 'loom:', timeout_ms: 250, ca_file: '' };

test('redis:// and rediss:// URLs give host, port, database and TLS', () => {
  assert.deepEqual(parseRedisUrl('redis://cache.internal', key, hint), { tls: false, host: 'cache.internal', port: 6379, db: 0, username: undefined });
  assert.deepEqual(parseRedisUrl('rediss://10.0.0.5:6380/15', key, hint), { tls: true, host: '10.0.0.5', port: 6380, db: 15, username: undefined });
  assert.deepEqual(parseRedisUrl('redis://[::1]:7000/2', key, hint), { tls: false, host: '::1', port: 7000, db: 2, username: undefined });
  assert.equal(parseRedisUrl('redis://loom@cache/1', key, hint).username, 'loom');
});

test('a password in the URL is refused without repeating it', () => {
  for (const url of ['redis://:hunter2@cache:6379', 'redis://loom:hunter2@cache/0']) {
    assert.throws(() => parseRedisUrl(url, key, hint), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^shared_state\.redis_url: must not contain a password; use shared_state\.redis_password_env/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  }
});

test('other bad URLs name the key and the problem', () => {
  const cases: [string, RegExp][] = [
    ['cache:6379', /scheme must be redis:\/\/ or rediss:\/\//],
    ['http://cache', /scheme must be redis:\/\/ or rediss:\/\//],
    ['not a url', /not a URL/],
    ['redis://cache/16', /database after the host must be a number from 0 to 15/],
    ['redis://cache/db', /database after the host must be a number from 0 to 15/],
    ['redis://cache/0?timeout=1', /query strings/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => parseRedisUrl(url, key, hint), (error: Error) => error instanceof ConfigError && error.message.startsWith(`${key}: `) && message.test(error.message), url);
  }
});

test('no URL: nothing is shared', () => {
  assert.equal(SharedState.create(base, { logger: pino({ level: 'silent' }) }), undefined);
});

test('a password variable that is named but unset or empty is a config error', () => {
  const config = { ...base, redis_url: 'redis://127.0.0.1:1', redis_password_env: 'LOOM_TEST_REDIS_PASSWORD' };
  for (const env of [{}, { LOOM_TEST_REDIS_PASSWORD: '' }]) {
    assert.throws(() => SharedState.create(config, { logger: pino({ level: 'silent' }), env }), /^ConfigError: shared_state\.redis_password_env: the environment variable LOOM_TEST_REDIS_PASSWORD is not set or empty$/);
  }
});

test('ca_file needs rediss:// and a readable file', () => {
  const logger = pino({ level: 'silent' });
  assert.throws(() => SharedState.create({ ...base, redis_url: 'redis://127.0.0.1:1', ca_file: '/etc/hostname' }, { logger }), /shared_state\.ca_file: only used with rediss:\/\//);
  assert.throws(() => SharedState.create({ ...base, redis_url: 'rediss://127.0.0.1:1', ca_file: '/nonexistent/ca.pem' }, { logger }), /shared_state\.ca_file: cannot read \/nonexistent\/ca\.pem/);
});

test('loading loom.toml already refuses a bad redis_url or a missing password variable', () => {
  const env = { LOOM_SENSOR_spip01: 'test-token' };
  const load = (section: string, environment: NodeJS.ProcessEnv = env): string => {
    try {
      loadConfigText(`[output]\ntype = "stdout"\n[shared_state]\n${section}\n`, { env: environment });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    return '';
  };
  const refused = load('redis_url = "redis://:topsecret@cache:6379"');
  assert.match(refused, /^shared_state\.redis_url: must not contain a password; put it in an environment variable and name that variable in shared_state\.redis_password_env$/m);
  assert.doesNotMatch(refused, /topsecret/);
  assert.match(load('redis_url = "redis://cache"\nredis_password_env = "LOOM_TEST_REDIS_PW"'), /^shared_state\.redis_password_env: the environment variable LOOM_TEST_REDIS_PW is not set or empty$/m);
  assert.equal(load('redis_url = "rediss://cache:6380/3"\nredis_password_env = "LOOM_TEST_REDIS_PW"', { ...env, LOOM_TEST_REDIS_PW: 'x' }), '');
  // Without a URL the variable is not needed (the example config names one).
  assert.equal(load('redis_url = ""\nredis_password_env = "LOOM_TEST_REDIS_PW"'), '');
});
