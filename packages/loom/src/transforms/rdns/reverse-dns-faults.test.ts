import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { REVERSE_DNS_DEFAULTS, ReverseDns, type ReverseDnsOptions } from './reverse-dns.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Query {
  id: number;
  /** The question section as received, echoed in the response. */
  question: Buffer;
  name: string;
}

/** What the fake server does with a query: send these bytes (after a delay), or nothing. */
type Behaviour = (query: Query) => { reply: Buffer; delayMs?: number } | undefined;

/**
 * A DNS server on a loopback UDP port that does whatever `behaviour` says: stay silent, answer
 * slowly, or send hand-built responses that no sane server would.
 */
class FakeDnsServer {
  readonly names: string[] = [];
  outstanding = 0;
  maxOutstanding = 0;
  private readonly socket = dgram.createSocket('udp4');

  constructor(private readonly behaviour: Behaviour) {}

  get address(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }

  async start(): Promise<this> {
    this.socket.on('message', (message, peer) => {
      const query = parseQuery(message);
      if (query === undefined) return;
      this.names.push(query.name);
      const action = this.behaviour(query);
      if (action === undefined) return;
      this.outstanding++;
      this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
      setTimeout(() => {
        this.outstanding--;
        this.socket.send(action.reply, peer.port, peer.address);
      }, action.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

function parseQuery(message: Buffer): Query | undefined {
  if (message.length < 12) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < message.length) {
    const length = message[offset] ?? 0;
    offset++;
    if (length === 0) break;
    labels.push(message.subarray(offset, offset + length).toString('latin1'));
    offset += length;
  }
  return { id: message.readUInt16BE(0), question: message.subarray(12, offset + 4), name: labels.join('.') };
}

/** A name in wire format, from labels given as raw bytes (so anything can be put in one). */
function wireName(labels: Array<string | Buffer>): Buffer {
  const parts = labels.map((label) => (typeof label === 'string' ? Buffer.from(label, 'latin1') : label));
  return Buffer.concat([...parts.flatMap((label) => [Buffer.from([label.length]), label]), Buffer.from([0])]);
}

/** A response to `query` with PTR answers whose targets are the given wire names. */
function ptrResponse(query: Query, targets: Buffer[], rcode = 0): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(0x8180 | rcode, 2); // QR, RD, RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(targets.length, 6);
  const answers = targets.map((target) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // owner: a pointer to the question's name
    fixed.writeUInt16BE(12, 2); // PTR
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(300, 6);
    fixed.writeUInt16BE(target.length, 10);
    return Buffer.concat([fixed, target]);
  });
  return Buffer.concat([header, query.question, ...answers]);
}

const options = (resolverAddr: string, overrides: Partial<ReverseDnsOptions> = {}): ReverseDnsOptions => ({
  ...REVERSE_DNS_DEFAULTS,
  resolverAddr,
  maxQps: -1,
  ...overrides,
});

/** n distinct public IPv4 addresses. */
const publicIps = (n: number): string[] => Array.from({ length: n }, (_, i) => `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

describe('a resolver that never answers', () => {
  let server: FakeDnsServer;
  before(async () => {
    server = await new FakeDnsServer(() => undefined).start();
  });
  after(() => server.close());

  test('each lookup resolves undefined within timeoutMs, counted as a timeout', async () => {
    const dns = new ReverseDns(options(server.address, { timeoutMs: 200 }));
    const ips = ['45.1.1.1', '45.1.1.2', '2a00:1450::1'];
    const elapsed = await Promise.all(ips.map(async (ip) => {
      const started = performance.now();
      assert.equal(await dns.lookup(ip), undefined);
      return performance.now() - started;
    }));
    for (const ms of elapsed) assert.ok(ms >= 190 && ms < 300, `${ms} ms`);
    assert.deepEqual(dns.stats(), { hits: 0, misses: 3, timeouts: 3, errors: 0, overBudget: 0, inFlight: 0, cacheSize: 3 });
    dns.close();
  });

  test('lookupMany of 1,000 addresses returns at its deadline; abandoned queued queries are never sent', async () => {
    const dns = new ReverseDns(options(server.address, { timeoutMs: 500, maxConcurrency: 64 }));
    const before = server.names.length;
    const started = performance.now();
    const found = await dns.lookupMany(publicIps(1000), 300);
    const ms = performance.now() - started;
    assert.equal(found.size, 0);
    assert.ok(ms >= 290 && ms < 400, `${ms} ms`);
    assert.equal(dns.stats().timeouts, 1000);
    assert.equal(dns.stats().inFlight, 64, 'the running queries keep their own timeout');
    await sleep(300);
    assert.equal(dns.stats().inFlight, 0);
    assert.equal(server.names.length - before, 64, 'one query per slot, and no retries');
    assert.equal(dns.stats().cacheSize, 64);
    dns.close();
  });

  test('close() ends running and queued lookups at once', async () => {
    const dns = new ReverseDns(options(server.address, { timeoutMs: 2000, maxConcurrency: 1 }));
    const started = performance.now();
    const pending = [dns.lookup('45.2.2.1'), dns.lookup('45.2.2.2'), dns.lookupMany(['45.2.2.3'], 5000)];
    await sleep(20);
    assert.equal(dns.stats().inFlight, 1);
    dns.close();
    assert.deepEqual(await Promise.all(pending), [undefined, undefined, new Map()]);
    assert.ok(performance.now() - started < 200);
    assert.equal(dns.stats().inFlight, 0);
  });
});

test('a resolver port with nothing listening: undefined at once, counted as an error', async () => {
  const closed = await new FakeDnsServer(() => undefined).start();
  const address = closed.address;
  await closed.close();
  const dns = new ReverseDns(options(address, { timeoutMs: 1000 }));
  const started = performance.now();
  assert.equal(await dns.lookup('45.3.3.3'), undefined);
  assert.ok(performance.now() - started < 500);
  assert.equal(dns.stats().errors, 1);
  dns.close();
});

describe('a resolver that answers garbage', () => {
  const replies = new Map<string, (query: Query) => Buffer>([
    ['1.0.0.45', (q) => ptrResponse(q, [wireName(['ok', 'example'])])],
    // 5 labels of 60: a 304-character name, 306 bytes on the wire (the limit is 255).
    ['2.0.0.45', (q) => ptrResponse(q, [wireName(Array.from({ length: 5 }, () => 'x'.repeat(60)))])],
    // 250 bytes on the wire but far longer once the control characters are escaped.
    ['3.0.0.45', (q) => ptrResponse(q, [wireName(Array.from({ length: 4 }, () => Buffer.alloc(61, 1)))])],
    ['4.0.0.45', (q) => ptrResponse(q, [wireName(['evil\x07\x1b[31m', 'example'])])],
    ['5.0.0.45', (q) => ptrResponse(q, [wireName(['<script>alert(1)</script> x', 'example'])])],
    ['6.0.0.45', (q) => ptrResponse(q, [wireName(['a.b', 'example'])])],
    ['7.0.0.45', (q) => ptrResponse(q, [wireName(['bad name', 'example']), wireName(['good', 'example'])])],
    ['8.0.0.45', (q) => ptrResponse(q, [], 2)],
    ['9.0.0.45', (q) => ptrResponse(q, [], 3)],
    ['10.0.0.45', (q) => ptrResponse(q, [])],
    ['11.0.0.45', () => Buffer.from('this is not a DNS message at all')],
    ['12.0.0.45', (q) => ptrResponse(q, [wireName(['ok', 'example'])]).subarray(0, 40)],
    ['13.0.0.45', (q) => ptrResponse({ ...q, id: q.id ^ 0xffff }, [wireName(['wrong-id', 'example'])])],
    ['14.0.0.45', (q) => ptrResponse(q, [Buffer.from([0xc0, 0x30])])],
  ]);
  let server: FakeDnsServer;
  let dns: ReverseDns;
  before(async () => {
    server = await new FakeDnsServer((query) => {
      const reply = replies.get(query.name.replace(/\.in-addr\.arpa$/, ''));
      return reply === undefined ? undefined : { reply: reply(query) };
    }).start();
    dns = new ReverseDns(options(server.address, { timeoutMs: 300 }));
  });
  after(async () => {
    dns.close();
    await server.close();
  });

  test('a sane answer from the fake passes', async () => {
    assert.equal(await dns.lookup('45.0.0.1'), 'ok.example');
  });

  test('over-long names, control characters, markup and escaped dots give undefined', async () => {
    for (const ip of ['45.0.0.2', '45.0.0.3', '45.0.0.4', '45.0.0.5', '45.0.0.6']) assert.equal(await dns.lookup(ip), undefined, ip);
  });

  test('only the first PTR counts: a bad first name is no name', async () => {
    assert.equal(await dns.lookup('45.0.0.7'), undefined);
  });

  test('SERVFAIL is an error; NXDOMAIN and an empty answer are no name; all are cached', async () => {
    const before = dns.stats();
    assert.equal(await dns.lookup('45.0.0.8'), undefined);
    assert.equal(await dns.lookup('45.0.0.9'), undefined);
    assert.equal(await dns.lookup('45.0.0.10'), undefined);
    const asked = server.names.length;
    for (const ip of ['45.0.0.8', '45.0.0.9', '45.0.0.10']) await dns.lookup(ip);
    assert.equal(server.names.length, asked);
    const now = dns.stats();
    assert.equal(now.errors - before.errors, 1);
    assert.equal(now.hits - before.hits, 3);
  });

  test('malformed, truncated and mismatched responses give undefined within the timeout', async () => {
    const started = performance.now();
    const answers = await Promise.all(['45.0.0.11', '45.0.0.12', '45.0.0.13', '45.0.0.14'].map((ip) => dns.lookup(ip)));
    assert.deepEqual(answers, [undefined, undefined, undefined, undefined]);
    assert.ok(performance.now() - started < 360);
  });
});

describe('a slow resolver', () => {
  let server: FakeDnsServer;
  before(async () => {
    server = await new FakeDnsServer((query) => ({ reply: ptrResponse(query, [wireName(['slow', 'example'])]), delayMs: 150 })).start();
  });
  after(() => server.close());

  test('at most maxConcurrency queries are on the wire; the rest wait and still make the deadline', async () => {
    const dns = new ReverseDns(options(server.address, { timeoutMs: 1000, maxConcurrency: 2 }));
    const found = await dns.lookupMany(publicIps(6), 1000);
    assert.equal(found.size, 6);
    assert.equal(server.maxOutstanding, 2);
    dns.close();
  });

  test('a queued lookup whose caller gave up is dropped; a running one finishes and fills the cache', async () => {
    const dns = new ReverseDns(options(server.address, { timeoutMs: 1000, maxConcurrency: 1 }));
    const before = server.names.length;
    const ips = ['45.9.9.1', '45.9.9.2', '45.9.9.3'];
    const found = await dns.lookupMany(ips, 230);
    assert.deepEqual([...found.keys()], ['45.9.9.1']);
    await sleep(150);
    assert.equal(server.names.length - before, 2, 'the third was never sent');
    assert.equal(await dns.lookup('45.9.9.2'), 'slow.example', 'from the cache');
    assert.equal(dns.stats().hits, 1);
    dns.close();
  });
});
