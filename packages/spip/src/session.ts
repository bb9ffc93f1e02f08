import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ChunkReader } from './chunk-reader.js';
import { Deadlines } from './deadlines.js';
import type { SpipConfig } from './config/types.js';
import { newConnectionRecord, type ConnectionAction, type ConnectionRecord } from './event.js';
import { PayloadBuffer } from './payload-buffer.js';
import { parseHttpRequest, probeHttp, type HttpProbe, type HttpRequest } from './protocols/http/request.js';
import { parseKexInit, parseSshIdentification } from './protocols/ssh/ssh.js';
import { parseClientHello, probeClientHello } from './protocols/tls/client-hello.js';

export interface SessionContext {
  config: SpipConfig;
  /** Present when the sensor terminates TLS (a certificate is configured or generated). */
  secureContext: tls.SecureContext | undefined;
  destination: { address: string; port: number; redirected: boolean };
  /** Called exactly once, when the connection is over. */
  done: (record: ConnectionRecord) => void;
}

/**
 * One TCP connection, from accept to its single event. Every wait has a deadline (first
 * byte, TLS handshake, each read, the whole connection), every buffer has a cap, and the
 * parsers never throw, so nothing a client sends can stall or crash the sensor.
 */
export class Session {
  private readonly record: ConnectionRecord;
  private payload: PayloadBuffer;
  private stream: Duplex;
  private finished = false;
  /** When the sweep acts: the lifetime cap while the session runs, the socket's release once finished. */
  private deadline: number;

  constructor(private readonly socket: Socket, private readonly context: SessionContext) {
    const { destination, config } = context;
    this.stream = socket;
    this.payload = new PayloadBuffer(config.max_payload_bytes);
    this.record = newConnectionRecord(normaliseAddress(socket.remoteAddress ?? ''), socket.remotePort ?? 0, destination);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.deadline = this.record.startedAt + config.max_connection_seconds * 1000;
    sessions.watch(this);
  }

  /** Called by the sweep once the deadline has passed. */
  expire(): void {
    if (!this.finished) {
      this.finish(this.record.action === 'connect-only' ? 'timeout' : this.record.action);
      return;
    }
    sessions.unwatch(this);
    this.stream.destroy();
    this.socket.destroy();
  }

  get expiresAt(): number {
    return this.deadline;
  }

  async run(): Promise<void> {
    try {
      await this.converse();
    } catch {
      // A peer that resets mid-write or a stream error ends the conversation; the event still goes out.
      this.finish(this.record.action);
    }
  }

  /** Closes the connection now (sensor shutdown) and emits what is known. */
  abort(): void {
    this.finish(this.record.action === 'connect-only' ? 'timeout' : this.record.action);
  }

  // Milliseconds, read per wait rather than bundled into an object on every call.
  private get firstByteMs(): number {
    return this.context.config.first_byte_timeout_seconds * 1000;
  }

  private get readMs(): number {
    return this.context.config.read_timeout_seconds * 1000;
  }

  private get handshakeMs(): number {
    return this.context.config.handshake_timeout_seconds * 1000;
  }

  private async converse(): Promise<void> {
    const raw = new ChunkReader(this.socket);
    const first = await raw.next(this.firstByteMs);
    if (first === 'end') return this.finish('connect-only');
    if (first === 'timeout') return this.finish('timeout');

    let buffered = first;
    let probe = probeClientHello(buffered, this.context.config.max_payload_bytes);
    while (probe.kind === 'need-more') {
      const more = await raw.next(this.handshakeMs);
      if (more === 'timeout') {
        // A stalled ClientHello is a failed handshake: answering it as plain data would send
        // text into a TLS stream and hold the connection for another read_timeout_seconds.
        this.payload.add(buffered);
        this.record.tlsError = 'handshake timed out: incomplete ClientHello';
        return this.finish('tls-handshake-failed');
      }
      if (more === 'end') break;
      buffered = Buffer.concat([buffered, more]);
      probe = probeClientHello(buffered, this.context.config.max_payload_bytes);
    }
    if (probe.kind !== 'complete') return this.application(raw, buffered);

    const parsed = parseClientHello(buffered);
    if (parsed.ok) this.record.clientHello = parsed.hello;
    else this.record.tlsError = parsed.error;
    const secureContext = this.context.secureContext;
    if (!parsed.ok || secureContext === undefined) {
      // Without a certificate the hello is all there is; the raw bytes keep it for analysis.
      this.payload.add(buffered);
      this.record.action = 'tls-clienthello-only';
      return this.drain(raw, 'tls-clienthello-only');
    }

    const pending = Buffer.concat([buffered, raw.detach()]);
    this.socket.unshift(pending);
    const tlsSocket = new tls.TLSSocket(this.socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    tlsSocket.on('error', () => undefined);
    this.stream = tlsSocket;
    const handshake = await secured(tlsSocket, this.handshakeMs);
    if (handshake !== 'ok') {
      this.record.tlsError = handshake;
      return this.finish('tls-handshake-failed');
    }
    this.record.tlsSession = {
      // Node calls TLS 1.0 "TLSv1"; the Go sensor wrote "TLSv1.0", and ECS tls.version wants "1.0".
      version: tlsSocket.getProtocol()?.replace(/^TLSv1$/, 'TLSv1.0') ?? 'unknown',
      cipher: tlsSocket.getCipher()?.standardName ?? tlsSocket.getCipher()?.name ?? 'unknown',
      alpn: tlsSocket.alpnProtocol ?? false,
      sni: (tlsSocket as tls.TLSSocket & { servername?: string | false }).servername || undefined,
    };
    this.record.action = 'tls-handshake';
    const decrypted = new ChunkReader(tlsSocket);
    const firstPlain = await decrypted.next(this.readMs);
    if (typeof firstPlain === 'string') return this.finish('tls-handshake');
    return this.application(decrypted, firstPlain);
  }

  /**
   * Plain (or decrypted) application data: SSH, HTTP or anything else. Most probes send a whole
   * request in their first segment; that case is answered here without entering the awaited
   * read loops, whose promises and microtasks would otherwise be paid on every connection.
   */
  private application(reader: ChunkReader, first: Buffer): Promise<void> | undefined {
    this.payload.add(first);
    const bytes = this.payload.bytes();
    if (isSshIdentification(bytes)) return this.ssh(reader);
    const httpProbe = probeHttp(bytes);
    if (httpProbe === 'http' && this.stream === this.socket) {
      const request = parseHttpRequest(bytes);
      // The same conditions under which http() would stop reading at once.
      const whole = request !== undefined && request.complete
        && (request.contentLength === undefined || request.body.length >= request.contentLength || this.payload.full);
      if (whole) {
        this.record.action = 'http';
        this.answerHttp(request);
        return undefined;
      }
    }
    return this.applicationSlow(reader, httpProbe);
  }

  private async applicationSlow(reader: ChunkReader, firstProbe: HttpProbe): Promise<void> {
    let httpProbe = firstProbe;
    // Only a known method is worth waiting for: other text without a newline ("Hello TCP!")
    // is answered at once, as the earlier sensor did, instead of after read_timeout_seconds.
    while (httpProbe === 'maybe' && startsLikeKnownMethod(this.payload.bytes()) && !this.payload.full) {
      if (!(await this.more(reader))) break;
      httpProbe = probeHttp(this.payload.bytes());
    }
    if (httpProbe === 'http') return this.http(reader);
    this.record.action = 'payload';
    // The earlier sensor answered anything else with the client's address; scanners that wait
    // for a reply before sending more keep talking.
    await this.write(this.record.sourceIp);
    return this.drain(reader, 'payload');
  }

  private async ssh(reader: ChunkReader): Promise<void> {
    this.record.action = 'ssh';
    let ident = parseSshIdentification(this.payload.bytes());
    while (ident === 'need-more' && !this.payload.full) {
      if (!(await this.more(reader))) break;
      ident = parseSshIdentification(this.payload.bytes());
    }
    if (ident === 'need-more' || ident === undefined) {
      this.record.action = 'payload';
      return this.drain(reader, 'payload');
    }
    this.record.ssh = { ident: ident.ident };
    await this.write(`${this.context.config.ssh.banner}\r\n`);
    for (;;) {
      const kex = parseKexInit(this.payload.bytes().subarray(ident.length));
      if (kex !== 'need-more') {
        if (!('error' in kex)) this.record.ssh.kexinit = kex.kexinit;
        break;
      }
      if (this.payload.full || !(await this.more(reader))) break;
    }
    // Without a key exchange of our own the client can go no further; end it now rather than
    // hold the connection until the client's timeout.
    return this.finish('ssh');
  }

  private async http(reader: ChunkReader): Promise<void> {
    this.record.action = 'http';
    let request = parseHttpRequest(this.payload.bytes());
    while (request !== undefined && !request.complete && !this.payload.full) {
      if (!(await this.more(reader))) break;
      request = parseHttpRequest(this.payload.bytes());
    }
    // Wait for a declared body too, as far as the payload cap allows.
    while (request !== undefined && request.complete && request.contentLength !== undefined && request.body.length < request.contentLength && !this.payload.full) {
      if (!(await this.more(reader))) break;
      request = parseHttpRequest(this.payload.bytes());
    }
    if (request === undefined) {
      this.record.action = 'payload';
      return this.drain(reader, 'payload');
    }
    if (this.stream === this.socket) return this.answerHttp(request);
    this.record.http = request;
    // Over TLS the answer keeps its awaited write, so that bytesOut is read after TLS has
    // written it, as before.
    await this.write(httpResponse(this.context.config, this.record.sourceIp, request.method === 'HEAD'));
    return this.finish('http');
  }

  /** On a plain socket the answer and the FIN go out in one end() call, without a write callback, promise and timer. */
  private answerHttp(request: HttpRequest): void {
    this.record.http = request;
    this.finish('http', httpResponse(this.context.config, this.record.sourceIp, request.method === 'HEAD'));
  }

  /** Reads until the client closes, goes quiet, or fills the payload cap. */
  private async drain(reader: ChunkReader, action: ConnectionAction): Promise<void> {
    while (!this.payload.full && (await this.more(reader)));
    this.finish(action);
  }

  /** Waits for more bytes; false when the client is gone or idle past read_timeout_seconds. */
  private async more(reader: ChunkReader): Promise<boolean> {
    if (this.finished) return false;
    const chunk = await reader.next(this.readMs);
    if (typeof chunk === 'string') return false;
    this.payload.add(chunk);
    return !this.finished;
  }

  private write(data: string): Promise<void> {
    if (this.finished || this.stream.destroyed || !this.stream.writable) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stream.destroy();
        resolve();
      }, this.context.config.write_timeout_seconds * 1000);
      this.stream.write(data, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the connection, after `last` when given, and emits its event. */
  private finish(action: ConnectionAction, last?: string): void {
    if (this.finished) return;
    this.finished = true;
    const record = this.record;
    record.action = action;
    record.endedAt = Date.now();
    record.payload = this.payload.bytes();
    // Reading stops at a full buffer, so whether more would have followed is unknown: a client
    // whose bytes filled the cap exactly counts as truncated rather than as complete.
    record.truncated = this.payload.truncated || this.payload.full;
    const answering = last !== undefined && !this.stream.destroyed && this.stream.writable;
    if (answering) this.stream.end(last);
    else this.stream.end();
    record.bytesIn = this.socket.bytesRead;
    // Counts what end() handed over too, sent or still queued, as a completed write() would have.
    record.bytesOut = this.socket.bytesWritten;
    // Give the last response a moment to leave, then release the socket whatever the client does.
    // An answer the kernel did not take at once gets the write deadline, as write() gives it.
    const grace = answering && this.stream.writableLength > 0 ? this.context.config.write_timeout_seconds * 1000 : 1000;
    this.deadline = record.endedAt + grace;
    this.context.done(record);
  }
}

// The lifetime cap and the post-finish release share one sweep; see Deadlines for its granularity.
const sessions = new Deadlines<Session>(250);

function secured(socket: tls.TLSSocket, timeoutMs: number): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done('handshake timed out'), timeoutMs);
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(result);
    };
    const onSecure = (): void => done('ok');
    const onError = (error: Error): void => done(error.message);
    const onClose = (): void => done('connection closed during the handshake');
    socket.once('secure', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

const reasons: Record<number, string> = { 200: 'OK', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function isSshIdentification(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes[0] === 0x53 && bytes[1] === 0x53 && bytes[2] === 0x48 && bytes[3] === 0x2d;
}

interface ResponseTemplate {
  body: string;
  status: number;
  contentType: string;
  server: string;
  /** The body split at each {source.ip}; a body without one is a single part. */
  parts: string[];
  partsBytes: number;
  /** Everything before the Content-Length value, and everything after it up to the body. */
  before: string;
  after: string;
}

// Rebuilding the header block and scanning the body template cost more than the answer's own
// bytes; only the client's address varies between connections of the same configuration.
let template: ResponseTemplate | undefined;

function responseTemplate(config: SpipConfig): ResponseTemplate {
  const http = config.http;
  const t = template;
  // Compared by value: a configuration object may be edited in place between connections.
  if (t !== undefined && t.body === http.body && t.status === http.status && t.contentType === http.content_type && t.server === http.server) return t;
  const parts = http.body.split('{source.ip}');
  const partsBytes = parts.reduce((sum, part) => sum + Buffer.byteLength(part), 0);
  const before = `HTTP/1.1 ${http.status} ${reasons[http.status] ?? 'Status'}\r\nContent-Type: ${http.content_type}\r\nContent-Length: `;
  const after = `\r\nConnection: close${http.server !== '' ? `\r\nServer: ${http.server}` : ''}\r\n\r\n`;
  template = { body: http.body, status: http.status, contentType: http.content_type, server: http.server, parts, partsBytes, before, after };
  return template;
}

export function httpResponse(config: SpipConfig, clientIp: string, head: boolean): string {
  const t = responseTemplate(config);
  const body = t.parts.length === 1 ? (t.parts[0] as string) : t.parts.join(clientIp);
  const length = t.partsBytes + (t.parts.length - 1) * Buffer.byteLength(clientIp);
  return `${t.before}${length}${t.after}${head ? '' : body}`;
}

const knownMethods = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT'];

/** True when the bytes are a known HTTP method followed by a space, or a prefix of one. */
export function startsLikeKnownMethod(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 10)).toString('latin1').toUpperCase();
  return knownMethods.some((method) => {
    const word = `${method} `;
    return head.length >= word.length ? head.startsWith(word) : word.startsWith(head);
  });
}

/** "::ffff:192.0.2.1" (IPv4 on a dual-stack socket) → "192.0.2.1". */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
