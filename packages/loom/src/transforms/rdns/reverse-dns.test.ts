import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsmasq, type Dnsmasq } from '../../../test/helpers/dnsmasq.js';
import { REVERSE_DNS_DEFAULTS, ReverseDns, resolverServer, type ReverseDnsOptions } from './reverse-dns.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('reverse DNS against dnsmasq', () => {
  let server: Dnsmasq;
  const open: ReverseDns[] = [];
  const rdns = (options: Partial<ReverseDnsOptions> = {}): ReverseDns => {
    const created = new ReverseDns({ ...REVERSE_DNS_DEFAULTS, resolverAddr: server.address, maxQps: -1, ...options });
    open.push(created);
    return created;
  };
  /** How often dnsmasq has been asked for the PTR of each given reverse name, since `from`. */
  const asked = async (from: number): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    for (const name of (await server.queries()).slice(from)) counts.set(name, (counts.get(name) ?? 0) + 1);
    return counts;
  };
  const queryCount = async (): Promise<number> => (await server.queries()).length;

  before(async () => {
    server = await startDnsmasq({
      hostRecords: [
        'dns.google,8.8.8.8,2001:4860:4860::8888',
        'one.one.one.one,1.1.1.1',
        'a.loom.example,93.184.216.1',
        'b.loom.example,93.184.216.2',
        'c.loom.example,93.184.216.3',
        'gateway.internal,10.0.0.1,fd00::1',
        'localhost.internal,127.0.0.1',
      ],
    });
  });
  after(async () => {
    for (const created of open) created.close();
    await server.stop();
  });

  test('PTR answers for IPv4, IPv6 and IPv4-mapped addresses', async () => {
    const dns = rdns();
    assert.equal(await dns.lookup('8.8.8.8'), 'dns.google');
    assert.equal(await dns.lookup('2001:4860:4860::8888'), 'dns.google');
    assert.equal(await dns.lookup('::ffff:1.1.1.1'), 'one.one.one.one');
    assert.deepEqual(dns.stats(), { hits: 0, misses: 3, timeouts: 0, errors: 0, overBudget: 0, inFlight: 0, cacheSize: 3 });
  });

  test('answers are cached under the address, whatever its spelling', async () => {
    const dns = rdns();
    const from = await queryCount();
    assert.equal(await dns.lookup('2001:4860:4860::8888'), 'dns.google');
    assert.equal(await dns.lookup('2001:4860:4860:0:0:0:0:8888'), 'dns.google');
    assert.equal(await dns.lookup('1.1.1.1'), 'one.one.one.one');
    assert.equal(await dns.lookup('::ffff:1.1.1.1'), 'one.one.one.one');
    const counts = await asked(from);
    assert.equal(counts.get('8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.0.6.8.4.1.0.0.2.ip6.arpa'), 1);
    assert.equal(counts.get('1.1.1.1.in-addr.arpa'), 1);
    assert.equal(dns.stats().hits, 2);
  });

  test('NXDOMAIN gives undefined and is cached as a negative answer', async () => {
    const dns = rdns();
    const from = await queryCount();
    assert.equal(await dns.lookup('9.9.9.9'), undefined);
    assert.equal(await dns.lookup('9.9.9.9'), undefined);
    assert.equal(await dns.lookup('2606:4700:4700::1111'), undefined);
    assert.equal(await dns.lookup('2606:4700:4700::1111'), undefined);
    const counts = await asked(from);
    assert.equal(counts.get('9.9.9.9.in-addr.arpa'), 1);
    assert.equal(counts.size, 2);
    assert.deepEqual(dns.stats(), { hits: 2, misses: 2, timeouts: 0, errors: 0, overBudget: 0, inFlight: 0, cacheSize: 2 });
  });

  test('entries expire after their TTL, positive and negative each with its own', async () => {
    const dns = rdns({ cacheTtlSeconds: 0.3, negativeTtlSeconds: 0.15 });
    const from = await queryCount();
    await dns.lookup('93.184.216.1');
    await dns.lookup('9.9.9.8');
    await sleep(200);
    assert.equal(await dns.lookup('93.184.216.1'), 'a.loom.example', 'still cached');
    assert.equal(await dns.lookup('9.9.9.8'), undefined, 'expired, asked again');
    await sleep(150);
    assert.equal(await dns.lookup('93.184.216.1'), 'a.loom.example', 'expired, asked again');
    const counts = await asked(from);
    assert.equal(counts.get('1.216.184.93.in-addr.arpa'), 2);
    assert.equal(counts.get('8.9.9.9.in-addr.arpa'), 2);
    assert.equal(dns.stats().hits, 1);
  });

  test('cacheTtlSeconds 0 and negativeTtlSeconds 0 cache nothing', async () => {
    const dns = rdns({ cacheTtlSeconds: 0, negativeTtlSeconds: 0 });
    const from = await queryCount();
    for (let i = 0; i < 3; i++) {
      assert.equal(await dns.lookup('1.1.1.1'), 'one.one.one.one');
      assert.equal(await dns.lookup('9.9.9.7'), undefined);
    }
    const counts = await asked(from);
    assert.equal(counts.get('1.1.1.1.in-addr.arpa'), 3);
    assert.equal(counts.get('7.9.9.9.in-addr.arpa'), 3);
    assert.equal(dns.stats().cacheSize, 0);
  });

  test('the cache holds at most cacheMaxEntries, dropping the least recently used', async () => {
    const dns = rdns({ cacheMaxEntries: 2 });
    const from = await queryCount();
    await dns.lookup('93.184.216.1');
    await dns.lookup('93.184.216.2');
    assert.equal(await dns.lookup('93.184.216.1'), 'a.loom.example', 'a hit makes .1 recent');
    await dns.lookup('93.184.216.3');
    assert.equal(dns.stats().cacheSize, 2);
    assert.equal(await dns.lookup('93.184.216.1'), 'a.loom.example');
    assert.equal(await dns.lookup('93.184.216.2'), 'b.loom.example');
    const counts = await asked(from);
    assert.equal(counts.get('1.216.184.93.in-addr.arpa'), 1, '.1 stayed');
    assert.equal(counts.get('2.216.184.93.in-addr.arpa'), 2, '.2 was evicted and asked again');
    assert.equal(dns.stats().cacheSize, 2);
  });

  test('concurrent lookups of one address share one query', async () => {
    const dns = rdns();
    const from = await queryCount();
    const answers = await Promise.all(Array.from({ length: 100 }, () => dns.lookup('93.184.216.3')));
    assert.ok(answers.every((name) => name === 'c.loom.example'));
    const many = await dns.lookupMany(['93.184.216.2', '93.184.216.2', '::ffff:93.184.216.2'], 1000);
    assert.deepEqual([...many], [['93.184.216.2', 'b.loom.example'], ['::ffff:93.184.216.2', 'b.loom.example']]);
    const counts = await asked(from);
    assert.deepEqual([...counts], [['3.216.184.93.in-addr.arpa', 1], ['2.216.184.93.in-addr.arpa', 1]]);
    assert.equal(dns.stats().misses, 102);
    assert.equal(dns.stats().inFlight, 0);
  });

  test('over the qps budget: undefined at once, counted, not cached', async () => {
    const dns = rdns({ maxQps: 2 });
    const from = await queryCount();
    const ips = ['93.184.216.1', '93.184.216.2', '93.184.216.3', '1.1.1.1', '8.8.8.8'];
    const started = performance.now();
    const found = await dns.lookupMany(ips, 1000);
    assert.ok(performance.now() - started < 200);
    assert.deepEqual([...found], [['93.184.216.1', 'a.loom.example'], ['93.184.216.2', 'b.loom.example']]);
    assert.equal(dns.stats().overBudget, 3);
    assert.equal(dns.stats().cacheSize, 2);
    assert.equal((await asked(from)).size, 2);
    assert.equal(await dns.lookup('93.184.216.1'), 'a.loom.example', 'a cache hit costs no budget');
    await sleep(550);
    assert.equal(await dns.lookup('8.8.8.8'), 'dns.google', 'a refilled token; the earlier refusal was not cached');
    assert.equal(await dns.lookup('1.1.1.1'), undefined);
    assert.deepEqual(dns.stats(), { hits: 1, misses: 3, timeouts: 0, errors: 0, overBudget: 4, inFlight: 0, cacheSize: 3 });
  });

  test('private, loopback, link-local and reserved addresses are never queried', async () => {
    const dns = rdns();
    const from = await queryCount();
    const skipped = ['10.0.0.1', 'fd00::1', '127.0.0.1', '::1', '::ffff:10.0.0.1', '192.168.1.1', '169.254.169.254', 'fe80::1', '100.64.0.1',
      '192.0.2.1', '2001:db8::1', '224.0.0.1', '0.0.0.0', '::', 'not-an-ip', '', 'fe80::1%eth0'];
    for (const ip of skipped) assert.equal(await dns.lookup(ip), undefined, ip);
    assert.equal((await dns.lookupMany(skipped, 1000)).size, 0);
    assert.deepEqual(await server.queries().then((all) => all.slice(from)), []);
    assert.deepEqual(dns.stats(), { hits: 0, misses: 0, timeouts: 0, errors: 0, overBudget: 0, inFlight: 0, cacheSize: 0 });
  });

  test('lookupMany: cached, fresh, unknown and skipped addresses together, keyed as given', async () => {
    const dns = rdns();
    await dns.lookup('1.1.1.1');
    const found = await dns.lookupMany(['1.1.1.1', '2001:4860:4860:0::8888', '9.9.9.6', '10.0.0.1', '8.8.8.8', '1.1.1.1'], 1000);
    assert.deepEqual(found, new Map([['1.1.1.1', 'one.one.one.one'], ['2001:4860:4860:0::8888', 'dns.google'], ['8.8.8.8', 'dns.google']]));
    assert.equal((await dns.lookupMany([], 1000)).size, 0);
  });

  test('queries beyond maxConcurrency wait their turn within the deadline', async () => {
    const dns = rdns({ maxConcurrency: 1 });
    const ips = ['93.184.216.1', '93.184.216.2', '93.184.216.3', '1.1.1.1', '8.8.8.8', '9.9.9.5'];
    const found = await dns.lookupMany(ips, 2000);
    assert.equal(found.size, 5);
    assert.equal(dns.stats().inFlight, 0);
  });

  test('close() ends everything; later lookups get undefined without a query', async () => {
    const dns = rdns();
    assert.equal(await dns.lookup('1.1.1.1'), 'one.one.one.one');
    dns.close();
    const from = await queryCount();
    assert.equal(await dns.lookup('1.1.1.1'), undefined);
    assert.equal(await dns.lookup('8.8.8.8'), undefined);
    assert.equal((await dns.lookupMany(['8.8.4.4'], 100)).size, 0);
    assert.equal(await queryCount(), from);
    dns.close();
  });
});

test('resolver addresses: "" is the system, a bare IP means port 53, host names are refused', () => {
  assert.equal(resolverServer(''), undefined);
  assert.equal(resolverServer('127.0.0.1'), '127.0.0.1');
  assert.equal(resolverServer('127.0.0.1:5353'), '127.0.0.1:5353');
  assert.equal(resolverServer('::1'), '::1');
  assert.equal(resolverServer('[::1]'), '[::1]:53');
  assert.equal(resolverServer('[2001:db8::53]:5353'), '[2001:db8::53]:5353');
  for (const bad of ['localhost', 'dns.google:53', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:', '[127.0.0.1]:53', '[::1', '::1]:53', '1.2.3.4:53:53']) {
    assert.throws(() => resolverServer(bad), /resolver address/, bad);
  }
  assert.throws(() => new ReverseDns({ ...REVERSE_DNS_DEFAULTS, resolverAddr: 'dns.google' }), /resolver address/);
  assert.throws(() => new ReverseDns({ ...REVERSE_DNS_DEFAULTS, timeoutMs: 0 }), /timeoutMs/);
  assert.throws(() => new ReverseDns({ ...REVERSE_DNS_DEFAULTS, maxConcurrency: 0 }), /maxConcurrency/);
  assert.throws(() => new ReverseDns({ ...REVERSE_DNS_DEFAULTS, cacheTtlSeconds: -1 }), /cacheTtlSeconds/);
  new ReverseDns({ ...REVERSE_DNS_DEFAULTS }).close();
});
