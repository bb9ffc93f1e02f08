import { test } from 'node:test';
import assert from 'node:assert/strict';
import { developmentConfig } from './dev.js';
import { formatEffectiveConfig } from './redact.js';

test('the development config listens on loopback, writes to stdout and enables metrics', () => {
  const { result } = developmentConfig({});
  const { config, warnings } = result;
  assert.deepEqual(warnings, []);
  assert.equal(config.server.listen_address, '127.0.0.1:8080');
  assert.equal(config.server.management_listen_address, '127.0.0.1:9080');
  assert.equal(config.server.tls, false);
  assert.equal(config.output.type, 'stdout');
  assert.equal(config.observability.metrics_enabled, true);
  assert.deepEqual(config.logging, { level: 'info', format: 'console' });
  assert.equal(config.source_path, undefined);
});

test('without env tokens a fresh random token is generated for dev-sensor', () => {
  const first = developmentConfig({});
  const second = developmentConfig({});
  assert.ok(first.generated !== undefined && second.generated !== undefined);
  assert.equal(first.generated.sensorId, 'dev-sensor');
  assert.match(first.generated.token, /^[A-Za-z0-9_-]{32}$/, '24 random bytes in base64url');
  assert.notEqual(first.generated.token, second.generated.token);
  const { tokens, token_origins: origins } = first.result.config.auth;
  assert.deepEqual([...tokens], [[first.generated.token, 'dev-sensor']]);
  assert.equal(origins.get(first.generated.token), 'generated for this development run');
  assert.ok(!formatEffectiveConfig(first.result.config).includes(first.generated.token));
});

test('env tokens replace the generated one', () => {
  const { result, generated } = developmentConfig({ LOOM_SENSOR_spip01: 'my-token' });
  assert.equal(generated, undefined);
  assert.deepEqual([...result.config.auth.tokens], [['my-token', 'spip01']]);
});
