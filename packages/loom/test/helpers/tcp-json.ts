import { readFileSync, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnLoom, tempDir, type LoomProcess } from './loom-process.js';

/** The message schema of the black-box tests. */
export const messageSchemaPath = fileURLToPath(new URL('../../../test/fixtures/tcp-json/message_schema.json', import.meta.url));

export interface TcpJsonResponse {
  success: boolean;
  message: string;
}

/** A TCP client that collects the server's response lines. */
export class LineClient {
  readonly lines: string[] = [];
  private rest = '';
  private taken = 0;
  ended = false;
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    // Tests send messages in many small writes; Nagle would hold them back waiting for ACKs.
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.rest + chunk).split('\n');
      this.rest = parts.pop() ?? '';
      this.lines.push(...parts);
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static connect(port: number, options: { host?: string; localAddress?: string } = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: options.host ?? '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends each message followed by LF, all in one write. */
  sendMessages(messages: readonly unknown[]): void {
    this.send(messages.map((m) => `${typeof m === 'string' ? m : JSON.stringify(m)}\n`).join(''));
  }

  /** The next `count` responses (waiting for them), parsed. */
  async next(count = 1, timeoutMs = 5000): Promise<TcpJsonResponse[]> {
    await this.until(() => this.lines.length >= this.taken + count, `${count} responses (have ${this.lines.length - this.taken})`, timeoutMs);
    const lines = this.lines.slice(this.taken, this.taken + count);
    this.taken += count;
    return lines.map((line) => JSON.parse(line) as TcpJsonResponse);
  }

  /** Sends one message and returns its response. */
  async exchange(message: unknown): Promise<TcpJsonResponse> {
    this.sendMessages([message]);
    return (await this.next(1))[0] as TcpJsonResponse;
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${this.lines.slice(-5).join(' | ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Responses received but not yet taken with next(). */
  get unread(): number {
    return this.lines.length - this.taken;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface TcpJsonProcess {
  loom: LoomProcess;
  port: number;
  /** Where config.json, the logfile and the error log are. */
  dir: string;
  /** The logfile's lines. */
  logLines(name?: string): string[];
}

/** Writes config.json (paths relative to its directory) and starts `loom tcp-json -config` on it. */
export async function startTcpJson(config: Record<string, unknown>): Promise<TcpJsonProcess> {
  const dir = await tempDir('tcp-json-test-');
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config, null, 2));
  const loom = await spawnLoom({ args: ['tcp-json', '-config', path] });
  await loom.until(() => loom.hasLog('tcp-json listening') || loom.exitCode !== undefined, '"tcp-json listening"');
  const port = loom.logs.find((line) => line.msg === 'tcp-json listening')?.port;
  if (typeof port !== 'number') throw new Error(`loom tcp-json did not start:\n${loom.stderrText}`);
  return { loom, port, dir, logLines: (name = 'messages.log') => readLines(join(dir, name)) };
}

export function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
}

/** A config.json for the tests: each section's keys override the defaults given here. */
export function tcpJsonConfig(sections: { server?: Record<string, unknown>; logfile?: Record<string, unknown> | null; protocol?: Record<string, unknown>; errors?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    server_settings: { IP: '127.0.0.1', Port: 0, ...sections.server },
    ...(sections.logfile === null ? {} : { logfile_settings: { path: 'messages.log', fsync: true, ...sections.logfile } }),
    protocol_settings: { incoming_json_schema: messageSchemaPath, messages_per_ip_per_minute: 0, bad_message_blacklist_threshold: 0, ...sections.protocol },
    error_handling: { invalid_message: 'ignore', ...sections.errors },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
