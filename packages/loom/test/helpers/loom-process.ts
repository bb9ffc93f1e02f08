import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const loomBin = fileURLToPath(new URL('../../../bin/loom.js', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface StartOptions {
  /** loom.toml contents; written to a fresh temp dir. */
  toml?: string;
  /** Extra arguments instead of `-config <file>`. */
  args?: string[];
  env?: Record<string, string>;
  /** Resolve once the process logs this message (default: "loom started"). */
  readyMessage?: string;
  /** Working directory (default: the fresh temp dir). */
  cwd?: string;
}

/** A real `loom` process with its stdout (events) and stderr (JSON logs) collected. */
export class LoomProcess {
  readonly stdoutLines: string[] = [];
  readonly logs: LogLine[] = [];
  stderrText = '';
  ingestPort = 0;
  managementPort = 0;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess, readonly dir: string) {
    let stdoutRest = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (stdoutRest + chunk).split('\n');
      stdoutRest = parts.pop() ?? '';
      this.stdoutLines.push(...parts);
      this.notify();
    });
    let stderrRest = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText += chunk;
      const parts = (stderrRest + chunk).split('\n');
      stderrRest = parts.pop() ?? '';
      for (const part of parts) {
        if (!part.startsWith('{')) continue;
        try {
          const line = JSON.parse(part) as LogLine;
          this.logs.push(line);
          if (line.msg === 'ingest server listening (no TLS)' || line.msg === 'ingest server (HTTPS) listening') this.ingestPort = line.port as number;
          if (line.msg === 'management server listening') this.managementPort = line.port as number;
        } catch {
          // not a log line
        }
      }
      this.notify();
    });
    // 'close' rather than 'exit': only then has all of stdout been read, so tests that
    // look for events after the process ended see every line it wrote.
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => {
      if (stdoutRest !== '') this.stdoutLines.push(stdoutRest);
      stdoutRest = '';
      this.exitCode = code;
      this.exitSignal = signal;
      this.notify();
      resolve(code);
    }));
  }

  url(path = '/api/v1/ingest', scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.ingestPort}${path}`;
  }

  managementUrl(path: string): string {
    return `http://127.0.0.1:${this.managementPort}${path}`;
  }

  /** Waits until predicate() holds, re-checking on every output; fails with the stderr seen so far. */
  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${this.stderrText.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  hasLog(msg: string | RegExp): boolean {
    return this.logs.some((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  }

  waitForExit(timeoutMs = 20_000): Promise<number | null> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`loom did not exit in ${timeoutMs} ms; stderr:\n${this.stderrText.slice(-4000)}`)), timeoutMs).unref()),
    ]);
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    return this.waitForExit();
  }

  /** Kills the process if it is still running and deletes its temp dir; safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Log lines logged after the first `from` ones: lets a test look only at what its own step caused. */
  logsSince(from: number): LogLine[] {
    return this.logs.slice(from);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * A safety net for tests that fail half-way or never call cleanup(): when the test process
 * exits, every loom it started is killed and every temp dir made here is deleted.
 */
const leftovers = { dirs: new Set<string>(), children: new Set<ChildProcess>() };
process.once('exit', () => {
  for (const child of leftovers.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of leftovers.dirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix = 'loom-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  leftovers.dirs.add(dir);
  return dir;
}

/** Starts loom without waiting for anything; the caller decides what "ready" means. */
export async function spawnLoom(options: StartOptions = {}): Promise<LoomProcess> {
  const dir = await tempDir();
  let args = options.args ?? [];
  if (options.toml !== undefined) {
    const path = join(dir, 'loom.toml');
    await writeFile(path, options.toml);
    // A subcommand (check-config) has to stay the first argument.
    const command = args[0] !== undefined && !args[0].startsWith('-') ? args.slice(0, 1) : [];
    args = [...command, '-config', path, ...args.slice(command.length)];
  }
  const child = spawn(process.execPath, [loomBin, ...args], {
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  leftovers.children.add(child);
  child.once('close', () => leftovers.children.delete(child));
  return new LoomProcess(child, dir);
}

/** Starts loom and waits until it is serving (or has exited, for tests of startup errors). */
export async function startLoom(options: StartOptions = {}): Promise<LoomProcess> {
  const loom = await spawnLoom(options);
  const ready = options.readyMessage ?? 'loom started';
  await loom.until(() => loom.hasLog(ready) || loom.exitCode !== undefined, `"${ready}"`);
  return loom;
}

/**
 * A minimal config for tests: ephemeral ports, JSON logs, stdout output. Each argument
 * adds lines to its section, so a test sets only what it is about.
 */
export interface LoomRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs loom to completion (--version, check-config, startup errors) and returns what it
 * printed. The temp dir holding the config is deleted afterwards.
 */
export async function runLoom(options: StartOptions & { timeoutMs?: number } = {}): Promise<LoomRun> {
  const loom = await spawnLoom(options);
  try {
    const code = await loom.waitForExit(options.timeoutMs ?? 10_000);
    return { code, signal: loom.exitSignal, stdout: loom.stdoutLines.join('\n'), stderr: loom.stderrText };
  } finally {
    await loom.cleanup();
  }
}

export function baseToml(sections: { server?: string; limits?: string; output?: string; auth?: string; enrichment?: string; extra?: string } = {}): string {
  return `[server]
listen_address = "127.0.0.1:0"
management_listen_address = "127.0.0.1:0"
workers = 1
${sections.server ?? ''}

[auth]
${sections.auth ?? ''}

[limits]
${sections.limits ?? 'per_sensor_rps = -1'}

[output]
${sections.output ?? 'type = "stdout"'}

${sections.enrichment ?? noEnrichment}

[logging]
level = "info"
format = "json"

[observability]
metrics_enabled = true
${sections.extra ?? ''}`;
}

/**
 * Enrichment off, so that tests of the ingest path can compare events byte for byte; the
 * enrichment tests pass their own [enrichment] sections.
 */
export const noEnrichment = `[enrichment]
geoip_db_path = ""
asn_db_path = ""

[enrichment.risk]
enabled = false`;

/** A Spip-style event, as the Go test fixture describes it. */
export function spipEvent(i = 0, sourceIp = '167.94.146.54'): Record<string, unknown> {
  return {
    '@timestamp': '2026-02-15T19:47:09Z',
    event: { id: `5c3f0d5e-7a0e-4c4b-9a51-${String(i).padStart(12, '0')}`, ingested_by: 'spip', summary: 'GET /.well-known/security.txt' },
    source: { ip: sourceIp, port: 4496 },
    destination: { ip: '5.175.183.132', port: 6379 },
    host: { name: 'spip-001' },
    observer: { hostname: 'spip-001', id: 'spip-001' },
    network: { transport: 'tcp', protocol: 'tls' },
  };
}
