import { readFileSync } from 'node:fs';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';

/** How a network destination reaches its server. */
export interface HttpTargetOptions {
  /** Base URL, e.g. `https://es.example:9200` (a path prefix is kept). Credentials in it are refused. */
  url: string;
  /** PEM CA bundle to trust instead of the system store. Read once, at construction. */
  caFile?: string;
  /** Accept any server certificate. For tests and labs only; logged as a warning by the caller. */
  insecureSkipVerify?: boolean;
  /** Whole request, connect to last response byte. */
  timeoutMs: number;
  /** Parallel connections to the server. */
  connections?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text, cut at maxBodyBytes (error bodies can be huge). */
  body: string;
}

/** Longest response body kept; a bulk response for 10,000 documents is about 2 MB. */
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * One keep-alive connection pool to one server, with a deadline on every request. Requests
 * never throw for HTTP statuses; they throw only for network errors and aborts, whose
 * messages describeHttpError turns into one line for logs.
 */
export class HttpTarget {
  readonly origin: string;
  /** The URL without credentials, query or fragment, for logs and metrics. */
  readonly display: string;
  private readonly basePath: string;
  private readonly pool: Pool;

  constructor(private readonly options: HttpTargetOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new Error(`"${options.url}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`URL scheme must be http or https, got "${url.protocol}"`);
    if (url.username !== '' || url.password !== '') throw new Error('credentials must not be written into the URL; use the user/password settings or the environment');
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.display = `${url.origin}${this.basePath}`;
    const tls: Record<string, unknown> = { minVersion: 'TLSv1.2' };
    if (options.caFile !== undefined && options.caFile !== '') tls.ca = readFileSync(options.caFile);
    if (options.insecureSkipVerify === true) tls.rejectUnauthorized = false;
    this.pool = new Pool(this.origin, {
      connections: options.connections ?? 4,
      connect: tls,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  /**
   * Sends one request. `path` is appended to the URL's path and may carry a query string.
   * The signal is combined with the request deadline.
   */
  async request(
    method: Dispatcher.HttpMethod,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal; maxBodyBytes?: number } = {},
  ): Promise<HttpResponse> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const signal = init.signal === undefined ? deadline : AbortSignal.any([init.signal, deadline]);
    const response = await this.pool.request({
      method,
      path: `${this.basePath}${path}`,
      headers: init.headers,
      body: init.body,
      signal,
    });
    const limit = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      if (size < limit) chunks.push(size + buffer.length > limit ? buffer.subarray(0, limit - size) : buffer);
      size += buffer.length;
    }
    return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** One line for a failed request: "connection refused", "timed out after 30000 ms", … */
export function describeHttpError(error: unknown, timeoutMs?: number): string {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return `timed out${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}`;
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return error.name === 'TimeoutError' ? `timed out${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}` : 'aborted';
  }
  const cause = error instanceof Error ? ((error.cause as NodeJS.ErrnoException | undefined) ?? (error as NodeJS.ErrnoException)) : undefined;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'host name lookup failed (temporary)';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    default:
      break;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A response body shortened for a log line or a dead-letter reason. */
export function excerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`;
}
