import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpipProcess, freePort, spipBin, type SpipEvent } from './spip-process.js';

/**
 * A test that fails half-way must not leave a sensor running or a temp dir behind: whatever
 * is still here when the test process exits is killed and deleted.
 */
const leftovers = { dirs: new Set<string>(), children: new Set<ChildProcess>() };
process.once('exit', () => {
  for (const child of leftovers.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of leftovers.dirs) rmSync(dir, { recursive: true, force: true });
});

async function robustTempDir(prefix = 'spip-robust-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  leftovers.dirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  leftovers.dirs.delete(dir);
}

export interface SpipOptions {
  env?: Record<string, string>;
  /** Wait for "sensor started" (default) or return at once, for startup-failure tests. */
  waitStarted?: boolean;
}

/**
 * A real `spip` with `name`, `ip` and `port` set and `extra` appended. Unlike startSpip it
 * sets no timeouts of its own: each test states the limits it is about.
 */
export async function launchSpip(extra: string, options: SpipOptions = {}): Promise<SpipProcess> {
  const port = await freePort();
  return spawnSpip(`name = "robust-sensor"\nip = "127.0.0.1"\nport = ${port}\n${extra}\n`, [port], options);
}

/** Runs spip on a config text as given (which may be invalid). */
export async function spawnSpip(configText: string, ports: number[], options: SpipOptions = {}): Promise<SpipProcess> {
  const dir = await robustTempDir();
  const path = join(dir, 'config.toml');
  await writeFile(path, configText);
  const child = spawn(process.execPath, [spipBin, '-config', path], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  leftovers.children.add(child);
  child.once('close', () => leftovers.children.delete(child));
  const spip = new SpipProcess(child, dir, ports);
  if (options.waitStarted ?? true) await spip.until(() => spip.logs.some((l) => l.msg === 'sensor started'), 'spip to start', 20_000);
  return spip;
}

/** Waits for the process to end (SIGKILL after `timeoutMs`) and returns its exit code. */
export async function exitOf(spip: SpipProcess, timeoutMs = 20_000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (spip.exitCode === undefined) {
    if (Date.now() > deadline) {
      spip.child.kill('SIGKILL');
      throw new Error(`spip did not exit within ${timeoutMs} ms; stderr:\n${spip.stderrText.slice(-3000)}`);
    }
    await sleep(20);
  }
  return spip.exitCode;
}

/** Stops the sensor if it still runs and deletes its directory; safe to call twice. */
export async function disposeSpip(spip: SpipProcess | undefined): Promise<void> {
  if (spip === undefined) return;
  if (spip.exitCode === undefined) {
    spip.child.kill('SIGTERM');
    await exitOf(spip).catch(() => undefined);
  }
  await removeTempDir(spip.dir);
}

/** Every event line of a file written by `log_file` (none if the file does not exist). */
export async function readEventFile(path: string): Promise<SpipEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as SpipEvent);
}

/** Resident set size of a process, in KiB, from /proc/<pid>/status. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One raw TCP client. It records what the sensor sent and when the sensor closed, so that
 * a test can tell "closed by the sensor after N seconds" from "still open".
 */
export class RawClient {
  readonly openedAt = Date.now();
  /** Read once connected: a destroyed socket no longer knows it. */
  localPort = 0;
  /** The sensor's FIN (or a reset) reached us. */
  endedAt: number | undefined;
  private readonly chunks: Buffer[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('end', () => {
      this.endedAt ??= Date.now();
    });
    socket.on('error', () => {
      this.endedAt ??= Date.now();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.endedAt ??= Date.now();
      resolve();
    }));
  }

  static connect(port: number, options: { localAddress?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: after the sensor's FIN we still see what it does, instead of Node
      // ending our side for us.
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) });
      const client = new RawClient(socket);
      socket.once('connect', () => {
        client.localPort = socket.localPort ?? 0;
        socket.off('error', reject);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves when the sensor has ended the connection; rejects after `timeoutMs`. */
  async ended(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.endedAt === undefined) {
      if (Date.now() > deadline) throw new Error(`the sensor did not close the connection from port ${this.localPort} within ${timeoutMs} ms`);
      await sleep(10);
    }
    return this.endedAt - this.openedAt;
  }

  write(data: Uint8Array | string): Promise<void> {
    return new Promise((resolve) => this.socket.write(data, () => resolve()));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends one plain HTTP request and returns the whole answer (the sensor closes after it). */
export async function httpExchange(port: number, request = 'GET / HTTP/1.1\r\nHost: sensor\r\n\r\n'): Promise<{ answer: string; sourcePort: number }> {
  const client = await RawClient.connect(port);
  await client.write(request);
  await client.ended(10_000);
  client.destroy();
  await client.closed;
  return { answer: client.received.toString('latin1'), sourcePort: client.localPort };
}

/** spip_active_connections from the sensor's /metrics (needs metrics_listen_address). */
async function activeConnections(spip: SpipProcess): Promise<number> {
  const line = spip.logs.find((l) => l.msg === 'metrics listening');
  if (line === undefined) throw new Error('metrics_listen_address is not set for this sensor');
  const text = await (await fetch(`http://127.0.0.1:${String(line.port)}/metrics`)).text();
  const match = /^spip_active_connections (\d+)$/m.exec(text);
  if (match === null) throw new Error('no spip_active_connections in /metrics');
  return Number(match[1]);
}

/** Polls until the sensor holds exactly `count` connections. */
export async function untilActive(spip: SpipProcess, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: number;
  while ((seen = await activeConnections(spip)) !== count) {
    if (Date.now() > deadline) throw new Error(`spip_active_connections stayed at ${seen}, expected ${count}`);
    await sleep(25);
  }
}
