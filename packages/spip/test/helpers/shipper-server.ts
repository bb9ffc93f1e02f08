import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (compressed when Content-Encoding is gzip). */
  rawBytes: number;
  /** The body after decompression. */
  body: Buffer;
  events: Record<string, unknown>[];
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Responder = (request: ReceivedRequest, index: number) => Reply;

/**
 * A Loom stand-in on a real node:http server: it records every request, answers with
 * whatever the test's responder says, and keeps the events of requests answered 2xx.
 */
export class IngestServer {
  readonly requests: ReceivedRequest[] = [];
  readonly accepted: Record<string, unknown>[] = [];
  respond: Responder = () => ({ status: 204 });
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private waiters: (() => void)[] = [];
  port = 0;

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        let events: Record<string, unknown>[];
        try {
          events = JSON.parse(body.toString('utf8')) as Record<string, unknown>[];
        } catch {
          events = [];
        }
        const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBytes: raw.length, body, events, at: Date.now() };
        this.requests.push(request);
        const reply = this.respond(request, this.requests.length - 1);
        if (reply.status >= 200 && reply.status < 300) this.accepted.push(...events);
        const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status, { ...(text === '' ? {} : { 'Content-Type': 'application/json' }), ...reply.headers });
        res.end(text);
        this.notify();
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(port = 0): Promise<IngestServer> {
    const s = new IngestServer();
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/v1/ingest`;
  }

  ids(): string[] {
    return this.accepted.map((e) => String(e.id));
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.requests.length} requests, ${this.accepted.length} events accepted)`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** Stops listening and cuts every open connection, as a crashed server would. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Polls until predicate() holds. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

/** A log function for the shipper that keeps what it is given. */
export function collectLogs(): { entries: LogEntry[]; log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void } {
  const entries: LogEntry[] = [];
  return { entries, log: (level, msg, fields) => entries.push({ level, msg, fields }) };
}
