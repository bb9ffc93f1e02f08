import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './http.js';

/** A real redis-server on 127.0.0.1 with nothing persisted, stoppable and restartable on the same port. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: no goodbye to clients, as when a host dies). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why the Redis tests cannot run here, or undefined when redis-server is installed. */
export function redisUnavailable(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0 ? undefined : 'redis-server is not installed (apt-get install redis-server)';
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  let lastError: unknown;
  // The port is free when chosen but redis-server binds it a moment later; retry on another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      let child = await spawnRedis(port, options.password);
      const server: RedisServer = {
        port,
        url: `redis://127.0.0.1:${port}`,
        kill: () => killChild(child),
        async restart() {
          await killChild(child);
          child = await spawnRedis(port, options.password);
        },
        stop: () => killChild(child),
      };
      return server;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function spawnRedis(port: number, password: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice', ...(password === undefined ? [] : ['--requirepass', password])];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  child.stdout?.resume();
  return child;
}

async function killChild(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
