import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { bearerToken, type TokenStore } from '../auth/token-store.js';
import type { OutputState } from '../sinks/types.js';
import type { DashboardAggregator } from './aggregator.js';
import type { ClickHouseHistory } from './clickhouse-history.js';

/** Where the build puts the bundled page (packages/loom/dist/web), seen from dist/src/dashboard. */
const assetsDir = new URL('../../web/', import.meta.url);

const assets: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const maxStreams = 32;
const streamIntervalMs = 2000;
const maxStreamBacklog = 1024 * 1024;

export interface DashboardSources {
  aggregator: DashboardAggregator;
  outputs: () => OutputState[];
  /** The enrichment of one address, as GET /api/v1/lookup answers it. */
  lookup: (ip: string) => Promise<unknown>;
  /** Sensors that have a token: those that never delivered are shown as silent. */
  knownSensors?: () => string[];
  /** Windows longer than an hour, from a ClickHouse output (typed mode) when there is one. */
  history?: ClickHouseHistory;
}

/**
 * The operator dashboard: the page at / (HTTP basic auth, user "admin", the admin token as
 * password) and its API under /api/v1/dashboard/ (Bearer token, or the page's basic auth,
 * which the browser resends on its own requests and which EventSource cannot replace).
 */
export class DashboardRoutes {
  private streams = 0;
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly sources: DashboardSources,
    private readonly admin: TokenStore,
  ) {}

  /** True when the request was the dashboard's (answered); false to let the caller route it. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    const asset = assets[path];
    const api = path.startsWith('/api/v1/dashboard/');
    if (asset === undefined && !api) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'application/json', JSON.stringify({ error: 'method_not_allowed', message: 'use GET' }));
      return true;
    }
    if (!this.authorized(req.headers.authorization)) {
      if (asset !== undefined) {
        res.setHeader('WWW-Authenticate', 'Basic realm="Loom dashboard", charset="UTF-8"');
        send(res, 401, 'text/plain; charset=utf-8', 'sign in as "admin" with the admin token (LOOM_ADMIN_TOKEN) as password\n');
      } else {
        res.setHeader('WWW-Authenticate', ['Bearer realm="Loom"', 'Basic realm="Loom dashboard", charset="UTF-8"']);
        send(res, 401, 'application/json', JSON.stringify({ error: 'unauthorized', message: 'missing or invalid admin token (Authorization: Bearer $LOOM_ADMIN_TOKEN)' }));
      }
      return true;
    }
    if (asset !== undefined) {
      await this.serveAsset(res, asset);
      return true;
    }
    const window = numberParam(url, 'window', 900, 60, 3600);
    const silentAfter = numberParam(url, 'silent_after', 300, 5, 86_400);
    switch (path) {
      case '/api/v1/dashboard/snapshot':
        sendJson(res, this.snapshot(window, silentAfter));
        return true;
      case '/api/v1/dashboard/events': {
        const limit = numberParam(url, 'limit', 50, 1, 200);
        sendJson(res, { events: this.sources.aggregator.latestEvents(url.searchParams.get('q') ?? undefined, limit) });
        return true;
      }
      case '/api/v1/dashboard/lookup': {
        // The page's lookup form: the same answer as /api/v1/lookup, with the page's own sign-in.
        const ip = (url.searchParams.get('ip') ?? '').trim();
        if (isIP(ip) === 0) {
          send(res, 400, 'application/json', JSON.stringify({ error: 'invalid_request', message: `${JSON.stringify(ip.slice(0, 100))} is not an IP address` }));
          return true;
        }
        sendJson(res, { results: [await this.sources.lookup(ip)] });
        return true;
      }
      case '/api/v1/dashboard/history': {
        const history = this.sources.history;
        if (history === undefined) {
          send(res, 404, 'application/json', JSON.stringify({ error: 'no_history', message: 'windows over an hour need a ClickHouse output with clickhouse_mode = "typed"' }));
          return true;
        }
        try {
          sendJson(res, await history.query(numberParam(url, 'window', 86_400, 3600, 30 * 86_400)));
        } catch (error) {
          send(res, 502, 'application/json', JSON.stringify({ error: 'history_unavailable', message: `ClickHouse did not answer: ${(error as Error).message}` }));
        }
        return true;
      }
      case '/api/v1/dashboard/stream':
        this.stream(req, res, window, silentAfter);
        return true;
      default:
        send(res, 404, 'application/json', JSON.stringify({ error: 'not_found', message: `no dashboard API at ${path}` }));
        return true;
    }
  }

  private snapshot(window: number, silentAfter: number): unknown {
    return {
      ...this.sources.aggregator.snapshot(window, silentAfter, this.sources.knownSensors?.() ?? []),
      outputs: this.sources.outputs(),
      history: this.sources.history?.source,
    };
  }

  /** Server-Sent Events: "snapshot" every 2 s, "event" for each new sampled event (at most 20 a second). */
  private stream(req: IncomingMessage, res: ServerResponse, window: number, silentAfter: number): void {
    if (this.streams >= maxStreams) {
      send(res, 503, 'application/json', JSON.stringify({ error: 'too_many_streams', message: `at most ${maxStreams} dashboards at once` }));
      return;
    }
    this.streams++;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const write = (name: string, body: unknown): void => {
      // A client that stopped reading is let go rather than buffered for.
      if (res.writableLength > maxStreamBacklog) {
        res.destroy();
        return;
      }
      res.write(`event: ${name}\ndata: ${JSON.stringify(body)}\n\n`);
    };
    write('snapshot', this.snapshot(window, silentAfter));
    let sentThisSecond = 0;
    const unsubscribe = this.sources.aggregator.onEvent((event) => {
      if (sentThisSecond >= 20) return;
      sentThisSecond++;
      write('event', event);
    });
    const timer = setInterval(() => {
      sentThisSecond = 0;
      write('snapshot', this.snapshot(window, silentAfter));
    }, streamIntervalMs);
    const close = (): void => {
      clearInterval(timer);
      unsubscribe();
      this.streams--;
    };
    req.socket.setTimeout(0);
    res.once('close', close);
  }

  private authorized(header: string | undefined): boolean {
    const token = bearerToken(header) ?? basicPassword(header, 'admin');
    return token !== undefined && this.admin.sensorFor(token) !== undefined;
  }

  private async serveAsset(res: ServerResponse, asset: { file: string; type: string }): Promise<void> {
    let body = this.cache.get(asset.file);
    if (body === undefined) {
      try {
        body = await readFile(new URL(asset.file, assetsDir));
      } catch {
        send(res, 503, 'text/plain; charset=utf-8', 'the dashboard is not built: run `npm run build`\n');
        return;
      }
      this.cache.set(asset.file, body);
    }
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    }).end(body);
  }
}

/** The password of "Basic base64(user:password)" when the user is `user`. */
function basicPassword(header: string | undefined, user: string): string | undefined {
  if (header === undefined || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== user) return undefined;
  const password = decoded.slice(colon + 1);
  return password === '' ? undefined : password;
}

function numberParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  const value = raw === null ? NaN : Number(raw);
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function sendJson(res: ServerResponse, body: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' }).end(body);
}
