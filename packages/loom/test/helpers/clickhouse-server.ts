import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './http.js';

/**
 * A real ClickHouse server (Debian's clickhouse-server 18.16 or newer) in a temp dir,
 * listening on loopback ports of its own, with a `default` user without password and a
 * `loom` user with one.
 */
export interface ClickHouseServer {
  /** `http://127.0.0.1:<http port>` */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** Runs one statement as `default` and returns the body; rejects with ClickHouse's message on an error status. */
  query(sql: string, settings?: Record<string, string>): Promise<string>;
  /** Runs a SELECT and returns its rows (JSONEachRow, 64-bit integers as numbers). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * SIGSTOP, resolving once every thread of the server has stopped: the kernel still accepts
   * connections, nothing answers.
   */
  pause(): Promise<void>;
  resume(): void;
  /**
   * Kills the server (as a crash would: every acknowledged insert is on disk) and keeps its
   * data; start() brings it back on the same ports. With SIGTERM it shuts down as a service
   * manager stops it, finishing or abandoning the queries in progress.
   */
  halt(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

const PASSWORD = 'loom-test-Secret-7f3a';
const leftovers = new Map<string, ChildProcess | undefined>();
process.once('exit', () => {
  for (const [dir, child] of leftovers) {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Whether /proc shows every thread of `pid` in the stopped state ("T"). */
async function allThreadsStopped(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`);
  for (const task of tasks) {
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue; // a thread that exited in between
    }
    // "pid (comm) S ...": the state follows the last ')' (comm may itself contain one).
    if (stat[stat.lastIndexOf(')') + 2] !== 'T') return false;
  }
  return true;
}

/** Where Debian and ClickHouse's own packages put the server. */
function serverBinary(): string {
  for (const path of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(path)) return path;
  throw new Error(
    'clickhouse-server is not installed (looked for /usr/sbin/clickhouse-server and /usr/bin/clickhouse-server). ' +
      'Install it with `apt-get install clickhouse-server clickhouse-client` (.ci/run does this); these tests need a real server.',
  );
}

export async function startClickHouse(): Promise<ClickHouseServer> {
  const binary = serverBinary();
  let lastError: unknown;
  // A port is free when chosen but taken by the server a moment later; another process may
  // take it in between, so a failed start is retried on new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'loom-clickhouse-'));
    leftovers.set(dir, undefined);
    const server = new Server(binary, dir, await freePort(), await freePort());
    try {
      await server.writeConfig();
      await server.start();
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw lastError;
}

class Server implements ClickHouseServer {
  readonly url: string;
  readonly user = 'loom';
  readonly password = PASSWORD;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly binary: string,
    private readonly dir: string,
    private readonly httpPort: number,
    private readonly tcpPort: number,
  ) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  async writeConfig(): Promise<void> {
    const dir = this.dir;
    for (const sub of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) await mkdir(join(dir, sub), { recursive: true });
    await writeFile(
      join(dir, 'config.xml'),
      serverConfigXml(dir, { http: this.httpPort, tcp: this.tcpPort }, 'warning'),
    );
    await writeFile(
      join(dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <loom><password>${PASSWORD}</password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></loom>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const child = spawn(this.binary, [`--config-file=${join(this.dir, 'config.xml')}`], { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    leftovers.set(this.dir, child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => reject(new Error(`cannot run ${this.binary}: ${error.message}`)));
    });
    const deadline = Date.now() + 15_000;
    while (true) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = undefined;
        throw new Error(`clickhouse-server exited during startup:\n${stderr}${await this.errorLog()}`);
      }
      try {
        const { status, body } = await get(`${this.url}/ping`);
        if (status === 200 && body.startsWith('Ok')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.halt();
        throw new Error(`clickhouse-server on ${this.url} did not answer /ping within 15 s:\n${stderr}${await this.errorLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * SIGKILL by default rather than SIGTERM: a graceful shutdown waits for every open
   * keep-alive connection (seconds), and a killed server is the harder case for a client anyway.
   */
  async halt(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill(signal);
      await this.exited;
    }
    this.child = undefined;
    leftovers.set(this.dir, undefined);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.halt();
    leftovers.delete(this.dir);
    await rm(this.dir, { recursive: true, force: true });
  }

  async pause(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('pause: the ClickHouse server is not running');
    this.child?.kill('SIGSTOP');
    // kill() returns once the signal is queued: the kernel wakes one thread, which then stops
    // the others. On a busy machine a handler thread can answer a request in between, so wait
    // until /proc shows every thread stopped.
    const deadline = Date.now() + 5000;
    while (!(await allThreadsStopped(pid))) {
      if (Date.now() > deadline) throw new Error(`pause: ClickHouse (pid ${pid}) did not stop within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async query(sql: string, settings: Record<string, string> = {}): Promise<string> {
    const { status, body } = await post(`${this.url}/?${new URLSearchParams(settings).toString()}`, sql);
    if (status !== 200) throw new Error(`ClickHouse ${status} for ${sql.slice(0, 200)}: ${body}`);
    return body;
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`, { output_format_json_quote_64bit_integers: '0' });
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as T);
  }

  private async errorLog(): Promise<string> {
    try {
      return `\n${await readFile(join(this.dir, 'log', 'server.err.log'), 'utf8')}`;
    } catch {
      return '';
    }
  }
}

interface Answer {
  status: number;
  body: string;
}

/**
 * One request on a connection of its own: a keep-alive connection left open by the helper
 * would show up in the server's connection count and delay its shutdown.
 */
function send(method: 'GET' | 'POST', url: string, body?: string): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = http.request(url, { method, agent: false, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url} timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}

const get = (url: string): Promise<Answer> => send('GET', url);
const post = (url: string, body: string): Promise<Answer> => send('POST', url, body);

/** The statements of an SQL file, for the HTTP interface (one statement per request). */
export function sqlStatements(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/**
 * config.xml of a test ClickHouse in `dir`, listening on loopback only; `extra` adds
 * elements (interserver port, ZooKeeper, macros, clusters) for replicated servers.
 */
export function serverConfigXml(dir: string, ports: { http: number; tcp: number }, logLevel: 'warning' | 'debug', extra = ''): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>${logLevel}</level><log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>53687091</mark_cache_size>
  <uncompressed_cache_size>53687091</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <timezone>UTC</timezone>
${extra}</yandex>
`;
}
