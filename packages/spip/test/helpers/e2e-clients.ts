import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import tls from 'node:tls';

export interface ClientResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a real client to completion with `input` on its stdin (closed afterwards, so clients
 * that read stdin see EOF) and kills it if it outlives `timeoutMs`, so a hung client fails
 * the test instead of leaving a process behind.
 */
export function runClient(command: string, args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<ClientResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (timedOut) reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${result.stderr.slice(-2000)}`));
      else resolve(result);
    });
  });
}

function onPath(binary: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

const aptPackage: Record<string, string> = { ssh: 'openssh-client', ncat: 'ncat', nmap: 'nmap', tshark: 'tshark', curl: 'curl', openssl: 'openssl' };

/** A skip reason naming the missing client binaries, or undefined when all are installed. */
export function missing(...binaries: string[]): string | undefined {
  const absent = binaries.filter((b) => !onPath(b));
  if (absent.length === 0) return undefined;
  const packages = absent.map((b) => aptPackage[b] ?? b).join(' ');
  return `${absent.join(', ')} not installed (CI installs ${absent.length > 1 ? 'them' : 'it'}: apt-get install ${packages})`;
}

/** Every value event.action can take. */
export const actions = new Set([
  'connect-only', 'timeout', 'payload', 'http', 'ssh',
  'tls-handshake', 'tls-clienthello-only', 'tls-handshake-failed',
  'rate-limited', 'connection-limit',
]);

/** Community ID v1: "1:" and the Base64 of a 20-byte SHA-1. */
export const communityIdPattern = /^1:[A-Za-z0-9+/]{27}=$/;

/** ISO 8601 in UTC with milliseconds, as Date#toISOString writes it. */
export const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/**
 * Sends `data` over a raw (or TLS) socket and collects the reply until `replyBytes` arrived,
 * then closes its side and waits for the sensor to close. Resolves with the reply and the
 * client's source port, which names the connection's event.
 */
export function exchange(port: number, data: string | Buffer, options: { tls?: boolean; replyBytes: number; timeoutMs?: number }): Promise<{ reply: string; sourcePort: number }> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = options.tls === true
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => socket.write(data))
      : net.connect({ host: '127.0.0.1', port }, () => socket.write(data));
    const chunks: Buffer[] = [];
    let received = 0;
    let sourcePort = 0;
    socket.on('connect', () => {
      sourcePort = socket.localPort ?? 0;
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply of ${options.replyBytes} bytes from port ${port} within ${options.timeoutMs ?? 10_000} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= options.replyBytes) socket.end();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), sourcePort });
    });
  });
}
