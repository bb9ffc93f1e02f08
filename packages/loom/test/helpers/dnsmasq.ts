import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DnsmasqOptions {
  /** --host-record values, "name,address[,address…]": each gives forward records and the PTR. */
  hostRecords?: string[];
  /** --ptr-record values, "reverse-name,target", for PTRs without a forward record. */
  ptrRecords?: string[];
}

/**
 * A real dnsmasq answering on 127.0.0.1 (UDP and TCP) from the given records only. Every
 * other name under in-addr.arpa, ip6.arpa and test gets NXDOMAIN; nothing is forwarded.
 */
export interface Dnsmasq {
  readonly port: number;
  /** "127.0.0.1:port", as a resolver address. */
  readonly address: string;
  readonly pid: number;
  /**
   * The names of every query dnsmasq has received so far, oldest first. It first makes a
   * query of its own and waits for it in the log, so that everything asked before the call
   * is in the list.
   */
  queries(): Promise<string[]>;
  /** Stops dnsmasq by its PID and deletes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

const LOCAL_ZONES = ['in-addr.arpa', 'ip6.arpa', 'test'];
const leftovers = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [child, dir] of leftovers) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  let lastError: unknown;
  // The port is free when chosen but dnsmasq binds it a moment later; another process may
  // take it in between, so a failed start is retried on a new port.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startOnce(await freeUdpTcpPort(), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(port: number, options: DnsmasqOptions): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), 'loom-dnsmasq-'));
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    '--log-facility=-',
    '--log-queries',
    ...LOCAL_ZONES.map((zone) => `--local=/${zone}/`),
    ...(options.hostRecords ?? []).map((record) => `--host-record=${record}`),
    ...(options.ptrRecords ?? []).map((record) => `--ptr-record=${record}`),
  ];
  const child = spawn(dnsmasqBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  leftovers.set(child, dir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log += chunk;
  });
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? 0));
    child.once('error', (error) => reject(new Error(`cannot run dnsmasq (apt-get install dnsmasq-base): ${error.message}`)));
  }).catch(async (error: unknown) => {
    leftovers.delete(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        signal(spawned, 'SIGTERM');
        const killer = setTimeout(() => signal(spawned, 'SIGKILL'), 2000);
        await exited;
        clearTimeout(killer);
      }
      leftovers.delete(child);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  let markers = 0;
  /** Asks for a name that exists nowhere and waits until the log shows dnsmasq received it. */
  const mark = async (deadline: number): Promise<string> => {
    const name = `marker-${++markers}.test`;
    while (true) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dnsmasq exited:\n${log}`);
      try {
        await resolver.resolvePtr(name);
      } catch {
        // NXDOMAIN is the expected answer; a timeout means "not listening yet".
      }
      if (log.includes(`] ${name} from`)) return name;
      if (Date.now() > deadline) throw new Error(`dnsmasq on port ${port} did not answer:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  try {
    await mark(Date.now() + 5000);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    port,
    address: `127.0.0.1:${port}`,
    pid: spawned,
    async queries() {
      await mark(Date.now() + 5000);
      const names: string[] = [];
      for (const match of log.matchAll(/query\[\w+\] (\S+) from/g)) {
        const name = match[1] ?? '';
        if (!/^marker-\d+\.test$/.test(name)) names.push(name);
      }
      return names;
    },
    stop,
  };
}

/** dnsmasq lives in /usr/sbin, which is not on every user's PATH. */
function dnsmasqBinary(): string {
  return existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';
}

/** The process may have exited between the check and the signal. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** A loopback port that is free for both UDP and TCP at the moment of asking. */
async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error('no loopback port free for both UDP and TCP');
}
