import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from './helpers/http.js';
import { baseToml, runLoom, spawnLoom, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { redisUnavailable, startRedis, type RedisServer } from './helpers/redis-server.js';
import { LineClient, tcpJsonConfig } from './helpers/tcp-json.js';

const unavailable = redisUnavailable();
const token = 'token-of-the-balanced-sensor-7c1d';
const env = { LOOM_SENSOR_balanced: token };

const sharedSection = (redis: RedisServer, prefix: string): string => `
[shared_state]
redis_url = "${redis.url}"
key_prefix = "${prefix}"
`;

async function metric(loom: LoomProcess, line: RegExp): Promise<number | undefined> {
  const reply = await request(loom.managementUrl('/metrics'), undefined, { method: 'GET' });
  const match = reply.text.split('\n').find((text) => line.test(text));
  return match === undefined ? undefined : Number(match.split(' ').pop());
}

describe('two Loom instances sharing one Redis', { skip: unavailable }, () => {
  let redis: RedisServer;
  const started: LoomProcess[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const loom of started) await loom.cleanup();
    await redis.stop();
  });

  async function loomWith(toml: string, extraEnv: Record<string, string> = {}): Promise<LoomProcess> {
    const loom = await startLoom({ toml, env: { ...env, ...extraEnv } });
    started.push(loom);
    assert.equal(loom.exitCode, undefined, loom.stderrText);
    await loom.until(() => loom.hasLog('shared state: connected to Redis'), 'the Redis connection');
    return loom;
  }

  test('one sensor\'s per_sensor_rps holds over both instances together, not per instance', async () => {
    const rate = 20;
    const burst = 20;
    const toml = (server = ''): string => baseToml({ server, limits: `per_sensor_rps = ${rate}\nper_sensor_burst = ${burst}`, extra: sharedSection(redis, 'rps:') });
    // The second instance runs two ingest processes: its primary asks Redis for both.
    const instances = [await loomWith(toml()), await loomWith(toml('processes = 2'))];
    const send = (loom: LoomProcess): Promise<number> =>
      request(loom.url(), '[{"event":{"kind":"event"}}]', { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }).then((reply) => reply.status);

    const windowMs = 3000;
    const accepted = [0, 0];
    const statuses = new Set<number>();
    const firstSent = performance.now();
    let lastSent = firstSent;
    let lastAnswered = firstSent;
    // Two clients per instance, as a load balancer would spread one sensor's requests.
    await Promise.all([0, 0, 1, 1].map(async (which) => {
      while (performance.now() - firstSent < windowMs) {
        lastSent = performance.now();
        const status = await send(instances[which]!);
        lastAnswered = performance.now();
        statuses.add(status);
        if (status === 204) accepted[which]!++;
      }
    }));
    const total = accepted[0]! + accepted[1]!;
    // Every grant happened between the first request sent and the last answer received.
    const most = burst + rate * ((lastAnswered - firstSent) / 1000);
    const least = burst + rate * ((lastSent - firstSent) / 1000);
    const seen = `accepted ${total} (${accepted.join(' + ')}); the shared budget is ${least.toFixed(1)} to ${most.toFixed(1)}`;
    assert.deepEqual([...statuses].sort(), [204, 429]);
    // One instance alone would accept the whole budget: two without sharing, about twice it.
    assert.ok(total <= Math.floor(most), seen);
    // Leases left unspent (2 tokens at 20/s in the first instance and in each of the second's
    // two ingest processes) are the only shortfall; a little more is allowed for a busy
    // machine where a refill waits for the next request.
    assert.ok(total >= 0.9 * least - 3 * 2, seen);
    assert.ok(accepted[0]! > 0.2 * total && accepted[1]! > 0.2 * total, `both instances accepted a share: ${accepted.join(' + ')}`);
    assert.equal(await metric(instances[0]!, /^loom_shared_state_up /), 1);
  });

  test('an address blacklisted through one instance\'s tcp_json input is refused by the other', async () => {
    const inputs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir('shared-tcp-json-');
      await writeFile(join(dir, 'config.json'), JSON.stringify(tcpJsonConfig({ protocol: { bad_message_blacklist_threshold: 2, blacklist_duration_seconds: 60 } })));
      inputs.push(`[inputs.tcp_json]\nenabled = true\nconfig_file = ${JSON.stringify(join(dir, 'config.json'))}\n`);
    }
    const instances: LoomProcess[] = [];
    for (const input of inputs) instances.push(await loomWith(baseToml({ extra: `${sharedSection(redis, 'tcp:')}\n${input}` })));
    const ports = instances.map((loom) => loom.logs.find((line) => line.msg === 'tcp_json input listening')?.port as number);

    const first = await LineClient.connect(ports[0]!);
    first.sendMessages(['not json', '{"also": "not valid"']);
    const [strike, blacklisted] = await first.next(2);
    assert.match(strike!.message, /\(strike 1 of 2\)$/);
    assert.match(blacklisted!.message, /; IP 127\.0\.0\.1 has been blacklisted for 60 seconds$/);
    first.destroy();

    const second = await LineClient.connect(ports[1]!);
    const refused = await second.exchange({ level: 'info', message: 'hello from a blacklisted address' });
    assert.equal(refused.success, false);
    assert.match(refused.message, /^IP 127\.0\.0\.1 is blacklisted for (59|60) more seconds$/);
    second.destroy();
    assert.equal(await metric(instances[1]!, /^loom_tcp_json_blacklist_changes_total\{change="shared"\} /), 1);
  });

  test('Redis gone: each instance limits on its own and counts it; nothing is refused for it', async () => {
    const own = await startRedis();
    try {
      const loom = await loomWith(baseToml({ limits: 'per_sensor_rps = 100\nper_sensor_burst = 100', extra: sharedSection(own, 'down:') }));
      await own.kill();
      await loom.until(() => loom.hasLog(/Redis connection error|did not answer/), 'Redis noticed gone');
      const reply = await request(loom.url(), '[{"event":{"kind":"event"}}]', { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
      assert.equal(reply.status, 204);
      assert.equal(await metric(loom, /^loom_shared_state_up /), 0);
      assert.ok((await metric(loom, /^loom_shared_state_errors_total\{operation="rate_requests"\} /) ?? 0) >= 1);
    } finally {
      await own.stop();
    }
  });

  test('two standalone `loom tcp-json` share their blacklist through LOOM_REDIS_URL', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir('shared-tcp-json-standalone-');
      const path = join(dir, 'config.json');
      await writeFile(path, JSON.stringify(tcpJsonConfig({ protocol: { bad_message_blacklist_threshold: 1, blacklist_permanent: true } })));
      const loom = await spawnLoom({ args: ['tcp-json', '-config', path], env: { LOOM_REDIS_URL: redis.url, LOOM_REDIS_KEY_PREFIX: 'standalone:' } });
      started.push(loom);
      await loom.until(() => loom.hasLog('shared state: connected to Redis') && loom.hasLog('tcp-json listening'), 'listening with Redis');
      ports.push(loom.logs.find((line) => line.msg === 'tcp-json listening')?.port as number);
    }
    const first = await LineClient.connect(ports[0]!);
    assert.match((await first.exchange('{')).message, /has been blacklisted until the server restarts$/);
    first.destroy();
    const second = await LineClient.connect(ports[1]!);
    assert.deepEqual(await second.exchange({ level: 'info', message: 'hello' }), { success: false, message: 'IP 127.0.0.1 is blacklisted' });
    second.destroy();
  });

  test('a password inside the URL is refused at startup without being shown', async () => {
    const run = await runLoom({ toml: baseToml({ extra: '[shared_state]\nredis_url = "redis://loom:s3cret-in-url@127.0.0.1:6379/0"\n' }), env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /shared_state\.redis_url: must not contain a password/);
    assert.doesNotMatch(run.stderr, /s3cret-in-url/);
  });

  test('the password comes from the variable named by redis_password_env', async () => {
    const locked = await startRedis({ password: 'from-the-environment-9f' });
    try {
      const toml = baseToml({ extra: `[shared_state]\nredis_url = "${locked.url}"\nredis_password_env = "LOOM_TEST_REDIS_PASSWORD"\n` });
      const loom = await loomWith(toml, { LOOM_TEST_REDIS_PASSWORD: 'from-the-environment-9f' });
      assert.doesNotMatch(loom.stderrText, /from-the-environment-9f/);
      const unset = await runLoom({ toml, env });
      assert.equal(unset.code, 1);
      assert.match(unset.stderr, /shared_state\.redis_password_env: the environment variable LOOM_TEST_REDIS_PASSWORD is not set or empty/);
    } finally {
      await locked.stop();
    }
  });
});

if (unavailable !== undefined) test(`Loom with shared state: skipped: ${unavailable}`, { skip: unavailable }, () => undefined);
