import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { LeasedRateLimiter } from '../src/auth/leased-rate-limiter.js';
import { RedisRateAuthority } from '../src/auth/redis-rate-authority.js';
import type { SharedStateConfig } from '../src/config/types.js';
import { Metrics } from '../src/management/metrics.js';
import { SharedState } from '../src/shared-state/redis.js';
import { redisUnavailable, startRedis, type RedisServer } from './helpers/redis-server.js';

const unavailable = redisUnavailable();
const silent = pino({ level: 'silent' });

function configFor(redis: RedisServer, prefix: string): SharedStateConfig {
  return { redis_url: redis.url, redis_password_env: '', key_prefix: prefix, timeout_ms: 250, ca_file: '' };
}

async function connect(redis: RedisServer, prefix: string, metrics = new Metrics()): Promise<SharedState> {
  const shared = SharedState.create(configFor(redis, prefix), { logger: silent, metrics });
  assert.ok(shared);
  await waitFor(() => shared.up, 'Redis connected');
  return shared;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

async function errorsCounted(metrics: Metrics, operation: string): Promise<number> {
  const metric = await metrics.sharedStateErrors.get();
  return metric.values.find((value) => value.labels.operation === operation)?.value ?? 0;
}

describe('rate limits shared in Redis', { skip: unavailable }, () => {
  let redis: RedisServer;
  const open: SharedState[] = [];
  let prefixCount = 0;
  /** Each test gets its own key prefix, so buckets of one test never meet another's. */
  const prefix = (): string => `t${++prefixCount}:`;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const shared of open) await shared.close();
    await redis.stop();
  });

  async function connectAuthority(name: string, rate: number, burst: number, keyPrefix: string, metrics?: Metrics): Promise<{ authority: RedisRateAuthority; shared: SharedState }> {
    const shared = await connect(redis, keyPrefix, metrics);
    open.push(shared);
    return { authority: new RedisRateAuthority(shared, name, rate, burst), shared };
  }

  test('a full bucket passes the burst at once, then refuses with Retry-After', async () => {
    const { authority } = await connectAuthority('requests', 1, 5, prefix());
    for (let i = 0; i < 5; i++) assert.deepEqual(await authority.grant('s1', 1, 1), { granted: 1, retryAfterSeconds: 0 });
    assert.deepEqual(await authority.grant('s1', 1, 1), { granted: 0, retryAfterSeconds: 1 });
    // Another sensor has its own bucket.
    assert.deepEqual(await authority.grant('s2', 1, 1), { granted: 1, retryAfterSeconds: 0 });
  });

  test('the bucket refills at the rate, up to the burst and no further', async () => {
    const { authority } = await connectAuthority('requests', 20, 2, prefix());
    assert.equal((await authority.grant('s', 2, 2)).granted, 2);
    assert.equal((await authority.grant('s', 1, 1)).granted, 0);
    await sleep(120);
    // 120 ms at 20/s is 2.4 tokens, capped at the burst of 2.
    assert.equal((await authority.grant('s', 1, 10)).granted, 2);
    await sleep(400);
    assert.equal((await authority.grant('s', 1, 10)).granted, 2);
  });

  test('grant takes up to max when at least min is there, else nothing and says how long to wait', async () => {
    const { authority } = await connectAuthority('events', 1, 10, prefix());
    assert.deepEqual(await authority.grant('s', 3, 5), { granted: 5, retryAfterSeconds: 0 });
    assert.deepEqual(await authority.grant('s', 3, 4), { granted: 4, retryAfterSeconds: 0 });
    // One token left: min 1 takes it all, even with a larger max.
    assert.deepEqual(await authority.grant('s', 1, 5), { granted: 1, retryAfterSeconds: 0 });
    // Empty: 3 tokens take 3 s at 1/s.
    assert.deepEqual(await authority.grant('s', 3, 5), { granted: 0, retryAfterSeconds: 3 });
    // A cost above the burst waits for a full bucket (10 s), as RateLimiter does.
    assert.deepEqual(await authority.grant('s', 25, 25), { granted: 0, retryAfterSeconds: 10 });
  });

  test('keys are <prefix>rate:<name>:<sensor> and expire after about twice the time to refill', async () => {
    const keyPrefix = prefix();
    const { authority, shared } = await connectAuthority('requests', 2, 20, keyPrefix);
    await authority.grant('sensor-a', 1, 1);
    assert.deepEqual(await shared.client.keys(`${keyPrefix}*`), [`${keyPrefix}rate:requests:sensor-a`]);
    const ttl = await shared.client.pttl(`${keyPrefix}rate:requests:sensor-a`);
    // 20 tokens at 2/s refill in 10 s: the key lives 20 s.
    assert.ok(ttl > 19_000 && ttl <= 20_000, `pttl ${ttl}`);
    const quick = new RedisRateAuthority(shared, 'events', 1000, 10);
    await quick.grant('sensor-a', 1, 1);
    const short = await shared.client.pttl(`${keyPrefix}rate:events:sensor-a`);
    assert.ok(short > 4_000 && short <= 5_000, `a bucket that refills in milliseconds still lives a few seconds (pttl ${short})`);
  });

  test('a sensor over its limit is refused without asking Redis again until the refill could meet it', async () => {
    const { authority, shared } = await connectAuthority('requests', 4, 1, prefix());
    const grants = async (): Promise<number> => {
      const stats = await shared.client.info('commandstats');
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    assert.equal((await authority.grant('s', 1, 1)).granted, 1);
    const before = await grants();
    const refused = [];
    for (let i = 0; i < 20; i++) refused.push((await authority.grant('s', 1, 1)).granted);
    assert.deepEqual(refused, new Array(20).fill(0));
    assert.equal((await grants()) - before, 0, 'the answer to the first grant already said the bucket is empty');
    // A quarter of a second at 4/s refills one token: then Redis is asked again, and grants it.
    await sleep(260);
    assert.deepEqual(await authority.grant('s', 1, 1), { granted: 1, retryAfterSeconds: 0 });
    assert.equal((await grants()) - before, 1);
  });

  test('two instances share one sensor\'s budget exactly', async () => {
    const keyPrefix = prefix();
    const first = await connectAuthority('requests', 1, 30, keyPrefix);
    const second = await connectAuthority('requests', 1, 30, keyPrefix);
    let granted = 0;
    const started = Date.now();
    // Alternate between the instances, as a load balancer would, until both refuse.
    for (let i = 0; i < 40; i++) granted += (await (i % 2 === 0 ? first : second).authority.grant('shared-sensor', 1, 1)).granted;
    assert.ok(Date.now() - started < 1_000, 'the loop must finish before a token refills');
    assert.equal(granted, 30);
    // Each instance alone would have let the whole burst through: 60.
  });

  test('leases over two instances never let more through than the bucket holds', async () => {
    const keyPrefix = prefix();
    const first = await connectAuthority('events', 1, 100, keyPrefix);
    const second = await connectAuthority('events', 1, 100, keyPrefix);
    const limiters = [new LeasedRateLimiter(first.authority, 7), new LeasedRateLimiter(second.authority, 7)];
    let passed = 0;
    for (let i = 0; i < 300; i++) if ((await limiters[i % 2]!.take('s', 1)) === 0) passed++;
    // Up to one lease may stay unspent on the instance that did not take last.
    assert.ok(passed <= 100 && passed >= 100 - 7, `passed ${passed}`);
  });

  test('Redis gone: the local bucket decides and the failures are counted; Redis back: shared again', async () => {
    const own = await startRedis();
    const metrics = new Metrics();
    const keyPrefix = prefix();
    const sharedA = SharedState.create(configFor(own, keyPrefix), { logger: silent, metrics });
    const sharedB = SharedState.create(configFor(own, keyPrefix), { logger: silent });
    assert.ok(sharedA && sharedB);
    try {
      await waitFor(() => sharedA.up && sharedB.up, 'both connected');
      assert.equal((await metrics.sharedStateUp.get()).values[0]?.value, 1);
      const a = new RedisRateAuthority(sharedA, 'requests', 1, 4);
      const b = new RedisRateAuthority(sharedB, 'requests', 1, 4);
      for (let i = 0; i < 4; i++) assert.equal((await a.grant('s', 1, 1)).granted, 1);
      assert.equal((await b.grant('s', 1, 1)).granted, 0, 'B sees the bucket A drained');

      await own.kill();
      await waitFor(() => !sharedA.up, 'A notices Redis is gone');
      assert.equal((await metrics.sharedStateUp.get()).values[0]?.value, 0);
      // A's own bucket (same rate and burst) decides: a full burst, then refusals.
      const local = [];
      for (let i = 0; i < 5; i++) local.push((await a.grant('s', 1, 1)).granted);
      assert.deepEqual(local, [1, 1, 1, 1, 0]);
      assert.equal(await errorsCounted(metrics, 'rate_requests'), 5);

      await own.restart();
      await waitFor(() => sharedA.up && sharedB.up, 'both reconnected', 15_000);
      // The restarted Redis is empty: one full bucket, shared by both again.
      let granted = 0;
      for (let i = 0; i < 8; i++) granted += (await (i % 2 === 0 ? a : b).grant('s', 1, 1)).granted;
      assert.equal(granted, 4);
      assert.equal(await errorsCounted(metrics, 'rate_requests'), 5, 'no failures once Redis is back');
    } finally {
      await sharedA.close();
      await sharedB.close();
      await own.stop();
    }
  });

  test('a command that times out is decided locally', async () => {
    const own = await startRedis();
    const metrics = new Metrics();
    const shared = SharedState.create({ ...configFor(own, prefix()), timeout_ms: 100 }, { logger: silent, metrics });
    assert.ok(shared);
    const blocker = SharedState.create(configFor(own, 'blocker:'), { logger: silent });
    assert.ok(blocker);
    try {
      await waitFor(() => shared.up && blocker.up, 'connected');
      const authority = new RedisRateAuthority(shared, 'requests', 1, 2);
      // A paused server holds every client's commands well past the 100 ms timeout.
      await blocker.client.call('CLIENT', 'PAUSE', '500');
      const started = Date.now();
      assert.deepEqual(await authority.grant('s', 1, 1), { granted: 1, retryAfterSeconds: 0 });
      assert.ok(Date.now() - started < 400, 'answered by the fallback, not after Redis woke up');
      assert.equal(await errorsCounted(metrics, 'rate_requests'), 1);
    } finally {
      await shared.close();
      await blocker.close();
      await own.stop();
    }
  });
});

if (unavailable !== undefined) test(`shared rate limits: skipped: ${unavailable}`, { skip: unavailable }, () => undefined);
