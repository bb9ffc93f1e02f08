import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { TokenStore, bearerToken } from '../auth/token-store.js';
import { ApiError } from '../errors.js';
import { DashboardRoutes, type DashboardSources } from '../dashboard/http.js';
import type { Logger } from '../logging.js';
import { listen } from '../net/listen.js';
import type { OutputState } from '../sinks/types.js';
import type { Metrics } from './metrics.js';

/** Answers whether Loom can take traffic now, and if not, why; with every output's state. */
export type ReadinessCheck = () => ({ ready: true } | { ready: false; reason: string }) & { outputs: OutputState[] };

export interface ManagementApi {
  /** Bearer token of the JSON API (LOOM_ADMIN_TOKEN); without one the API is off. */
  adminToken: string | undefined;
  /** The full enrichment of each address, in order. */
  lookup: (ips: string[]) => Promise<unknown[]>;
  /** What the dashboard at / shows; it is served only with an admin token. */
  dashboard?: DashboardSources;
}

const maxLookupIps = 1000;

/**
 * Health, readiness and metrics on their own listener, so that orchestration and scraping
 * keep working when the ingest port is saturated. Plain HTTP: bind it to a private address.
 */
export class ManagementServer {
  private server: http.Server | undefined;
  private readonly admin: TokenStore | undefined;
  private readonly dashboard: DashboardRoutes | undefined;

  constructor(
    private readonly address: string,
    private readonly readiness: ReadinessCheck,
    private readonly metrics: Metrics | undefined,
    private readonly logger: Logger,
    private readonly api?: ManagementApi,
  ) {
    const token = api?.adminToken;
    this.admin = token === undefined || token === '' ? undefined : new TokenStore(new Map([[token, 'admin']]));
    this.dashboard = this.admin !== undefined && api?.dashboard !== undefined ? new DashboardRoutes(api.dashboard, this.admin) : undefined;
  }

  get boundAddress(): AddressInfo | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  async start(): Promise<void> {
    this.server = http.createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 30_000, connectionsCheckingInterval: 1000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.logger.error({ err: error }, 'management request failed');
        if (!res.headersSent) text(res, 500, 'internal error\n');
      });
    });
    await listen(this.server, this.address, 'server.management_listen_address');
    this.logger.info({ addr: this.address, port: this.boundAddress?.port }, 'management server listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** GET /api/v1/lookup?ip=…[&ip=…] or POST with ["…"] / {"ips":["…"]}: the enrichment of each address. */
  private async lookup(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.api === undefined || this.admin === undefined) return apiError(res, new ApiError('lookup_disabled'));
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || this.admin.sensorFor(token) === undefined) return apiError(res, new ApiError('unauthorized', 'missing or invalid admin token (Authorization: Bearer $LOOM_ADMIN_TOKEN)'));
    let ips: string[];
    if (req.method === 'GET') {
      ips = url.searchParams.getAll('ip').flatMap((value) => value.split(',')).map((ip) => ip.trim()).filter((ip) => ip !== '');
    } else if (req.method === 'POST') {
      const body = await readSmallBody(req, 256 * 1024);
      if (body === undefined) return apiError(res, new ApiError('payload_too_large', 'lookup bodies are limited to 256 KiB'));
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        return apiError(res, new ApiError('invalid_request', `body is not valid JSON: ${(error as Error).message}`));
      }
      const list = lookupAddresses(parsed);
      if (list === undefined) return apiError(res, new ApiError('invalid_request', 'body must be ["ip", …] or {"ips": ["ip", …]}'));
      ips = list;
    } else {
      return apiError(res, new ApiError('method_not_allowed', 'use GET ?ip=… or POST a list of addresses'));
    }
    if (ips.length === 0) return apiError(res, new ApiError('invalid_request', 'no address given: use ?ip=… or POST ["…"]'));
    if (ips.length > maxLookupIps) return apiError(res, new ApiError('invalid_request', `at most ${maxLookupIps} addresses per request, got ${ips.length}`));
    const invalid = ips.find((ip) => isIP(ip) === 0);
    if (invalid !== undefined) return apiError(res, new ApiError('invalid_request', `${JSON.stringify(invalid.slice(0, 100))} is not an IP address`));
    json(res, 200, { results: await this.api.lookup(ips) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://management');
    const path = url.pathname;
    if (this.dashboard !== undefined && (await this.dashboard.handle(req, res, url))) return;
    if (path === '/api/v1/lookup') {
      await this.lookup(req, res, url);
      return;
    }
    if (path === '/metrics' && this.metrics !== undefined) {
      const body = await this.metrics.exposition();
      res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      text(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/health':
      case '/live':
        text(res, 200, 'ok');
        return;
      case '/ready': {
        // The first line is what probes look at; the lines after it say how each output is doing.
        const state = this.readiness();
        const status = state.ready ? 200 : 503;
        if (wantsJson(req)) {
          json(res, status, { ready: state.ready, ...(state.ready ? {} : { reason: state.reason }), outputs: state.outputs });
          return;
        }
        const head = state.ready ? 'ok' : `not ready: ${state.reason}`;
        text(res, status, [head, ...state.outputs.map(describeOutput)].join('\n') + '\n');
        return;
      }
      case '/api/v1/outputs': {
        if (this.admin === undefined) return apiError(res, new ApiError('lookup_disabled', 'the management API is off: set LOOM_ADMIN_TOKEN'));
        const token = bearerToken(req.headers.authorization);
        if (token === undefined || this.admin.sensorFor(token) === undefined) return apiError(res, new ApiError('unauthorized', 'missing or invalid admin token (Authorization: Bearer $LOOM_ADMIN_TOKEN)'));
        json(res, 200, { outputs: this.readiness().outputs });
        return;
      }
      default:
        text(res, 404, 'not found\n');
    }
  }
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

/** One line per output: "output clickhouse (clickhouse): ok; outbox 120 events, oldest 3.2 s; last success 1 s ago". */
function describeOutput(output: OutputState): string {
  const parts = [output.ok ? 'ok' : `NOT OK: ${output.reason ?? 'unknown'}`];
  if (output.outbox !== undefined) parts.push(`outbox ${output.outbox.events} events (${output.outbox.bytes} bytes), oldest ${output.outbox.oldest_age_seconds} s`);
  if (output.last_success_at !== undefined) parts.push(`last success ${Math.max(0, Math.round((Date.now() - output.last_success_at) / 1000))} s ago`);
  if (output.last_error !== undefined) parts.push(`delivery failing: ${output.last_error}`);
  if (output.dead_letters !== undefined && output.dead_letters > 0) parts.push(`${output.dead_letters} dead letters`);
  return `output ${output.name} (${output.type}): ${parts.join('; ')}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

function apiError(res: ServerResponse, error: ApiError): void {
  if (error.status === 405) res.setHeader('Allow', 'GET, POST');
  json(res, error.status, { error: error.code, message: error.message });
}

function readSmallBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function lookupAddresses(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? (value as { ips?: unknown }).ips : undefined;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) return undefined;
  return list as string[];
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
