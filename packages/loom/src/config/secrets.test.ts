import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeTokens, parseTokenFile, readTokenFile, tokensFromEnv } from './secrets.js';
import { ConfigError } from './types.js';

test('LOOM_SENSOR_<id>: underscores become hyphens, case is kept, origin names the variable', () => {
  const { tokens, origins } = tokensFromEnv({ LOOM_SENSOR_spip_001: 'tok-a', LOOM_SENSOR_VPS_Frankfurt_01: 'tok-b', PATH: '/bin' });
  assert.deepEqual([...tokens].sort(), [['tok-a', 'spip-001'], ['tok-b', 'VPS-Frankfurt-01']]);
  assert.equal(origins.get('tok-a'), 'env LOOM_SENSOR_spip_001');
});

test('an env token may contain "=" and keeps it', () => {
  const { tokens } = tokensFromEnv({ LOOM_SENSOR_spip01: 'abc=def==' });
  assert.equal(tokens.get('abc=def=='), 'spip01');
});

test('empty env values and an empty sensor suffix are skipped without failing', () => {
  const { tokens } = tokensFromEnv({ LOOM_SENSOR_spip01: '', LOOM_SENSOR_: 'orphan', LOOM_SENSOR_ok: 'tok' });
  assert.deepEqual([...tokens], [['tok', 'ok']]);
});

test('variables that only resemble the prefix are not tokens', () => {
  assert.equal(tokensFromEnv({ LOOM_SENSORS_x: 'a', loom_sensor_x: 'b', XLOOM_SENSOR_x: 'c' }).tokens.size, 0);
});

test('one token in two env variables for different sensors is an error without the token', () => {
  assert.throws(() => tokensFromEnv({ LOOM_SENSOR_a: 'same-secret', LOOM_SENSOR_b: 'same-secret' }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'auth: env LOOM_SENSOR_a and env LOOM_SENSOR_b hold the same token; a token belongs to one sensor only');
    return true;
  });
});

test('two variables naming the same sensor with the same token are fine', () => {
  assert.deepEqual([...tokensFromEnv({ 'LOOM_SENSOR_a-b': 't', LOOM_SENSOR_a_b: 't' }).tokens], [['t', 'a-b']]);
});

test('token file: comments, blank lines, CRLF, whitespace and extra commas', () => {
  const text = '\uFEFF# sensors\r\n\r\n  tok-1 , spip-001 \r\n#tok-x,commented\ntok-2,vps,frankfurt\n   \n';
  const { tokens, origins, warnings } = parseTokenFile(text, '/etc/loom/tokens.txt');
  assert.deepEqual([...tokens], [['tok-1', 'spip-001'], ['tok-2', 'vps,frankfurt']]);
  assert.equal(origins.get('tok-1'), 'token_file line 3');
  assert.equal(origins.get('tok-2'), 'token_file line 5');
  assert.deepEqual(warnings, []);
});

test('token file: malformed lines are skipped with a warning naming file and line, not the text', () => {
  const { tokens, warnings } = parseTokenFile('no-comma-secret\n,sensor-x\nlonely-secret,\nok,sensor-ok\n', 'tokens.txt');
  assert.deepEqual([...tokens], [['ok', 'sensor-ok']]);
  assert.deepEqual(warnings, [
    'auth.token_file "tokens.txt" line 1: no comma; expected "token,sensor_id" (line ignored)',
    'auth.token_file "tokens.txt" line 2: empty token; expected "token,sensor_id" (line ignored)',
    'auth.token_file "tokens.txt" line 3: empty sensor id; expected "token,sensor_id" (line ignored)',
  ]);
  assert.ok(warnings.every((warning) => !warning.includes('secret')));
});

test('token file: the same token twice for the same sensor is fine', () => {
  const { tokens, origins } = parseTokenFile('t,s\nt,s\n', 'f');
  assert.equal(tokens.size, 1);
  assert.equal(origins.get('t'), 'token_file line 1');
});

test('token file: one token for two sensors is an error without the token', () => {
  assert.throws(() => parseTokenFile('shared-secret,a\nshared-secret,b\n', 'tokens.txt'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      'auth: auth.token_file "tokens.txt" line 2 gives sensor "b" the token that line 1 gives sensor "a"; a token belongs to one sensor only',
    );
    return true;
  });
});

test('token file: an empty file gives no tokens and no warnings', () => {
  assert.deepEqual(parseTokenFile('', 'f'), { tokens: new Map(), origins: new Map(), warnings: [] });
});

test('mergeTokens: a later source wins for the same token (file over env)', () => {
  const env = { tokens: new Map([['t', 'old']]), origins: new Map([['t', 'env LOOM_SENSOR_old']]) };
  const file = { tokens: new Map([['t', 'new']]), origins: new Map([['t', 'token_file line 1']]) };
  const merged = mergeTokens(env, file);
  assert.deepEqual([...merged.tokens], [['t', 'new']]);
  assert.equal(merged.origins.get('t'), 'token_file line 1');
});

test('mergeTokens: a sensor with two tokens is an error listing origins, never tokens', () => {
  const env = { tokens: new Map([['alpha-secret', 'spip01']]), origins: new Map([['alpha-secret', 'env LOOM_SENSOR_spip01']]) };
  const file = {
    tokens: new Map([['beta-secret', 'spip01'], ['gamma-secret', 'x'], ['delta-secret', 'x']]),
    origins: new Map([['beta-secret', 'token_file line 4'], ['gamma-secret', 'token_file line 5'], ['delta-secret', 'token_file line 6']]),
  };
  assert.throws(() => mergeTokens(env, file), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      'auth: sensor "spip01" has multiple tokens (env LOOM_SENSOR_spip01, token_file line 4)\n' +
        'auth: sensor "x" has multiple tokens (token_file line 5, token_file line 6)',
    );
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test('mergeTokens of nothing is empty', () => {
  assert.equal(mergeTokens().tokens.size, 0);
});

test('readTokenFile: reads, parses and warns about a group- or world-readable file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'loom-tokens-'));
  try {
    const path = join(dir, 'tokens.txt');
    await writeFile(path, 'tok,sensor\nbad line\n', { mode: 0o640 });
    await chmod(path, 0o640);
    const contents = await readTokenFile(path);
    assert.equal(contents.tokens.get('tok'), 'sensor');
    assert.deepEqual(contents.warnings, [
      `auth.token_file ${JSON.stringify(path)} line 2: no comma; expected "token,sensor_id" (line ignored)`,
      `auth.token_file ${JSON.stringify(path)} is readable by group or others (mode 0640); tokens are secrets: chmod 600 it`,
    ]);
    await chmod(path, 0o600);
    assert.equal((await readTokenFile(path)).warnings.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readTokenFile: a missing file or a directory is a ConfigError naming the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'loom-tokens-'));
  try {
    await assert.rejects(readTokenFile(join(dir, 'none.txt')), {
      name: 'ConfigError',
      message: `auth token_file: open ${join(dir, 'none.txt')}: no such file or directory`,
    });
    await assert.rejects(readTokenFile(dir), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^auth token_file: open ${dir}: illegal operation on a directory$`));
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
