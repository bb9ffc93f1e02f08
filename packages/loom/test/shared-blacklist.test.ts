import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Metrics } from '../src/management/metrics.js';
import { SharedState } from '../src/shared-state/redis.js';
import type { AbuseSettings } from '../src/sources/tcp-json/abuse.js';
import { SharedAbuseGuard } from '../src/sources/tcp-json/shared-abuse.js';
import { redisUnavailable, startRedis, type RedisServer } from './helpers/redis-server.js';

const unavailable = redisUnavailable();
const silent = pino({ level: 'silent' });

const settings = (overrides: Partial<AbuseSettings> = {}): AbuseSettings => ({
  messagesPerMinute: 0,
  strikeThreshold: 3,
  permanent: false,
  durationMs: 60_000,
  maxTracked: 1000,
  ...overrides,
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

/** One Loom instance's view: its own connection to Redis and its own guard, on a clock the test moves. */
interface Instance {
  guard: SharedAbuseGuard;
  shared: SharedState;
  metrics: Metrics;
  /** Waits until every reply to what this instance sent Redis has been applied. */
  settled(): Promise<void>;
}

describe('TCP JSON strikes and blacklist shared in Redis', { skip: unavailable }, () => {
  let redis: RedisServer;
  const open: SharedState[] = [];
  let clock = 0;
  let prefixCount = 0;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const shared of open) await shared.close();
    await redis.stop();
  });

  async function instances(count: number, abuse: AbuseSettings, server = redis): Promise<Instance[]> {
    const keyPrefix = `b${++prefixCount}:`;
    const made: Instance[] = [];
    for (let i = 0; i < count; i++) {
      const metrics = new Metrics();
      const shared = SharedState.create({ redis_url: server.url, redis_password_env: '', key_prefix: keyPrefix, timeout_ms: 250, ca_file: '' }, { logger: silent, metrics });
      assert.ok(shared);
      open.push(shared);
      await waitFor(() => shared.up, 'connected');
      made.push({
        guard: new SharedAbuseGuard(abuse, shared, () => clock),
        shared,
        metrics,
        async settled() {
          // Replies come back in order: once this PING is answered, every earlier reply is in.
          await shared.client.ping();
          await nextTurn();
        },
      });
    }
    return made;
  }

  test('an address blacklisted through one instance is refused by another', async () => {
    clock = 0;
    const [a, b] = await instances(2, settings({ durationMs: 30_000 }));
    assert.deepEqual(a!.guard.strike('198.51.100.7', 0), { strikes: 1, threshold: 3, blacklisted: false });
    assert.deepEqual(a!.guard.strike('198.51.100.7', 0), { strikes: 2, threshold: 3, blacklisted: false });
    assert.deepEqual(a!.guard.strike('198.51.100.7', 10), { strikes: 3, threshold: 3, blacklisted: true });
    await a!.settled();
    clock = 1000;
    // A new connection on the other instance: asked before its first message.
    await b!.guard.lookup('198.51.100.7');
    const refused = b!.guard.admit('198.51.100.7', 1000);
    assert.equal(refused.kind, 'blacklisted');
    assert.ok(refused.kind === 'blacklisted' && refused.remainingMs !== undefined && refused.remainingMs > 29_000 && refused.remainingMs <= 30_000, JSON.stringify(refused));
    assert.equal(b!.guard.counters.shared, 1);
    assert.equal(b!.guard.counters.added, 0, 'the instance whose strikes did it counts it as added');
    assert.equal(a!.guard.counters.added, 1);
    // The other addresses are not affected.
    await b!.guard.lookup('198.51.100.8');
    assert.equal(b!.guard.admit('198.51.100.8', 1000).kind, 'ok');
    // The blacklist ends on the other instance when it ends: the next message after lifts it.
    assert.equal(b!.guard.admit('198.51.100.7', 1000 + 30_001).kind, 'ok');
  });

  test('an open connection learns of the blacklist within a second', async () => {
    clock = 0;
    const [a, b] = await instances(2, settings({ strikeThreshold: 1 }));
    await b!.guard.lookup('203.0.113.9');
    assert.equal(b!.guard.admit('203.0.113.9', 0).kind, 'ok');
    a!.guard.strike('203.0.113.9', 0);
    await a!.settled();
    // Still within the second B trusts what it heard.
    assert.equal(b!.guard.admit('203.0.113.9', 500).kind, 'ok');
    // After it, the next message asks again; the answer applies from then on.
    assert.equal(b!.guard.admit('203.0.113.9', 1000).kind, 'ok');
    await b!.settled();
    assert.equal(b!.guard.admit('203.0.113.9', 1001).kind, 'blacklisted');
  });

  test('strikes from all instances add up to the threshold', async () => {
    clock = 0;
    const [a, b] = await instances(2, settings());
    assert.equal(a!.guard.strike('x', 0).strikes, 1);
    await a!.settled();
    await b!.guard.lookup('x');
    assert.deepEqual(b!.guard.strike('x', 0), { strikes: 2, threshold: 3, blacklisted: false });
    await b!.settled();
    clock = 2000;
    await a!.guard.lookup('x');
    assert.deepEqual(a!.guard.strike('x', 2000), { strikes: 3, threshold: 3, blacklisted: true });
    await a!.settled();
    clock = 4000;
    await b!.guard.lookup('x');
    assert.equal(b!.guard.admit('x', 4000).kind, 'blacklisted');
  });

  test('a permanent blacklist is permanent on every instance', async () => {
    clock = 0;
    const [a, b] = await instances(2, settings({ strikeThreshold: 1, permanent: true }));
    assert.equal(a!.guard.strike('p', 0).blacklisted, true);
    await a!.settled();
    await b!.guard.lookup('p');
    assert.deepEqual(b!.guard.admit('p', 1e12), { kind: 'blacklisted', remainingMs: undefined });
  });

  test('Redis keeps at most max_tracked_ips blacklisted addresses, the oldest going first', async () => {
    clock = 0;
    const [a] = await instances(1, settings({ strikeThreshold: 1, maxTracked: 2 }));
    for (const [i, address] of ['old', 'middle', 'new'].entries()) {
      a!.guard.strike(address, i);
      await a!.settled();
      await sleep(5);
    }
    const members = await a!.shared.client.zrange(`${a!.shared.keyPrefix}tcp_json:blacklist`, '0', '-1');
    assert.deepEqual(members, ['middle', 'new']);
  });

  test('Redis gone: this instance decides alone and counts it; Redis back: shared again', async () => {
    clock = 0;
    const own = await startRedis();
    try {
      const [a, b] = await instances(2, settings({ strikeThreshold: 2 }), own);
      await own.kill();
      await waitFor(() => !a!.shared.up && !b!.shared.up, 'both notice');
      // The in-memory guard still decides: two strikes blacklist here, nowhere else.
      assert.equal(a!.guard.strike('d', 0).blacklisted, false);
      assert.equal(a!.guard.strike('d', 0).blacklisted, true);
      assert.equal(a!.guard.admit('d', 1).kind, 'blacklisted');
      const errors = async (metrics: Metrics, operation: string): Promise<number> =>
        (await metrics.sharedStateErrors.get()).values.find((v) => v.labels.operation === operation)?.value ?? 0;
      assert.equal(await errors(a!.metrics, 'tcp_json_strike'), 2);
      assert.equal(b!.guard.lookup('d'), undefined, 'nothing to wait for while Redis is away');
      assert.equal(b!.guard.admit('d', 1).kind, 'ok');
      assert.ok((await errors(b!.metrics, 'tcp_json_lookup')) >= 1);

      await own.restart();
      await waitFor(() => a!.shared.up && b!.shared.up, 'both reconnected', 15_000);
      clock = 5000;
      a!.guard.strike('e', 5000);
      a!.guard.strike('e', 5000);
      await a!.settled();
      await b!.guard.lookup('e');
      assert.equal(b!.guard.admit('e', 5000).kind, 'blacklisted');
    } finally {
      await own.stop();
    }
  });
});

if (unavailable !== undefined) test(`shared blacklist: skipped: ${unavailable}`, { skip: unavailable }, () => undefined);
