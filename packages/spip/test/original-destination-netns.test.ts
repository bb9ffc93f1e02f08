// Real iptables REDIRECT, inside a private network namespace so the host's
// rules and ports are never touched: the sensor-side view of peer tests 10–11.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { originalDestinationAvailable, type Endpoint } from '../src/original-destination.js';

// The namespace owns its whole port space, so the well-known ports attackers
// probe can be redirected for real.
const DIALLED_PORTS = [22, 80, 443, 3306, 5432, 8443, 9443];
const REDIRECTED_RANGE = '1:9999';
const LISTEN_PORT = 10000;

interface Listener {
  host: string;
  ipv6Only: boolean;
}
interface Target {
  host: string;
  port: number;
}
interface Outcome extends Target {
  result?: { endpoint: Endpoint; redirected: boolean };
  error?: string;
}

// Runs inside the namespace: listens, dials every target, and prints what the
// server side saw for each connection.
const SCRIPT = `
import net from 'node:net';
import { once } from 'node:events';
const { originalDestination, originalDestinationAvailable } = await import(process.argv[2]);
const { listeners, port, targets } = JSON.parse(process.argv[3]);
const servers = [];
for (const { host, ipv6Only } of listeners) {
  const server = net.createServer((socket) => socket.end(JSON.stringify(originalDestination(socket))));
  server.listen({ host, port, ipv6Only });
  await once(server, 'listening');
  servers.push(server);
}
const outcomes = [];
for (const target of targets) {
  const socket = net.connect(target);
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk) => (text += chunk));
  try {
    await once(socket, 'end');
    outcomes.push({ ...target, result: JSON.parse(text) });
  } catch (err) {
    outcomes.push({ ...target, error: String(err) });
  }
  socket.destroy();
}
for (const server of servers) server.close();
console.log(JSON.stringify({ available: originalDestinationAvailable, outcomes }));
`;

const MODULE_URL = new URL('../src/original-destination.js', import.meta.url).href;

function run(command: string, args: string[]): { ok: boolean; missing: boolean; output: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { ok: r.status === 0, missing, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

describe('original destination behind iptables REDIRECT (network namespace)', () => {
  const namespace = `spip-od-${randomBytes(4).toString('hex')}`;
  const workDir = mkdtempSync(join(tmpdir(), 'spip-od-'));
  const script = join(workDir, 'probe.mjs');
  let created = false;
  let skipReason: string | undefined;
  let ipv6SkipReason: string | undefined;

  const inNamespace = (...args: string[]) => run('ip', ['netns', 'exec', namespace, ...args]);

  function setUp(): string | undefined {
    if (process.platform !== 'linux') return 'network namespaces and iptables are Linux-only';
    if (process.getuid?.() !== 0) return 'needs root to create a network namespace and add iptables rules';
    for (const [tool, flag] of [['ip', '-V'], ['iptables', '--version'], ['ip6tables', '--version']] as const) {
      if (run(tool, [flag]).missing) return `${tool} is not installed (apt-get install iptables iproute2)`;
    }
    const add = run('ip', ['netns', 'add', namespace]);
    if (!add.ok) return `cannot create a network namespace: ${add.output}`;
    created = true;
    const lo = inNamespace('ip', 'link', 'set', 'lo', 'up');
    if (!lo.ok) return `cannot bring up loopback in the namespace: ${lo.output}`;
    // OUTPUT because the clients are local; production uses PREROUTING.
    const rule = (destination: string) =>
      ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', destination, '--dport', REDIRECTED_RANGE, '-j', 'REDIRECT', '--to-ports', String(LISTEN_PORT)];
    const v4 = inNamespace('iptables', ...rule('127.0.0.1'));
    if (!v4.ok) return `iptables cannot add a nat REDIRECT rule (kernel without nat support?): ${v4.output}`;
    const v6 = inNamespace('ip6tables', ...rule('::1'));
    if (!v6.ok) ipv6SkipReason = `ip6tables cannot add a nat REDIRECT rule: ${v6.output}`;
    writeFileSync(script, SCRIPT);
    return undefined;
  }

  before(() => {
    skipReason = setUp();
  });

  after(() => {
    if (created) run('ip', ['netns', 'del', namespace]);
    rmSync(workDir, { recursive: true, force: true });
  });

  function probe(listeners: Listener[], targets: Target[]): Outcome[] {
    const r = inNamespace(process.execPath, script, MODULE_URL, JSON.stringify({ listeners, port: LISTEN_PORT, targets }));
    assert.ok(r.ok, `probe script failed: ${r.output}`);
    const report = JSON.parse(r.output) as { available: boolean; outcomes: Outcome[] };
    assert.ok(report.available, 'the native addon did not load: `npm install` builds it (packages/spip/native/README.md)');
    return report.outcomes;
  }

  function skipped(t: TestContext, needsIPv6 = false): boolean {
    const reason = skipReason ?? (needsIPv6 ? ipv6SkipReason : undefined);
    if (reason !== undefined) t.skip(reason);
    return reason !== undefined;
  }

  const dialled = (host: string): Target[] => DIALLED_PORTS.map((port) => ({ host, port }));
  const expectRedirected = (outcomes: Outcome[], family: 4 | 6): void => {
    assert.deepEqual(
      outcomes,
      outcomes.map(({ host, port }) => ({ host, port, result: { endpoint: { address: host, port, family }, redirected: true } })),
    );
  };

  test('the addon is loaded where the namespace test can run', (t) => {
    if (skipped(t)) return;
    assert.ok(originalDestinationAvailable, 'the native addon did not load: `npm install` builds it (packages/spip/native/README.md)');
  });

  test('IPv4: every redirected port comes back as dialled', (t) => {
    if (skipped(t)) return;
    expectRedirected(probe([{ host: '0.0.0.0', ipv6Only: false }], dialled('127.0.0.1')), 4);
  });

  test('IPv6: every redirected port comes back as dialled', (t) => {
    if (skipped(t, true)) return;
    expectRedirected(probe([{ host: '::', ipv6Only: true }], dialled('::1')), 6);
  });

  test('a dual-stack listener reports IPv4 and IPv6 clients by their own family', (t) => {
    if (skipped(t, true)) return;
    const outcomes = probe([{ host: '::', ipv6Only: false }], [...dialled('127.0.0.1'), ...dialled('::1')]);
    expectRedirected(outcomes.slice(0, DIALLED_PORTS.length), 4);
    expectRedirected(outcomes.slice(DIALLED_PORTS.length), 6);
  });

  test('a direct connection to the listening port is not redirected', (t) => {
    if (skipped(t)) return;
    const direct: Target[] = [{ host: '127.0.0.1', port: LISTEN_PORT }];
    const listeners: Listener[] = [{ host: '0.0.0.0', ipv6Only: false }];
    if (ipv6SkipReason === undefined) {
      direct.push({ host: '::1', port: LISTEN_PORT });
      listeners.push({ host: '::', ipv6Only: true });
    }
    const outcomes = probe(listeners, direct);
    assert.deepEqual(
      outcomes,
      direct.map(({ host, port }) => ({
        host,
        port,
        result: { endpoint: { address: host, port, family: host.includes(':') ? 6 : 4 }, redirected: false },
      })),
    );
  });
});
