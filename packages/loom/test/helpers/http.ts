import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { error?: unknown; message?: unknown } | undefined;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** PEM of a CA to trust: makes the request HTTPS. */
  ca?: Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** One request with node:http or node:https; the whole response body is read. */
export function request(url: string, body: string | Uint8Array | undefined, options: RequestOptions = {}): Promise<Reply> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, {
      method: options.method ?? 'POST',
      headers: options.headers,
      agent: options.agent,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
      });
    });
    req.on('error', reject);
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`no response from ${url}`)));
    req.end(body);
  });
}

function parseJson(text: string): Reply['json'] {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Reply['json'];
  } catch {
    return undefined;
  }
}

/** A port that was free a moment ago (for configs that cannot use port 0). */
export async function freePort(): Promise<number> {
  const server = await occupyPort();
  await server.close();
  return server.port;
}

/** Binds 127.0.0.1 on an ephemeral port and keeps it, so that loom finds it in use. */
export function occupyPort(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      const bound = (server.address() as net.AddressInfo).port;
      resolve({ port: bound, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

/**
 * A POST whose body is sent in two halves under the test's control. It sends
 * "Expect: 100-continue", so `accepted` resolves only once loom has parsed the headers and
 * run its handler up to reading the body: authentication, the rate limit and the shutdown
 * check have then happened, without the test having to guess a delay.
 */
export class SlowPost {
  readonly response: Promise<Reply>;
  readonly accepted: Promise<void>;
  private readonly req: http.ClientRequest;
  private readonly half: number;

  constructor(port: number, private readonly body: Buffer, headers: Record<string, string>, path = '/api/v1/ingest') {
    this.half = Math.floor(body.length / 2);
    this.req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      agent: false,
      headers: { ...headers, 'Content-Length': body.length, Expect: '100-continue' },
    });
    this.accepted = new Promise((resolve, reject) => {
      this.req.once('continue', () => this.req.write(body.subarray(0, this.half), () => resolve()));
      this.req.once('error', reject);
    });
    this.response = new Promise((resolve, reject) => {
      this.req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
        });
      });
      this.req.on('error', reject);
    });
    // Both promises may be left unobserved by a test that expects them to fail.
    this.accepted.catch(() => undefined);
    this.response.catch(() => undefined);
    this.req.flushHeaders();
  }

  /** Sends the second half of the body. */
  finish(): void {
    this.req.end(this.body.subarray(this.half));
  }

  abort(): void {
    this.req.destroy();
  }
}

export interface RawExchange {
  data: Buffer;
  /** The server closed (or reset) the connection before the client gave up. */
  closedByServer: boolean;
  error: string | undefined;
}

/**
 * Writes bytes to a plain TCP connection and collects whatever comes back. The exchange
 * ends when the server closes, or `quietMs` after the last byte received once at least one
 * complete response is in, or at `timeoutMs`. `closeEarly` closes right after writing,
 * as a client that gives up half-way would.
 */
export function rawExchange(
  port: number,
  chunks: readonly Buffer[],
  options: { quietMs?: number; timeoutMs?: number; closeEarly?: boolean; chunkDelayMs?: number } = {},
): Promise<RawExchange> {
  const { quietMs = 100, timeoutMs = 3000, closeEarly = false, chunkDelayMs = 0 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(hard);
      clearTimeout(quiet);
      socket.destroy();
      resolve({ data: Buffer.concat(received), closedByServer, error });
    };
    const hard = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      clearTimeout(quiet);
      if (parseResponses(Buffer.concat(received)).responses.length > 0) quiet = setTimeout(() => finish(false), quietMs);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => finish(true));
    socket.once('connect', () => {
      void (async () => {
        for (const chunk of chunks) {
          if (socket.destroyed) return;
          socket.write(chunk);
          if (chunkDelayMs > 0) await new Promise((r) => setTimeout(r, chunkDelayMs));
        }
        if (closeEarly) finish(false);
      })();
    });
  });
}

export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * Parses HTTP/1.1 responses strictly: status line, CRLF-terminated headers, and a body
 * framed by Content-Length or chunked encoding. Anything else is reported as malformed,
 * so that a test can tell a well-formed error response from garbage.
 */
export function parseResponses(data: Buffer): { responses: RawResponse[]; malformed: string | undefined; rest: number } {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (headEnd < 0) return { responses, malformed: undefined, rest: data.length - offset };
    const lines = data.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const match = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(statusLine);
    if (match === null) return { responses, malformed: `bad status line ${JSON.stringify(statusLine)}`, rest: 0 };
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(line.slice(0, colon))) {
        return { responses, malformed: `bad header line ${JSON.stringify(line)}`, rest: 0 };
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const status = Number(match[1]);
    let cursor = headEnd + 4;
    let body: Buffer = Buffer.alloc(0);
    const length = headers.get('content-length');
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      while (true) {
        const lineEnd = data.indexOf('\r\n', cursor, 'latin1');
        if (lineEnd < 0) return { responses, malformed: undefined, rest: data.length - offset };
        const size = Number.parseInt(data.subarray(cursor, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { responses, malformed: 'bad chunk size', rest: 0 };
        cursor = lineEnd + 2;
        if (size === 0) {
          if (data.length < cursor + 2) return { responses, malformed: undefined, rest: data.length - offset };
          cursor += 2;
          break;
        }
        if (data.length < cursor + size + 2) return { responses, malformed: undefined, rest: data.length - offset };
        parts.push(data.subarray(cursor, cursor + size));
        cursor += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (length !== undefined) {
      if (!/^\d+$/.test(length)) return { responses, malformed: `bad Content-Length ${length}`, rest: 0 };
      if (data.length < cursor + Number(length)) return { responses, malformed: undefined, rest: data.length - offset };
      body = data.subarray(cursor, cursor + Number(length));
      cursor += Number(length);
    } else {
      return { responses, malformed: `status ${status} without Content-Length or chunked framing`, rest: 0 };
    }
    responses.push({ statusLine, status, headers, body });
    offset = cursor;
  }
  return { responses, malformed: undefined, rest: 0 };
}
