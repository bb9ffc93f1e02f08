import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging.js';
import { listen } from '../net/listen.js';
import type { Metrics } from './metrics.js';

/** Answers whether Loom can take traffic now, and if not, why. */
export type ReadinessCheck = () => { ready: true } | { ready: false; reason: string };

/**
 * Health, readiness and metrics on their own listener, so that orchestration and scraping
 * keep working when the ingest port is saturated. Plain HTTP: bind it to a private address.
 */
export class ManagementServer {
  private server: http.Server | undefined;

  constructor(
    private readonly address: string,
    private readonly readiness: ReadinessCheck,
    private readonly metrics: Metrics | undefined,
    private readonly logger: Logger,
  ) {}

  get boundAddress(): AddressInfo | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  async start(): Promise<void> {
    this.server = http.createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 30_000 }, (req, res) => {
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && this.metrics !== undefined) {
      const body = await this.metrics.registry.metrics();
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
        const state = this.readiness();
        if (state.ready) text(res, 200, 'ok');
        else text(res, 503, `not ready: ${state.reason}`);
        return;
      }
      default:
        text(res, 404, 'not found\n');
    }
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
