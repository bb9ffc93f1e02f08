import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { loadConfigText } from './load.js';
import { formatEffectiveConfig, redactUrl } from './redact.js';

const secrets = {
  LOOM_SENSOR_spip_001: 'env-token-Zq81',
  LOOM_CLICKHOUSE_USER: 'ch-user-Kx2',
  LOOM_CLICKHOUSE_PASSWORD: 'ch-pass-Vb7',
  LOOM_ELASTICSEARCH_USER: 'es-user-Pp4',
  LOOM_ELASTICSEARCH_PASS: 'es-pass-Mm9',
};

function effective(): string {
  const { config } = loadConfigText(
    '[auth]\ntoken_file = "tokens.txt"\n[auth.tokens]\n"inline-token-Hh3" = "inline-sensor"\n' +
      '[output]\ntype = "clickhouse"\nclickhouse_url = "https://url-user-Qq5:url-pass-Ww6@db.example:8443/"\n' +
      'elasticsearch_url = "https://es.example:9200"\n',
    { env: secrets, path: 'loom.toml', tokenFileText: 'file-token-Rr2,file-sensor\n' },
  );
  return formatEffectiveConfig(config);
}

test('no token, user or password appears in the effective config', () => {
  const text = effective();
  for (const secret of [...Object.values(secrets), 'inline-token-Hh3', 'file-token-Rr2', 'url-user-Qq5', 'url-pass-Ww6']) {
    assert.ok(!text.includes(secret), `effective config shows ${secret}`);
  }
});

test('credentials show as <redacted>, tokens as sensor ids with their origins', () => {
  const text = effective();
  assert.match(text, /^clickhouse_user = "<redacted>"$/m);
  assert.match(text, /^clickhouse_password = "<redacted>"$/m);
  assert.match(text, /^elasticsearch_user = "<redacted>"$/m);
  assert.match(text, /^elasticsearch_pass = "<redacted>"$/m);
  assert.match(text, /^clickhouse_url = "https:\/\/<redacted>@db\.example:8443\/"$/m);
  assert.match(text, /^# 3 tokens, values redacted/m);
  assert.match(text, /^# {3}"file-sensor": token_file line 1$/m);
  assert.match(text, /^# {3}"inline-sensor": auth\.tokens$/m);
  assert.match(text, /^# {3}"spip-001": env LOOM_SENSOR_spip_001$/m);
});

test('the effective config is TOML with absolute paths and every section', () => {
  const parsed = parse(effective()) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(parsed), ['server', 'auth', 'limits', 'enrichment', 'output', 'inputs', 'logging', 'observability', 'shared_state']);
  assert.equal(parsed.auth?.token_file, `${process.cwd()}/tokens.txt`);
  assert.equal((parsed.output?.outbox as Record<string, unknown>).max_bytes, 268435456);
  assert.equal((parsed.enrichment?.dns as Record<string, unknown>).cache_ttl_seconds, 300);
  assert.equal(parsed.server?.listen_address, ':8443');
  assert.match(effective(), /^# Effective configuration of .*\/loom\.toml\.$/m);
});

test('empty credentials stay empty rather than pretending to be set', () => {
  const text = formatEffectiveConfig(loadConfigText('', { env: { LOOM_SENSOR_a: 't' } }).config);
  assert.match(text, /^clickhouse_password = ""$/m);
  assert.match(text, /^elasticsearch_user = ""$/m);
});

test('redactUrl hides user information in well-formed and schemeless URLs', () => {
  assert.equal(redactUrl('http://u:p@host:8123/x?y=1'), 'http://<redacted>@host:8123/x?y=1');
  assert.equal(redactUrl('u:p@host:8123'), '<redacted>@host:8123');
  assert.equal(redactUrl('https://host/path@x'), 'https://host/path@x');
  assert.equal(redactUrl('http://host:8123'), 'http://host:8123');
});

test('extra outputs print as [outputs.<name>] sections that load back to the same outputs, secrets redacted', () => {
  const { config } = loadConfigText(`
[[outputs]]
name = "warehouse"
type = "clickhouse"
clickhouse_url = "http://127.0.0.1:8123"
clickhouse_password = "very-secret"
`, { env: { LOOM_SENSOR_a: 'token-a' } });
  const text = formatEffectiveConfig(config);
  assert.match(text, /^\[outputs\.warehouse\]$/m);
  assert.match(text, /^\[outputs\.warehouse\.outbox\]$/m);
  assert.doesNotMatch(text, /very-secret/);
  const again = loadConfigText(text.replaceAll('"<redacted>"', '""'), { env: { LOOM_SENSOR_a: 'token-a' } }).config;
  assert.deepEqual(again.outputs.map((o) => [o.name, o.type, o.clickhouse_url]), [['warehouse', 'clickhouse', 'http://127.0.0.1:8123']]);
});
