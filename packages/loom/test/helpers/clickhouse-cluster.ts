import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, request } from './http.js';
import { serverConfigXml } from './clickhouse-server.js';

/**
 * One ZooKeeper and two ClickHouse servers (Debian's clickhouse-server 18.16 or newer) forming
 * the cluster `loom_cluster`: one shard with two replicas, each server with its own temp dir,
 * loopback ports, `{shard}`/`{replica}` macros and ON CLUSTER support. Each server has a
 * `default` user without password and a `loom` user with a password whose profile sets
 * insert_distributed_sync = 1, as docs/SCALING.md recommends.
 */
export interface ClickHouseCluster {
  readonly nodes: readonly [ClusterNode, ClusterNode];
  readonly user: string;
  readonly password: string;
  /** Stops every process and deletes the temp dirs; safe to call twice. */
  stop(): Promise<void>;
}

export interface ClusterNode {
  /** `http://127.0.0.1:<http port>` */
  readonly url: string;
  readonly replica: string;
  /** Runs one statement as `default`; rejects with ClickHouse's message on an error status. */
  query(sql: string): Promise<string>;
  /** Runs a SELECT and returns its rows (JSONEachRow, 64-bit integers as numbers). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

export const CLUSTER_NAME = 'loom_cluster';
const PASSWORD = 'loom-cluster-Secret-41c9';
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const JAVA = '/usr/bin/java';
const CLICKHOUSE_SERVERS = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'];

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Why the cluster cannot run on this machine, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  if (!existsSync(JAVA) || !existsSync(ZOOKEEPER_JAR)) return `ZooKeeper is not installed (${ZOOKEEPER_JAR} and ${JAVA} are needed): apt-get install zookeeper`;
  if (CLICKHOUSE_SERVERS.every((path) => !existsSync(path))) return 'clickhouse-server is not installed: apt-get install clickhouse-server';
  return undefined;
}

export async function startClickHouseCluster(): Promise<ClickHouseCluster> {
  const binary = CLICKHOUSE_SERVERS.find((path) => existsSync(path));
  if (binary === undefined || clusterUnavailable() !== undefined) throw new Error(clusterUnavailable());
  let lastError: unknown;
  // Ports are free when chosen and taken a moment later; someone else may take one in
  // between, so a failed start is retried on new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'loom-ch-cluster-'));
    dirs.add(dir);
    const zookeeperPort = await freePort();
    const ports: [Ports, Ports] = [await freePorts(), await freePorts()];
    const cluster = new Cluster(dir, zookeeperPort, ports);
    try {
      await cluster.start(binary);
      return cluster;
    } catch (error) {
      lastError = error;
      await cluster.stop();
    }
  }
  throw lastError;
}

interface Ports {
  http: number;
  tcp: number;
  interserver: number;
}

async function freePorts(): Promise<Ports> {
  return { http: await freePort(), tcp: await freePort(), interserver: await freePort() };
}

class Cluster implements ClickHouseCluster {
  readonly user = 'loom';
  readonly password = PASSWORD;
  readonly nodes: [Node, Node];
  private readonly processes: Process[] = [];
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly zookeeperPort: number,
    private readonly ports: [Ports, Ports],
  ) {
    this.nodes = [new Node(join(dir, 'clickhouse-1'), 'replica-1', ports[0]), new Node(join(dir, 'clickhouse-2'), 'replica-2', ports[1])];
  }

  async start(binary: string): Promise<void> {
    // ZooKeeper first: a ClickHouse 18.16 that started without it keeps failing ON CLUSTER
    // queries (and crashed on one) although ZooKeeper comes up a moment later.
    await this.startZooKeeper(this.zookeeperPort);
    await Promise.all(
      this.nodes.map(async (node) => {
        await node.writeConfig(this.zookeeperPort, this.ports);
        this.processes.push(await node.start(binary));
      }),
    );
  }

  private async startZooKeeper(port: number): Promise<void> {
    const dir = join(this.dir, 'zookeeper');
    await mkdir(join(dir, 'data'), { recursive: true });
    const config = join(dir, 'zoo.cfg');
    await writeFile(
      config,
      [
        'tickTime=500',
        `dataDir=${dir}/data`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        // No fsync per transaction: the data dir is thrown away after the run.
        'forceSync=no',
        '',
      ].join('\n'),
    );
    const args = ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', ZOOKEEPER_JAR, 'org.apache.zookeeper.server.ZooKeeperServerMain', config];
    const zookeeper = await Process.spawn('zookeeper', JAVA, args, dir);
    this.processes.push(zookeeper);
    await zookeeper.until(() => serving(port), `ZooKeeper on 127.0.0.1:${port}`, 20_000);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.processes.map((p) => p.kill()));
    dirs.delete(this.dir);
    await rm(this.dir, { recursive: true, force: true });
  }
}

class Node implements ClusterNode {
  readonly url: string;

  constructor(
    private readonly dir: string,
    readonly replica: string,
    private readonly ports: Ports,
  ) {
    this.url = `http://127.0.0.1:${ports.http}`;
  }

  async writeConfig(zookeeperPort: number, all: Ports[]): Promise<void> {
    const dir = this.dir;
    for (const sub of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) await mkdir(join(dir, sub), { recursive: true });
    const replicas = all.map((p) => `<replica><host>127.0.0.1</host><port>${p.tcp}</port></replica>`).join('\n        ');
    await writeFile(
      join(dir, 'config.xml'),
      serverConfigXml(dir, this.ports, 'debug', `  <interserver_http_port>${this.ports.interserver}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zookeeperPort}</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <macros><shard>01</shard><replica>${this.replica}</replica></macros>
  <remote_servers>
    <${CLUSTER_NAME}>
      <shard>
        <internal_replication>true</internal_replication>
        ${replicas}
      </shard>
    </${CLUSTER_NAME}>
  </remote_servers>
`),
    );
    await writeFile(
      join(dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>2000000000</max_memory_usage></default>
    <loom><max_memory_usage>2000000000</max_memory_usage><insert_distributed_sync>1</insert_distributed_sync></loom>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <loom><password>${PASSWORD}</password><networks><ip>127.0.0.1</ip></networks>
      <profile>loom</profile><quota>default</quota></loom>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
  }

  async start(binary: string): Promise<Process> {
    const server = await Process.spawn('clickhouse-server', binary, [`--config-file=${join(this.dir, 'config.xml')}`], this.dir);
    try {
      await server.until(async () => {
        const reply = await request(`${this.url}/ping`, undefined, { method: 'GET', agent: false, timeoutMs: 2_000 });
        return reply.status === 200;
      }, `clickhouse-server on ${this.url}`, 20_000);
      await this.ddlQueueReady(server);
    } catch (error) {
      await server.kill();
      const log = await readFile(join(this.dir, 'log', 'server.err.log'), 'utf8').catch(() => '');
      throw new Error(`${(error as Error).message}\n${log.slice(-4000)}`, { cause: error });
    }
    return server;
  }

  /**
   * ClickHouse 18.16 answers /ping before its ON CLUSTER worker has its ZooKeeper session,
   * and an ON CLUSTER query in that window crashes the server (a null session). The worker's
   * debug log says when it waits for queue entries; newer servers, which log it differently
   * and have no such window, go on after a few seconds.
   */
  private async ddlQueueReady(server: Process): Promise<void> {
    const log = join(this.dir, 'log', 'server.log');
    await server
      .until(async () => /DDLWorker: Waiting a watch/.test(await readFile(log, 'utf8')), `the ON CLUSTER worker of ${this.url}`, 5_000)
      .catch(() => undefined);
  }

  async query(sql: string, settings: Record<string, string> = {}): Promise<string> {
    const reply = await request(`${this.url}/?${new URLSearchParams(settings).toString()}`, sql, { agent: false, timeoutMs: 30_000 });
    if (reply.status !== 200) throw new Error(`ClickHouse ${this.replica} ${reply.status} for ${sql.slice(0, 200)}: ${reply.text}`);
    return reply.text;
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`, { output_format_json_quote_64bit_integers: '0' });
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as T);
  }
}

/** A child process whose stderr is kept for error messages. */
class Process {
  private stderr = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly name: string,
    private readonly child: ChildProcess,
  ) {
    children.add(child);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => {
      children.delete(child);
      resolve();
    }));
  }

  static async spawn(name: string, command: string, args: string[], cwd: string): Promise<Process> {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    });
    return new Process(name, child);
  }

  /** Polls check() until it holds; fails when the process exits or the time is up. */
  async until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited while starting ${what}:\n${this.stderr}`);
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGKILL: nothing here needs a clean shutdown, and a graceful ClickHouse one waits for idle connections. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * ZooKeeper's "srvr" four-letter command names the server's mode once it serves sessions;
 * "ruok" says "imok" earlier, while the server still closes every new session.
 */
function serving(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end('srvr'));
    socket.setEncoding('utf8');
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(/^Mode: /m.test(answer)));
  });
}
