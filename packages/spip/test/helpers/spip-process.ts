import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const spipBin = fileURLToPath(new URL('../../../bin/spip.js', import.meta.url));

export type SpipEvent = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A real `spip` process: events (stdout) and diagnostics (stderr, JSON lines) collected. */
export class SpipProcess {
  readonly events: SpipEvent[] = [];
  readonly logs: { level: string; msg: string; [key: string]: unknown }[] = [];
  stderrText = '';
  exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess, readonly dir: string, readonly ports: number[]) {
    let rest = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) this.events.push(JSON.parse(line) as SpipEvent);
    });
    let errRest = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText += chunk;
      const lines = (errRest + chunk).split('\n');
      errRest = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as SpipProcess['logs'][number]);
        } catch {
          // not a log line
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('close', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  get port(): number {
    return this.ports[0] as number;
  }

  async until<T>(find: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline || this.exitCode !== undefined) throw new Error(`timed out waiting for ${what}; stderr:\n${this.stderrText.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The event of the connection whose client used `sourcePort`. */
  eventFrom(sourcePort: number, timeoutMs?: number): Promise<SpipEvent> {
    return this.until(() => this.events.find((e) => e.source?.port === sourcePort), `the event from source port ${sourcePort}`, timeoutMs);
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    const code = await this.exited;
    await rm(this.dir, { recursive: true, force: true });
    return code;
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts spip with `extra` TOML appended to a base config on fresh loopback ports and waits
 * until it accepts connections.
 */
export async function startSpip(extra = '', options: { ports?: number; env?: Record<string, string> } = {}): Promise<SpipProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'spip-test-'));
  const ports: number[] = [];
  for (let i = 0; i < (options.ports ?? 1); i++) ports.push(await freePort());
  const config = `name = "test-sensor"
ip = "127.0.0.1"
port = ${ports[0]}
ports = [${ports.slice(1).join(', ')}]
${extra.includes('first_byte_timeout_seconds') ? '' : 'first_byte_timeout_seconds = 2'}
${extra.includes('read_timeout_seconds') ? '' : 'read_timeout_seconds = 2'}
${extra}`;
  const path = join(dir, 'config.toml');
  await writeFile(path, config);
  const child = spawn(process.execPath, [spipBin, '-config', path], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spip = new SpipProcess(child, dir, ports);
  await spip.until(() => spip.logs.some((l) => l.msg === 'sensor started'), 'spip to start');
  return spip;
}
