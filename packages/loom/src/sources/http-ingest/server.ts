import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TokenStore } from '../../auth/token-store.js';
import { bearerToken } from '../../auth/token-store.js';
import type { Limiter } from '../../auth/rate-authority.js';
import type { LimitsConfig, ServerConfig } from '../../config/types.js';
import { ApiError } from '../../errors.js';
import { ThrottledLog, type Logger } from '../../logging.js';
import type { Metrics } from '../../management/metrics.js';
import type { DecodePool } from '../../pipeline/decode-pool.js';
import type { BatchDelivery } from '../../pipeline/pipeline.js';
import { discardBody, readBody } from './body.js';
import { bodyFormatFor, isGzip, isSupportedEncoding } from './content-type.js';
import type { BodyFormat } from './decode.js';
import { listen } from '../../net/listen.js';
import { RecordMapper, flowPaths, flowRoute, type RecordRoute } from '../flows/route.js';
import { PipelineSubmitter, type EventSubmitter } from '../submitter.js';
import { zeekRouteFor } from '../zeek/route.js';

const ingestPaths = new Set(['/', '/ingest', '/api/v1/ingest']);
const unknownSensor = 'unknown';

export interface IngestDependencies {
  server: ServerConfig;
  limits: LimitsConfig;
  tokens: TokenStore;
  requestLimiter: Limiter;
  eventLimiter: Limiter;
  decoder: DecodePool;
  pipeline: BatchDelivery;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The batch ingest API. Checks run in the order of the earlier implementation
 * (method, content type, token, X-Spip-ID, rate limit, body size, body shape, batch size,
 * event size) so clients see the same status codes; every error has a JSON body from the
 * registry in errors.ts. The response is sent only after every output accepted the batch.
 */
export class IngestServer {
  private server: http.Server | undefined;
  private shuttingDown = false;
  private inFlight = 0;
  private readonly throttled: ThrottledLog;
  /** Flow records and Zeek logs are mapped to ECS on their own threads and enter the pipeline as an input. */
  private readonly records: RecordMapper;
  private readonly submitter: EventSubmitter;

  constructor(private readonly deps: IngestDependencies) {
    this.throttled = new ThrottledLog(deps.logger);
    this.submitter = new PipelineSubmitter(deps.decoder, deps.pipeline, deps.metrics, deps.limits.max_events_per_batch);
    this.records = new RecordMapper(deps.limits, Math.ceil(deps.decoder.threads / 2), deps.metrics, deps.logger);
  }

  get listening(): boolean {
    return this.server?.listening === true;
  }

  get address(): AddressInfo | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  async start(): Promise<void> {
    const { server: config } = this.deps;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    const options: http.ServerOptions = {
      headersTimeout: config.header_timeout_seconds * 1000,
      // Node enforces both timeouts only when it sweeps its connections, every 30 s by
      // default: a slowloris client would hold a connection for up to 40 s with a 10 s limit.
      connectionsCheckingInterval: 1000,
      requestTimeout: config.request_timeout_seconds * 1000,
      keepAliveTimeout: config.idle_timeout_seconds * 1000,
      maxHeaderSize: 16 * 1024,
      // Identity comes from the token, not the Host header; a missing Host is no reason for a bare 400.
      requireHostHeader: false,
    };
    if (config.tls) {
      const [cert, key] = await Promise.all([readFile(config.cert_file), readFile(config.key_file)]);
      checkTlsFiles(config, cert, key);
      this.server = https.createServer({ ...options, cert, key, minVersion: 'TLSv1.2' }, handler);
    } else {
      this.server = http.createServer(options, handler);
    }
    this.server.maxConnections = config.max_connections;
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // Malformed requests, oversized headers and slow clients end here; answer when possible.
      if (socket.writable && error.code !== 'ECONNRESET') {
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        const body = JSON.stringify({ error: 'invalid_request', message: `malformed HTTP request (${error.code ?? 'parse error'})` });
        socket.end(rawResponse(status, body));
      } else {
        socket.destroy();
      }
    });
    // Without a listener node drops a CONNECT without a word; answer it like any other method.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => undefined);
      socket.end(rawResponse('405 Method Not Allowed', new ApiError('method_not_allowed', 'method CONNECT is not allowed; use POST').body(), 'Allow: POST\r\n'));
    });
    // Node answers an Expect other than 100-continue with a bare 417. RFC 9110 §10.1.1 lets a
    // server ignore expectations it does not understand, which keeps every answer in the registry.
    this.server.on('checkExpectation', handler);
    // "Expect: 100-continue" is answered only after the headers passed every check, so a client
    // with a bad token or over its rate limit learns it before sending a large body.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res, () => res.writeContinue());
    });
    await listen(this.server, config.listen_address, 'server.listen_address');
    this.deps.logger.info({ addr: config.listen_address, port: this.address?.port, tls: config.tls }, config.tls ? 'ingest server (HTTPS) listening' : 'ingest server listening (no TLS)');
  }

  /** Stops accepting, lets in-flight requests finish (their responses are still sent), then closes. */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    const server = this.server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  /** Force-closes every connection (after the shutdown deadline). */
  destroy(): void {
    this.server?.closeAllConnections();
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, beforeBody?: () => void): Promise<void> {
    const started = performance.now();
    let sensorId = unknownSensor;
    this.inFlight++;
    try {
      const accepted = await this.process(req, (id) => (sensorId = id), beforeBody);
      // During shutdown, keep-alive connections are closed after their last response.
      if (this.shuttingDown) res.setHeader('Connection', 'close');
      res.writeHead(204).end();
      this.deps.metrics.ingestRequests.inc({ sensor_id: sensorId, status: '204' });
      this.deps.metrics.ingestEvents.inc({ sensor_id: sensorId }, accepted);
      this.deps.metrics.batchDuration.observe((performance.now() - started) / 1000);
      this.deps.logger.debug({ sensor_id: sensorId, events: accepted }, 'ingest batch ok');
    } catch (caught) {
      const error = caught instanceof ApiError ? caught : this.internal(caught);
      this.respondError(req, res, error, sensorId);
    } finally {
      this.inFlight--;
    }
  }

  /** Runs every check and delivers the batch; returns the number of events acknowledged. */
  private async process(req: IncomingMessage, setSensor: (id: string) => void, beforeBody: (() => void) | undefined): Promise<number> {
    const { limits, metrics } = this.deps;
    const path = pathOf(req.url);
    const route = this.routeFor(path);
    if (req.method !== 'POST') throw new ApiError('method_not_allowed', `method ${truncate(req.method ?? '')} is not allowed; use POST`);
    const format = bodyFormatFor(req.headers['content-type']);
    if (format === undefined) {
      throw new ApiError('invalid_content_type', `Content-Type ${JSON.stringify(truncate(req.headers['content-type'] ?? ''))} is not supported; use application/json or application/x-ndjson`);
    }
    if (!isSupportedEncoding(req.headers['content-encoding'])) {
      throw new ApiError('unsupported_encoding', `Content-Encoding ${JSON.stringify(truncate(req.headers['content-encoding'] ?? ''))} is not supported; use gzip or send uncompressed`);
    }
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new ApiError('unauthorized', 'missing bearer token: send "Authorization: Bearer <token>"');
    const sensorId = this.deps.tokens.sensorFor(token);
    if (sensorId === undefined) throw new ApiError('unauthorized', 'invalid bearer token');
    const claimed = req.headers['x-spip-id'];
    if (claimed !== undefined && claimed !== sensorId) throw new ApiError('unauthorized', "X-Spip-ID does not match the token's sensor");
    setSensor(sensorId);

    const wait = await this.deps.requestLimiter.take(sensorId);
    if (wait > 0) {
      this.throttled.warn(`rate:${sensorId}`, { sensor_id: sensorId }, 'rate limit exceeded (429)');
      throw new ApiError('rate_limit_exceeded', `sensor ${sensorId} exceeded limits.per_sensor_rps (${limits.per_sensor_rps} requests/s)`, wait);
    }
    if (this.shuttingDown) throw new ApiError('shutting_down', undefined, 1);
    if (!this.deps.pipeline.hasCapacity()) throw new ApiError('overloaded', undefined, 1);

    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.max_body_size_bytes) {
      throw new ApiError('payload_too_large', `body of ${declared} bytes exceeds limits.max_body_size_bytes (${limits.max_body_size_bytes})`);
    }
    beforeBody?.();
    const read = await readBody(req, limits.max_body_size_bytes);
    if (read.kind === 'too_large') throw new ApiError('payload_too_large', `body exceeds limits.max_body_size_bytes (${limits.max_body_size_bytes})`);
    if (read.kind === 'aborted') throw new ApiError('invalid_request', 'the client closed the connection before sending the whole body');
    metrics.ingestBytes.inc({ sensor_id: sensorId }, read.body.byteLength);

    if (route !== 'events') return this.acceptRecords(route, read.body, format, isGzip(req.headers['content-encoding']), sensorId);
    const decoded = await this.deps.decoder.decode(read.body, format, isGzip(req.headers['content-encoding']));
    if (!decoded.ok) throw new ApiError(decoded.code, decoded.message);

    const eventWait = await this.deps.eventLimiter.take(sensorId, decoded.count);
    if (eventWait > 0) {
      this.throttled.warn(`events:${sensorId}`, { sensor_id: sensorId }, 'event rate limit exceeded (429)');
      throw new ApiError('rate_limit_exceeded', `sensor ${sensorId} exceeded limits.per_sensor_events_rps (${limits.per_sensor_events_rps} events/s)`, eventWait);
    }
    await this.deps.pipeline.deliver({
      id: randomUUID(),
      source: 'http-ingest',
      sensorId,
      receivedAt: Date.now(),
      count: decoded.count,
      ndjson: decoded.ndjson,
    });
    return decoded.count;
  }

  /** The ingest API's own events, or a route whose records are mapped to ECS first. */
  private routeFor(path: string): 'events' | RecordRoute {
    if (ingestPaths.has(path)) return 'events';
    if (flowPaths.has(path)) return flowRoute;
    const zeek = zeekRouteFor(path, this.deps.metrics);
    if (zeek !== undefined) return zeek;
    throw new ApiError('not_found', `no such endpoint: ${truncate(path)}; POST events to /api/v1/ingest, /ingest or /, flow records to /api/v1/flows, Zeek logs to /api/v1/zeek/<log>`);
  }

  /** Same limits as events: records count against the per-sensor event rate once mapped. */
  private async acceptRecords(route: RecordRoute, body: Uint8Array, format: BodyFormat, gzip: boolean, sensorId: string): Promise<number> {
    const { limits } = this.deps;
    const mapped = await this.records.map(route, body, format, gzip, sensorId);
    const eventWait = await this.deps.eventLimiter.take(sensorId, mapped.count);
    if (eventWait > 0) {
      this.throttled.warn(`events:${sensorId}`, { sensor_id: sensorId }, 'event rate limit exceeded (429)');
      throw new ApiError('rate_limit_exceeded', `sensor ${sensorId} exceeded limits.per_sensor_events_rps (${limits.per_sensor_events_rps} events/s)`, eventWait);
    }
    if (mapped.count === 0) return 0;
    return this.submitter.submit({ input: route.input, sender: sensorId, ndjson: mapped.ndjson });
  }

  private respondError(req: IncomingMessage, res: ServerResponse, error: ApiError, sensorId: string): void {
    const { metrics } = this.deps;
    metrics.ingestRequests.inc({ sensor_id: sensorId, status: String(error.status) });
    metrics.ingestRejected.inc({ reason: error.code });
    if (res.headersSent || res.destroyed) return;
    const body = error.body();
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
    if (error.status === 405) headers.Allow = 'POST';
    // An unread body must not be parsed as the next request on this connection.
    if (!req.complete || this.shuttingDown) headers.Connection = 'close';
    res.writeHead(error.status, headers).end(body);
    discardBody(req);
  }

  private internal(error: unknown): ApiError {
    this.deps.logger.error({ err: error }, 'ingest request failed unexpectedly');
    return new ApiError('internal_error');
  }
}

/**
 * OpenSSL's own errors ("DECODER routines::unsupported") name neither key nor file, so
 * each file is loaded on its own first and the message says which one is at fault.
 */
function checkTlsFiles(config: ServerConfig, cert: Buffer, key: Buffer): void {
  const attempt = (what: string, options: SecureContextOptions): void => {
    try {
      createSecureContext(options);
    } catch (error) {
      throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };
  attempt(`server.cert_file ${JSON.stringify(config.cert_file)} holds no usable PEM certificate`, { cert });
  attempt(`server.key_file ${JSON.stringify(config.key_file)} holds no usable PEM private key`, { key });
  attempt(`server.key_file ${JSON.stringify(config.key_file)} does not belong to the certificate in server.cert_file ${JSON.stringify(config.cert_file)}`, { cert, key });
}

/** A complete response written straight to a socket that has no ServerResponse. */
function rawResponse(status: string, body: string, extraHeaders = ''): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function truncate(value: string, max = 100): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
