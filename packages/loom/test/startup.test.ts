import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { baseToml, runLoom, spawnLoom, startLoom, type LoomProcess } from './helpers/loom-process.js';
import { freePort, occupyPort, request } from './helpers/http.js';

const run = promisify(execFile);
const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('command line', () => {
  test('--version prints the package version and exits 0', async () => {
    for (const flag of ['--version', '-version']) {
      const result = await runLoom({ args: [flag] });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `loom ${packageVersion}`);
      assert.equal(result.stderr, '');
    }
  });

  test('an unknown flag exits 2 with the usage', async () => {
    const result = await runLoom({ args: ['--token', 'x'] });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown flag "--token"/);
    assert.match(result.stderr, /Usage:/);
  });
});

describe('check-config', () => {
  test('a valid file exits 0 and prints the effective config with every secret redacted', async () => {
    const toml = baseToml({
      auth: '[auth.tokens]\n"inline-secret-token-77" = "inline-sensor"',
      output: 'type = "elasticsearch"\nelasticsearch_url = "http://elastic:url-secret-pw@127.0.0.1:9/"\nelasticsearch_user = "elastic"',
    });
    const result = await runLoom({
      args: ['check-config'],
      toml,
      env: { LOOM_SENSOR_x: 'supersecret', LOOM_ELASTICSEARCH_PASS: 'es-secret-pass' },
    });
    assert.equal(result.code, 0, result.stderr);
    const printed = result.stdout + result.stderr;
    for (const secret of ['supersecret', 'inline-secret-token-77', 'es-secret-pass', 'url-secret-pw']) {
      assert.ok(!printed.includes(secret), `${secret} was printed`);
    }
    assert.match(result.stdout, /^\[server\]$/m);
    assert.match(result.stdout, /^listen_address = "127\.0\.0\.1:0"$/m);
    assert.match(result.stdout, /^max_events_per_batch = 500$/m);
    assert.match(result.stdout, /^elasticsearch_pass = "<redacted>"$/m);
    assert.match(result.stdout, /"x": env LOOM_SENSOR_x/);
    assert.match(result.stdout, /"inline-sensor": auth\.tokens/);
    assert.match(result.stderr, /is valid/);
  });

  test('an invalid value exits 1 naming the key', async () => {
    const toml = baseToml({ limits: 'max_events_per_batch = "lots"' });
    for (const args of [['check-config'], []]) {
      const result = await runLoom({ args, toml, env: { LOOM_SENSOR_x: 'supersecret' } });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^config: limits\.max_events_per_batch: .*"lots"/m);
      assert.doesNotMatch(result.stderr, /loom started/);
      assert.ok(!result.stderr.includes('supersecret'));
    }
  });
});

describe('startup', () => {
  test('an unknown key is a warning naming it, and loom still starts and serves', async () => {
    const loom = await startLoom({ toml: baseToml({ server: 'listen_adress = ":1"' }), env: { LOOM_SENSOR_s: 'warn-token' } });
    try {
      assert.ok(loom.hasLog('loom started'), loom.stderrText);
      const warning = loom.logs.find((l) => l.level === 'warn' && l.msg.includes('server.listen_adress'));
      assert.ok(warning, loom.stderrText);
      assert.match(warning.msg, /unknown key "server\.listen_adress".*did you mean "server\.listen_address"/);
      const res = await request(loom.url(), '[{}]', { headers: { Authorization: 'Bearer warn-token', 'Content-Type': 'application/json' } });
      assert.equal(res.status, 204);
    } finally {
      await loom.stop();
      await loom.cleanup();
    }
  });

  test('a missing config file exits 1 with "config: read config: …"', async () => {
    const result = await runLoom({ args: ['-config', '/nonexistent/loom.toml'], env: { LOOM_SENSOR_s: 'x' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^config: read config: open \/nonexistent\/loom\.toml: no such file or directory$/m);
  });

  test('no tokens exits 1 with "auth: no tokens configured"', async () => {
    const result = await runLoom({ toml: baseToml() });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^config: auth: no tokens configured \(use token_file or LOOM_SENSOR_\* env\)$/m);
  });

  for (const key of ['listen_address', 'management_listen_address'] as const) {
    test(`server.${key} already in use: loom exits non-zero at once, naming the key`, async () => {
      const taken = await occupyPort();
      try {
        const server = key === 'listen_address'
          ? `listen_address = "127.0.0.1:${taken.port}"\nmanagement_listen_address = "127.0.0.1:0"`
          : `listen_address = "127.0.0.1:0"\nmanagement_listen_address = "127.0.0.1:${taken.port}"`;
        const toml = baseToml().replace(/^listen_address = .*\nmanagement_listen_address = .*$/m, server);
        // The Go version logged the error and kept running without a listener.
        const result = await runLoom({ toml, env: { LOOM_SENSOR_s: 'x' }, timeoutMs: 5000 });
        assert.notEqual(result.code, 0);
        assert.equal(result.signal, null);
        assert.match(result.stderr, new RegExp(`server\\.${key}: cannot listen on 127\\.0\\.0\\.1:${taken.port}: address already in use`));
        assert.doesNotMatch(result.stderr, /loom started/);
      } finally {
        await taken.close();
      }
    });
  }
});

/** Waits for console-format (human) logs, which the JSON log parser does not read. */
async function startConsoleLoom(loom: LoomProcess, message: string): Promise<void> {
  await loom.until(() => loom.stderrText.includes(message) || loom.exitCode !== undefined, `"${message}"`);
  assert.equal(loom.exitCode, undefined, loom.stderrText);
}

describe('drop-in for the Go version', () => {
  test('the SETUP_GUIDE §4.1 config starts and accepts the §6.2 curl request', async () => {
    const [ingest, management] = [await freePort(), await freePort()];
    // SETUP_GUIDE §4.1, verbatim but for the addresses: loopback and free ports.
    const toml = `[server]
listen_address = "127.0.0.1:${ingest}"
tls = false
management_listen_address = "127.0.0.1:${management}"

[limits]
max_body_size_bytes = 2097152
max_events_per_batch = 500
max_event_size_bytes = 131072
per_sensor_rps = 100

[enrichment.dns]
enabled = false

[output]
type = "stdout"

[logging]
level = "info"
format = "console"

[observability]
metrics_enabled = true
`;
    const loom = await spawnLoom({ toml, env: { LOOM_SENSOR_spip01: 'dev-token-please-change' } });
    try {
      await startConsoleLoom(loom, 'loom started');
      assert.doesNotMatch(loom.stderrText, /unknown key/);
      const body = '[{"@timestamp":"2025-02-15T12:00:00Z","event":{"id":"test-1","ingested_by":"spip"},"source":{"ip":"8.8.8.8","port":12345},"destination":{"ip":"127.0.0.1","port":8080}}]';
      const { stdout } = await run('curl', [
        '-s', '-o', '/dev/null', '-w', '%{http_code}\n',
        '-X', 'POST', `http://127.0.0.1:${ingest}/ingest`,
        '-H', 'Content-Type: application/json',
        '-H', 'Authorization: Bearer dev-token-please-change',
        '-H', 'X-Spip-ID: spip01',
        '-d', body,
      ]);
      assert.equal(stdout, '204\n');
      await loom.until(() => loom.stdoutLines.length > 0, 'the event on stdout');
      // The guide's config sets no database paths, so the bundled data enriches the event:
      // every field sent comes back as sent, in order, with source.geo, source.as and the risk added.
      const sent = JSON.parse(body.slice(1, -1)) as { source: Record<string, unknown>; event: Record<string, unknown> };
      const written = JSON.parse(loom.stdoutLines[0] ?? '{}') as typeof sent & { source: { geo?: { country_iso_code?: string }; as?: { number?: number } } };
      assert.deepEqual(Object.keys(written).slice(0, Object.keys(sent).length), Object.keys(sent));
      assert.deepEqual({ ...written.source, geo: undefined, as: undefined }, { ...sent.source, geo: undefined, as: undefined });
      assert.equal(written.source.geo?.country_iso_code, 'US');
      assert.equal(written.source.as?.number, 15169);
      assert.equal(written.event.id, sent.event.id);
      assert.equal(written.event.risk_score, 10);
      const health = await request(`http://127.0.0.1:${management}/health`, undefined, { method: 'GET' });
      assert.equal(health.status, 200);
      assert.equal(health.text, 'ok');
      assert.equal(await loom.stop(), 0);
      assert.ok(!loom.stderrText.includes('dev-token-please-change'));
    } finally {
      await loom.cleanup();
    }
  });
});

describe('npm start (loom --dev)', () => {
  test('prints a banner with a generated token and a curl command that works', async (t) => {
    const busy: number[] = [];
    for (const port of [8080, 9080]) {
      try {
        await (await occupyPort(port)).close();
      } catch {
        busy.push(port);
      }
    }
    if (busy.length > 0) {
      t.skip(`--dev uses the fixed ports 127.0.0.1:8080 and :9080, and ${busy.join(' and ')} ${busy.length === 1 ? 'is' : 'are'} in use here`);
      return;
    }
    const loom = await spawnLoom({ args: ['--dev'] });
    try {
      await startConsoleLoom(loom, 'loom started');
      const token = /^\s*token\s+(\S+)\s+\(generated for this run only/m.exec(loom.stderrText)?.[1];
      assert.ok(token !== undefined && token.length >= 24, loom.stderrText);
      assert.match(loom.stderrText, /ingest\s+http:\/\/127\.0\.0\.1:8080\/api\/v1\/ingest/);

      const event = { '@timestamp': '2026-01-01T00:00:00Z', event: { id: 'dev-banner-check' } };
      const res = await request('http://127.0.0.1:8080/api/v1/ingest', JSON.stringify([event]), { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
      assert.equal(res.status, 204, res.text);
      // The event has no address to enrich; only the risk score is added to it.
      const expected = JSON.stringify({ ...event, event: { ...event.event, risk_score: 10, risk_reasons: [] } });
      await loom.until(() => loom.stdoutLines.includes(expected), 'the event on stdout');

      // The command exactly as printed (two lines joined by a backslash), run by a shell.
      const command = /^\s*(curl -i [^\n]*\\\n[^\n]*)$/m.exec(loom.stderrText)?.[1];
      assert.ok(command !== undefined, loom.stderrText);
      const before = loom.stdoutLines.length;
      const { stdout } = await run('sh', ['-c', command]);
      assert.match(stdout, /^HTTP\/1\.1 204 No Content/);
      await loom.until(() => loom.stdoutLines.length > before, 'the banner\'s event on stdout');
      // The banner's event uses a public address, so the bundled data enriches it.
      assert.match(loom.stdoutLines[before] ?? '', /"source":\{"ip":"89\.160\.20\.112","port":40522,"geo":\{"country_iso_code":"SE"/);

      loom.child.kill('SIGTERM');
      assert.equal(await loom.waitForExit(10_000), 0);
    } finally {
      await loom.cleanup();
    }
  });
});
