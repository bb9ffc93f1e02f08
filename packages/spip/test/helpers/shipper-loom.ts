import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const loomBin = fileURLToPath(new URL('../../../../loom/bin/loom.js', import.meta.url));

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

const leftovers = { dirs: new Set<string>(), children: new Set<ChildProcess>() };
process.once('exit', () => {
  for (const child of leftovers.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of leftovers.dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir deleted when the test process exits. */
export async function shipperTempDir(prefix = 'spip-shipper-loom-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  leftovers.dirs.add(dir);
  return dir;
}

export interface LoomOptions {
  /** 0: an ephemeral port. */
  port: number;
  env: Record<string, string>;
  /** Extra lines for [server] (TLS) and [auth]. */
  server?: string;
  auth?: string;
}

/** The real `loom` process: events from its stdout, JSON logs from its stderr. */
export class Loom {
  readonly events: Record<string, unknown>[] = [];
  readonly logs: LogLine[] = [];
  stderr = '';
  port = 0;
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (out + chunk).split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) if (line !== '') this.events.push(JSON.parse(line) as Record<string, unknown>);
    });
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      const lines = (err + chunk).split('\n');
      err = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const log = JSON.parse(line) as LogLine;
        this.logs.push(log);
        if (log.msg === 'ingest server listening (no TLS)' || log.msg === 'ingest server (HTTPS) listening') this.port = log.port as number;
      }
    });
    this.exited = new Promise((resolve) => child.once('close', (code) => {
      this.exitCode = code;
      resolve();
    }));
  }

  static async start(dir: string, options: LoomOptions): Promise<Loom> {
    const config = join(dir, 'loom.toml');
    await writeFile(config, `[server]
listen_address = "127.0.0.1:${options.port}"
management_listen_address = "127.0.0.1:0"
workers = 1
shutdown_timeout_seconds = 5
${options.server ?? ''}

[auth]
${options.auth ?? ''}

[limits]
per_sensor_rps = -1

[output]
type = "stdout"

[logging]
level = "info"
format = "json"
`);
    const child = spawn(process.execPath, [loomBin, '-config', config], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    leftovers.children.add(child);
    child.once('close', () => leftovers.children.delete(child));
    const loom = new Loom(child);
    await loom.until(() => loom.logs.some((l) => l.msg === 'loom started') || loom.exitCode !== undefined, 'loom started');
    if (loom.exitCode !== undefined) throw new Error(`loom exited (${loom.exitCode}):\n${loom.stderr}`);
    return loom;
  }

  url(scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}/api/v1/ingest`;
  }

  ids(): string[] {
    return this.events.map((e) => String((e.event as { id?: unknown } | undefined)?.id));
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; loom stderr:\n${this.stderr.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGTERM, then wait until it has exited and all of its stdout is read. */
  async stop(): Promise<number | null | undefined> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    await this.exited;
    return this.exitCode;
  }

  async kill(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    await this.exited;
  }
}
