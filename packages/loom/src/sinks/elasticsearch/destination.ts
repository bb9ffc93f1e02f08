import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import {
  parseRetryAfter,
  retryAll,
  type DeliveryBatch,
  type DeliveryResult,
  type Destination,
  type ProbeResult,
  type RejectedEvent,
} from '../delivery.js';
import { HttpTarget, describeHttpError, excerpt, type HttpResponse } from '../http-target.js';
import { describeErrorBody, readBulkResponse, type ItemOutcome } from './bulk.js';
import { IndexName } from './index-name.js';

const gzip = promisify(gzipCallback);

export type ElasticsearchAuth = { user: string; password: string } | { apiKey: string };

export interface ElasticsearchOptions {
  /** Base URL of the cluster (or of a proxy in front of it, path prefix kept), e.g. `https://es.example:9200`. */
  url: string;
  /** Index, alias or data stream name; `%{+yyyy.MM.dd}` is replaced by the event's `@timestamp` in UTC. */
  index: string;
  /** Bulk action; default `index`. `create` never overwrites, and is what data streams require. */
  action?: 'index' | 'create';
  /** The index is a data stream: forces `create`, and refuses a dated name (data streams roll over themselves). */
  dataStream?: boolean;
  /** Send each event's stable id as `_id`, so that a retried document replaces or matches itself instead of being stored twice. Default true. */
  documentIds?: boolean;
  /** Basic auth, or an API key: the base64 `encoded` value, or `id:api_key`. Never in reasons or logs. */
  auth?: ElasticsearchAuth;
  caFile?: string;
  insecureSkipVerify?: boolean;
  /** Gzip request bodies. Default true. */
  compression?: boolean;
  /** Per request. Default 30 000 ms. */
  timeoutMs?: number;
  /** Ingest pipeline to run every document through. */
  pipeline?: string;
  /** A batch is sent in `_bulk` requests of at most this many uncompressed bytes (a single larger document goes alone). Default 5 MiB. */
  maxBulkBytes?: number;
  /** Parallel connections to the cluster. */
  connections?: number;
}

export interface ServerInfo {
  flavour: 'elasticsearch' | 'opensearch' | 'unknown';
  /** `version.number` from `GET /`; empty when unknown. */
  version: string;
  /** For logs, e.g. `Elasticsearch 8.15.0 (cluster "prod")`. */
  description: string;
}

export interface ElasticsearchProbeResult extends ProbeResult {
  /** What answered, when it answered. */
  server?: ServerInfo;
}

export const DEFAULT_MAX_BULK_BYTES = 5 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;

type RequestOutcome =
  | { kind: 'items'; items: ItemOutcome[] }
  | { kind: 'too_large'; reason: string }
  | { kind: 'failed'; reason: string; retryAfterMs?: number };

/**
 * Writes batches with the `_bulk` API of Elasticsearch 7.x–9.x and OpenSearch 1.x–3.x and
 * reports, document by document, what the cluster did: stored, worth retrying (429, 5xx,
 * the whole request failing), or refused for good (a 400 for that document).
 */
export class ElasticsearchDestination implements Destination {
  readonly type = 'elasticsearch';
  readonly target: string;
  /** What the last successful probe found, for logs. */
  server: ServerInfo | undefined;

  private readonly http: HttpTarget;
  private readonly indexName: IndexName;
  private readonly action: 'index' | 'create';
  private readonly documentIds: boolean;
  private readonly compression: boolean;
  private readonly timeoutMs: number;
  private readonly maxBulkBytes: number;
  private readonly bulkPath: string;
  private readonly authHeaders: Record<string, string>;
  private readonly secrets: string[];

  /** Throws on a configuration error (bad URL, index pattern, unreadable CA file). */
  constructor(options: ElasticsearchOptions) {
    this.indexName = IndexName.parse(options.index);
    if (options.dataStream === true && !this.indexName.isStatic) {
      throw new Error(`a data stream name cannot contain a date (${JSON.stringify(options.index)}): data streams roll over by themselves`);
    }
    this.action = options.dataStream === true ? 'create' : (options.action ?? 'index');
    this.documentIds = options.documentIds ?? true;
    this.compression = options.compression ?? true;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBulkBytes = options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    if (!(this.maxBulkBytes > 0)) throw new Error(`maxBulkBytes must be positive, got ${this.maxBulkBytes}`);
    this.http = new HttpTarget({
      url: options.url,
      caFile: options.caFile,
      insecureSkipVerify: options.insecureSkipVerify,
      timeoutMs: this.timeoutMs,
      connections: options.connections,
    });
    this.target = this.http.display;
    this.bulkPath = options.pipeline === undefined || options.pipeline === ''
      ? '/_bulk'
      : `/_bulk?pipeline=${encodeURIComponent(options.pipeline)}`;
    const { headers, secrets } = authorization(options.auth);
    this.authHeaders = headers;
    this.secrets = secrets;
  }

  async probe(signal: AbortSignal): Promise<ElasticsearchProbeResult> {
    let response: HttpResponse;
    try {
      response = await this.http.request('GET', '/', {
        headers: { accept: 'application/json', ...this.authHeaders },
        signal,
        maxBodyBytes: 1024 * 1024,
      });
    } catch (error) {
      return { ok: false, reason: this.redact(`${describeHttpError(error, this.timeoutMs)} (${this.target})`) };
    }
    const { status, body } = response;
    if (status === 401) return { ok: false, reason: this.redact(`401 from ${this.target}: authentication failed, check the credentials (${describeErrorBody(body)})`) };
    if (status === 403) {
      // Authenticated, but GET / needs the `monitor` cluster privilege, which a writer need not have.
      const server: ServerInfo = { flavour: 'unknown', version: '', description: 'a cluster that accepted the credentials but does not show its version to them (403 on GET /)' };
      this.server = server;
      return { ok: true, server };
    }
    if (status < 200 || status >= 300) return { ok: false, reason: this.redact(`${status} from ${this.target}: ${describeErrorBody(body)}`) };
    const server = serverInfo(body, response.headers['x-elastic-product']);
    if (server === undefined) {
      return { ok: false, reason: this.redact(`${status} from ${this.target} is not an Elasticsearch or OpenSearch info response: ${excerpt(body, 200)}`) };
    }
    if (server.flavour === 'elasticsearch' && Number.parseInt(server.version, 10) < 7) {
      return { ok: false, reason: `${server.description} at ${this.target} is too old: 7.0 or later is needed`, server };
    }
    this.server = server;
    return { ok: true, server };
  }

  async deliver(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult> {
    try {
      return await this.send(batch, signal);
    } catch (error) {
      return retryAll(batch, this.redact(`unexpected error sending to ${this.target}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async send(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult> {
    const { lines, parts, rejected } = this.frame(batch);
    const retry: number[] = [];
    let reason: string | undefined;
    let retryAfterMs: number | undefined;
    let itemRetryReason: string | undefined;
    while (parts.length > 0) {
      const current = parts.shift() ?? [];
      if (signal.aborted) {
        retry.push(...current, ...parts.flat());
        reason = `aborted before sending to ${this.target}`;
        break;
      }
      const outcome = await this.post(current, lines, signal);
      if (outcome.kind === 'items') {
        outcome.items.forEach((item, k) => {
          const index = current[k] ?? -1;
          if (item.kind === 'retry') {
            retry.push(index);
            itemRetryReason ??= item.reason;
          } else if (item.kind === 'rejected') {
            rejected.push({ index, reason: this.redact(item.reason) });
          }
        });
      } else if (outcome.kind === 'too_large') {
        if (current.length > 1) {
          const half = Math.ceil(current.length / 2);
          parts.unshift(current.slice(0, half), current.slice(half));
        } else {
          const index = current[0] ?? -1;
          rejected.push({ index, reason: `${outcome.reason} (this document alone is ${Buffer.byteLength(lines[index] ?? '')} bytes with its action line)` });
        }
      } else {
        // The cluster or the network is in trouble: sending the rest now would only add load.
        retry.push(...current, ...parts.flat());
        reason = outcome.reason;
        retryAfterMs = outcome.retryAfterMs;
        break;
      }
    }
    if (reason === undefined && itemRetryReason !== undefined) {
      reason = this.redact(`${retry.length} of ${batch.events.length} documents not stored by ${this.target}, e.g. ${itemRetryReason}`);
    }
    retry.sort((a, b) => a - b);
    rejected.sort((a, b) => a.index - b.index);
    const result: DeliveryResult = { retry, rejected };
    if (retry.length > 0 && reason !== undefined) result.reason = reason;
    if (retry.length > 0 && retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    return result;
  }

  /**
   * Turns events into action and document lines, grouped into requests of at most
   * maxBulkBytes; an event that cannot be one NDJSON line is rejected here.
   */
  private frame(batch: DeliveryBatch): { lines: string[]; parts: number[][]; rejected: RejectedEvent[] } {
    const now = new Date();
    const lines: string[] = [];
    const parts: number[][] = [];
    const rejected: RejectedEvent[] = [];
    let part: number[] = [];
    let partBytes = 0;
    batch.events.forEach((event, i) => {
      if (event === '' || event.includes('\n')) {
        rejected.push({ index: i, reason: 'not a single-line JSON document' });
        return;
      }
      const meta: Record<string, string> = { _index: this.indexName.forEvent(event, now) };
      const id = batch.eventIds[i];
      if (this.documentIds && id !== undefined && id !== '') meta._id = id;
      const line = `${JSON.stringify({ [this.action]: meta })}\n${event}\n`;
      lines[i] = line;
      const bytes = Buffer.byteLength(line);
      if (part.length > 0 && partBytes + bytes > this.maxBulkBytes) {
        parts.push(part);
        part = [];
        partBytes = 0;
      }
      part.push(i);
      partBytes += bytes;
    });
    if (part.length > 0) parts.push(part);
    return { lines, parts, rejected };
  }

  /** One `_bulk` request for the given events. */
  private async post(indices: readonly number[], lines: readonly string[], signal: AbortSignal): Promise<RequestOutcome> {
    const ndjson = Buffer.from(indices.map((i) => lines[i]).join(''));
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      accept: 'application/json',
      ...this.authHeaders,
    };
    let body: Uint8Array = ndjson;
    if (this.compression) {
      body = await gzip(ndjson);
      headers['content-encoding'] = 'gzip';
    }
    let response: HttpResponse;
    try {
      response = await this.http.request('POST', this.bulkPath, { headers, body, signal });
    } catch (error) {
      return { kind: 'failed', reason: this.redact(`${describeHttpError(error, this.timeoutMs)} (${this.target})`) };
    }
    const { status } = response;
    const from = `${status} from ${this.target}`;
    if (status >= 200 && status < 300) {
      const read = readBulkResponse(response.body, indices.length, this.action === 'create' && this.documentIds);
      if (read.ok) return { kind: 'items', items: read.items };
      return { kind: 'failed', reason: this.redact(`${from}, but ${read.reason}`) };
    }
    if (status === 413) {
      return { kind: 'too_large', reason: `${from}: request larger than the cluster accepts (http.max_content_length)` };
    }
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']));
    const detail = describeErrorBody(response.body);
    let reason: string;
    if (status === 401) reason = `${from}: authentication failed, check the credentials (${detail})`;
    else if (status === 403) reason = `${from}: the credentials lack a privilege (${detail})`;
    else if (status >= 300 && status < 400) reason = `${from}: redirects are not followed; configure the final URL (${headerValue(response.headers.location) ?? 'no Location'})`;
    else reason = `${from}: ${detail}`;
    const failed: RequestOutcome = { kind: 'failed', reason: this.redact(reason) };
    if (retryAfterMs !== undefined) failed.retryAfterMs = retryAfterMs;
    return failed;
  }

  /** Whatever the server echoes back, a credential never reaches a log line or a dead-letter file. */
  private redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}

function authorization(auth: ElasticsearchAuth | undefined): { headers: Record<string, string>; secrets: string[] } {
  if (auth === undefined) return { headers: {}, secrets: [] };
  if ('apiKey' in auth) {
    // Kibana shows the key as `encoded` (base64 of id:api_key); the create-key API also returns id and api_key separately.
    const encoded = auth.apiKey.includes(':') ? Buffer.from(auth.apiKey).toString('base64') : auth.apiKey;
    return { headers: { authorization: `ApiKey ${encoded}` }, secrets: nonEmpty([auth.apiKey, encoded, ...auth.apiKey.split(':').slice(1)]) };
  }
  const encoded = Buffer.from(`${auth.user}:${auth.password}`).toString('base64');
  return { headers: { authorization: `Basic ${encoded}` }, secrets: nonEmpty([auth.password, encoded]) };
}

function nonEmpty(values: string[]): string[] {
  return values.filter((value) => value.length >= 4);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads `GET /`: `{"version":{"number":"8.15.0","distribution":"opensearch"?},"cluster_name":…,"tagline":…}`. */
function serverInfo(body: string, productHeader: string | string[] | undefined): ServerInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const info = parsed as { version?: { number?: unknown; distribution?: unknown }; cluster_name?: unknown; tagline?: unknown };
  const version = typeof info.version?.number === 'string' ? info.version.number : undefined;
  if (version === undefined) return undefined;
  const cluster = typeof info.cluster_name === 'string' ? ` (cluster ${JSON.stringify(info.cluster_name)})` : '';
  if (info.version?.distribution === 'opensearch') {
    return { flavour: 'opensearch', version, description: `OpenSearch ${version}${cluster}` };
  }
  if (headerValue(productHeader) === 'Elasticsearch' || info.tagline === 'You Know, for Search') {
    return { flavour: 'elasticsearch', version, description: `Elasticsearch ${version}${cluster}` };
  }
  return { flavour: 'unknown', version, description: `an Elasticsearch-compatible server reporting version ${version}${cluster}` };
}
