/**
 * An in-process stand-in for an Elasticsearch or OpenSearch node, for tests: a real HTTP
 * server on 127.0.0.1 that answers `GET /` and `_bulk` the way the documented APIs do,
 * keeps what it accepted, and can be told to fail in the ways real clusters fail.
 *
 * No real cluster can run on the test machines, so faithfulness matters: response
 * shapes, statuses and error types below follow the servers' documentation and source.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

export type Flavour = 'elasticsearch' | 'opensearch';

export interface FakeElasticsearchOptions {
  /** Default `elasticsearch`. */
  flavour?: Flavour;
  /** `version.number`; default 8.15.0, or 2.17.0 for OpenSearch. */
  version?: string;
  /** Require these credentials on every request (Elasticsearch security / OpenSearch security plugin). */
  auth?: { user: string; password: string } | { apiKeyId: string; apiKey: string };
  /** `http.max_content_length`, checked on the decompressed body; default 100 MiB as in both servers. */
  maxContentLength?: number;
  /** Names that are data streams (append-only: `create` only, `@timestamp` required). */
  dataStreams?: readonly string[];
  clusterName?: string;
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** A bulk item error as the servers report it. */
export interface ItemError {
  status: number;
  type: string;
  reason: string;
  caused_by?: { type: string; reason: string };
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body: string;
}

export interface RecordedRequest {
  method: string;
  /** With the query string. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body as it arrived on the wire. */
  raw: Buffer;
  /** The body after Content-Encoding was undone (undefined when that failed). */
  text: string | undefined;
}

/** One index/create operation of a bulk request, as the fake understood it. */
export interface BulkDocument {
  action: 'index' | 'create';
  index: string;
  id: string | undefined;
  source: string;
  /** Position in its bulk request, from 0. */
  position: number;
}

export interface StoredDocument {
  _id: string;
  /** The concrete index (a `.ds-…` backing index for a data stream). */
  _index: string;
  _version: number;
  source: unknown;
}

/** A document refused by a mapping: ES 8.8+ says document_parsing_exception, older ES and OpenSearch mapper_parsing_exception. */
export function mappingError(flavour: Flavour, version: string, field: string, value: string): ItemError {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const modern = flavour === 'elasticsearch' && (major > 8 || (major === 8 && minor >= 8));
  return {
    status: 400,
    type: modern ? 'document_parsing_exception' : 'mapper_parsing_exception',
    reason: `[1:15] failed to parse field [${field}] of type [long] in document. Preview of field's value: '${value}'`,
    caused_by: { type: 'illegal_argument_exception', reason: `For input string: "${value}"` },
  };
}

/** A write thread pool with a full queue. */
export function rejectedExecution(): ItemError {
  return {
    status: 429,
    type: 'es_rejected_execution_exception',
    reason: 'rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=512, max_coordinating_and_primary_bytes=53687091] on EsThreadPoolExecutor[name = fake-node/write, queue capacity = 10000, task execution rejected]',
  };
}

/** The documented error envelope: `{"error":{"root_cause":[…],"type":…,"reason":…},"status":N}`. */
export function errorBody(status: number, type: string, reason: string, extra: Record<string, unknown> = {}): string {
  const cause = { type, reason, ...extra };
  return JSON.stringify({ error: { root_cause: [cause], ...cause }, status });
}

/** A whole-request 429, as a node answers when its write queue is full. */
export function tooManyRequests(retryAfter?: string): FakeResponse {
  const { reason } = rejectedExecution();
  const response: FakeResponse = { status: 429, body: errorBody(429, 'es_rejected_execution_exception', reason) };
  if (retryAfter !== undefined) response.headers = { 'retry-after': retryAfter };
  return response;
}

/** A whole-request 503 while the cluster has no elected master. */
export function unavailable(): FakeResponse {
  return { status: 503, body: errorBody(503, 'cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/2/no master];') };
}

export class FakeElasticsearch {
  readonly flavour: Flavour;
  readonly version: string;
  readonly requests: RecordedRequest[] = [];
  /** Answers for the next `_bulk` requests, first in first out, instead of processing them. */
  readonly scripted: FakeResponse[] = [];
  /** Asked when `scripted` is empty, with the number of `_bulk` requests before this one; an answer replaces processing. */
  interceptBulk: ((request: RecordedRequest, n: number) => FakeResponse | undefined) | undefined;
  /** Consulted for every index/create operation before it is applied; an error fails that item. */
  failDocument: ((document: BulkDocument) => ItemError | undefined) | undefined;
  /** Read requests but never answer them. */
  hang = false;
  url = '';

  private readonly server: http.Server;
  private readonly indices = new Map<string, Map<string, StoredDocument>>();
  private readonly maxContentLength: number;
  private readonly dataStreams: ReadonlySet<string>;
  private readonly major: number;
  private seqNo = 0;

  private constructor(private readonly options: FakeElasticsearchOptions) {
    this.flavour = options.flavour ?? 'elasticsearch';
    this.version = options.version ?? (this.flavour === 'opensearch' ? '2.17.0' : '8.15.0');
    this.major = Number.parseInt(this.version, 10);
    this.maxContentLength = options.maxContentLength ?? 100 * 1024 * 1024;
    this.dataStreams = new Set(options.dataStreams ?? []);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.receive(req, res);
    this.server = options.tls === undefined ? http.createServer(handler) : https.createServer(options.tls, handler);
  }

  static async start(options: FakeElasticsearchOptions = {}): Promise<FakeElasticsearch> {
    const fake = new FakeElasticsearch(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** What an index or data stream holds, in the order it was first written. */
  documents(index: string): StoredDocument[] {
    return [...(this.indices.get(index)?.values() ?? [])];
  }

  /** Names of every index and data stream that holds documents. */
  indexNames(): string[] {
    return [...this.indices.keys()].sort();
  }

  get bulkRequests(): RecordedRequest[] {
    return this.requests.filter((request) => /\/_bulk(\?|$)/.test(request.path));
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Like Netty's aggregator in front of both servers: a declared length over the limit is
    // answered at once, and the body that still arrives is discarded.
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!this.hang && req.headers['content-encoding'] === undefined && declared > this.maxContentLength) {
      this.requests.push({ method: req.method ?? '', path: req.url ?? '/', headers: req.headers, raw: Buffer.alloc(0), text: undefined });
      this.send(res, { status: 413, body: '' });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = decode(raw, req.headers['content-encoding']);
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '/', headers: req.headers, raw, text };
      this.requests.push(recorded);
      if (this.hang) return;
      this.send(res, this.answer(recorded));
    });
  }

  private answer(request: RecordedRequest): FakeResponse {
    const denied = this.authenticate(request);
    if (denied !== undefined) return denied;
    const url = new URL(request.path, 'http://fake');
    if (url.pathname === '/' && (request.method === 'GET' || request.method === 'HEAD')) return this.info();
    const bulk = /^\/(?:([^/]+)\/)?_bulk$/.exec(url.pathname);
    if (bulk !== null) {
      if (request.method !== 'POST' && request.method !== 'PUT') {
        return { status: 405, body: JSON.stringify({ error: `Incorrect HTTP method for uri [${request.path}] and method [${request.method}], allowed: [POST, PUT]`, status: 405 }) };
      }
      const scripted = this.scripted.shift() ?? this.interceptBulk?.(request, this.bulkRequests.length - 1);
      if (scripted !== undefined) return scripted;
      return this.bulk(request, bulk[1] === undefined ? undefined : decodeURIComponent(bulk[1]));
    }
    return { status: 400, body: JSON.stringify({ error: `no handler found for uri [${request.path}] and method [${request.method}]` }) };
  }

  private authenticate(request: RecordedRequest): FakeResponse | undefined {
    const auth = this.options.auth;
    if (auth === undefined) return undefined;
    const header = request.headers.authorization ?? '';
    const [scheme = '', value = ''] = header.split(' ', 2);
    const path = new URL(request.path, 'http://fake').pathname;
    if ('user' in auth) {
      const [user, ...rest] = scheme === 'Basic' ? Buffer.from(value, 'base64').toString('utf8').split(':') : [];
      if (user === auth.user && rest.join(':') === auth.password) return undefined;
      if (this.flavour === 'opensearch') return { status: 401, headers: { 'www-authenticate': 'Basic realm="OpenSearch Security"', 'content-type': 'text/plain; charset=UTF-8' }, body: 'Unauthorized' };
      return this.securityError(user === undefined ? `missing authentication credentials for REST request [${path}]` : `unable to authenticate user [${user}] for REST request [${path}]`);
    }
    if (scheme === 'ApiKey' && value === Buffer.from(`${auth.apiKeyId}:${auth.apiKey}`).toString('base64')) return undefined;
    if (this.flavour === 'opensearch') return { status: 401, headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: 'Unauthorized' };
    return this.securityError(header === '' ? `missing authentication credentials for REST request [${path}]` : 'unable to authenticate with provided credentials and anonymous access is not allowed for this request');
  }

  private securityError(reason: string): FakeResponse {
    const challenges = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'];
    return {
      status: 401,
      headers: { 'www-authenticate': challenges },
      body: errorBody(401, 'security_exception', reason, { header: { 'WWW-Authenticate': challenges } }),
    };
  }

  private info(): FakeResponse {
    const version: Record<string, unknown> = this.flavour === 'opensearch'
      ? { distribution: 'opensearch', number: this.version, build_type: 'tar', build_snapshot: false, lucene_version: '9.11.1', minimum_wire_compatibility_version: '7.10.0', minimum_index_compatibility_version: '7.0.0' }
      : { number: this.version, build_flavor: 'default', build_type: 'docker', build_snapshot: false, lucene_version: '9.11.1', minimum_wire_compatibility_version: '7.17.0', minimum_index_compatibility_version: '7.0.0' };
    return {
      status: 200,
      body: JSON.stringify({
        name: 'fake-node',
        cluster_name: this.options.clusterName ?? 'loom-test',
        cluster_uuid: 'Xq0uYQm3T7q2Vt3GvHkYxw',
        version,
        tagline: this.flavour === 'opensearch' ? 'The OpenSearch Project: https://opensearch.org/' : 'You Know, for Search',
      }),
    };
  }

  private bulk(request: RecordedRequest, pathIndex: string | undefined): FakeResponse {
    const started = Date.now();
    const mediaProblem = this.checkContentType(request.headers['content-type'], request.headers.accept);
    if (mediaProblem !== undefined) return mediaProblem;
    if (request.text === undefined) return { status: 400, body: errorBody(400, 'illegal_argument_exception', 'failed to decompress the request body') };
    if (Buffer.byteLength(request.text) > this.maxContentLength) return { status: 413, body: '' };
    if (request.text.trim() === '') return { status: 400, body: errorBody(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;') };
    if (!request.text.endsWith('\n')) return { status: 400, body: errorBody(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]') };

    const operations: BulkDocument[] = [];
    const lines = request.text.split('\n');
    for (let n = 0; n < lines.length - 1; n += 1) {
      const line = lines[n] ?? '';
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return { status: 400, body: errorBody(400, 'illegal_argument_exception', `Malformed action/metadata line [${n + 1}], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]`) };
      }
      const entries = typeof parsed === 'object' && parsed !== null ? Object.entries(parsed) : [];
      const [action, meta] = entries[0] ?? [];
      if (action !== 'index' && action !== 'create') {
        return { status: 400, body: errorBody(400, 'illegal_argument_exception', `Malformed action/metadata line [${n + 1}], expected one of [create, delete, index, update] but found [${String(action)}] (this fake handles index and create only)`) };
      }
      const fields = (typeof meta === 'object' && meta !== null ? meta : {}) as Record<string, unknown>;
      for (const key of Object.keys(fields)) {
        if (!['_index', '_id', 'pipeline', 'routing', 'require_alias', 'dynamic_templates'].includes(key)) {
          return { status: 400, body: errorBody(400, 'illegal_argument_exception', `Action/metadata line [${n + 1}] contains an unknown parameter [${key}]`) };
        }
      }
      const index = typeof fields._index === 'string' ? fields._index : pathIndex;
      if (index === undefined) return { status: 400, body: errorBody(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;') };
      n += 1;
      if (n >= lines.length - 1) return { status: 400, body: errorBody(400, 'illegal_argument_exception', `The bulk request must be terminated by a newline [\\n]`) };
      operations.push({ action, index, id: typeof fields._id === 'string' ? fields._id : undefined, source: lines[n] ?? '', position: operations.length });
    }
    const items = operations.map((operation) => ({ [operation.action]: this.apply(operation) }));
    const errors = items.some((item) => Object.values(item).some((result) => (result.status as number) >= 300));
    return { status: 200, body: JSON.stringify({ errors, took: Date.now() - started, items }) };
  }

  /** The item result for one operation, storing the document when it succeeds. */
  private apply(operation: BulkDocument): Record<string, unknown> {
    const typed = this.itemType();
    const base = (index: string, id: string | undefined): Record<string, unknown> => ({ _index: index, ...typed, ...(id === undefined ? {} : { _id: id }) });
    const fail = (index: string, error: ItemError): Record<string, unknown> => {
      const { status, ...details } = error;
      return { ...base(index, operation.id), status, error: { ...details, index_uuid: 'aAsn2ZKrQYa6qSgeX6bcvw', shard: '0', index } };
    };
    const invalid = invalidIndexName(operation.index);
    if (invalid !== undefined) return { ...base(operation.index, operation.id), status: 400, error: { type: 'invalid_index_name_exception', reason: `Invalid index name [${operation.index}], ${invalid}`, index_uuid: '_na_', index: operation.index } };
    const injected = this.failDocument?.(operation);
    if (injected !== undefined) return fail(operation.index, injected);
    if (operation.id !== undefined && Buffer.byteLength(operation.id) > 512) {
      return fail(operation.index, { status: 400, type: 'illegal_argument_exception', reason: `id [${operation.id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(operation.id)}` });
    }
    let source: unknown;
    try {
      source = JSON.parse(operation.source);
    } catch (error) {
      const parsing = mappingError(this.flavour, this.version, '', '');
      return fail(operation.index, { status: 400, type: parsing.type, reason: '[1:1] failed to parse', caused_by: { type: 'x_content_parse_exception', reason: (error as Error).message } });
    }
    if (typeof source !== 'object' || source === null || Array.isArray(source)) {
      const parsing = mappingError(this.flavour, this.version, '', '');
      return fail(operation.index, { status: 400, type: parsing.type, reason: '[1:1] failed to parse', caused_by: { type: 'not_x_content_exception', reason: 'Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes' } });
    }
    let concrete = operation.index;
    if (this.dataStreams.has(operation.index)) {
      if (operation.action !== 'create') {
        return { ...base(operation.index, operation.id), status: 400, error: { type: 'illegal_argument_exception', reason: 'only write ops with an op_type of create are allowed in data streams' } };
      }
      if (!('@timestamp' in source)) {
        const parsing = mappingError(this.flavour, this.version, '', '');
        return fail(operation.index, { status: 400, type: parsing.type, reason: '[1:2] failed to parse: data stream timestamp field [@timestamp] is missing', caused_by: { type: 'illegal_argument_exception', reason: 'data stream timestamp field [@timestamp] is missing' } });
      }
      concrete = `.ds-${operation.index}-${new Date().toISOString().slice(0, 10).replace(/-/g, '.')}-000001`;
    }
    let documents = this.indices.get(operation.index);
    if (documents === undefined) {
      documents = new Map();
      this.indices.set(operation.index, documents);
    }
    const id = operation.id ?? randomBytes(15).toString('base64url');
    const existing = documents.get(id);
    if (existing !== undefined && operation.action === 'create') {
      return fail(concrete, { status: 409, type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [${existing._version}])` });
    }
    const version = (existing?._version ?? 0) + 1;
    documents.set(id, { _id: id, _index: concrete, _version: version, source });
    return {
      ...base(concrete, id),
      _version: version,
      result: existing === undefined ? 'created' : 'updated',
      _shards: { total: 2, successful: 1, failed: 0 },
      _seq_no: this.seqNo++,
      _primary_term: 1,
      status: existing === undefined ? 201 : 200,
    };
  }

  /** ES 7 and OpenSearch 1 still name the (single) mapping type in every item. */
  private itemType(): Record<string, string> {
    const typed = this.flavour === 'elasticsearch' ? this.major < 8 : this.major < 2;
    return typed ? { _type: '_doc' } : {};
  }

  /**
   * Both servers take `application/json` and `application/x-ndjson`; Elasticsearch 8+ also
   * takes its versioned types (what its official clients send) for its own major version
   * and the one before.
   */
  private checkContentType(contentType: string | undefined, accept: string | undefined): FakeResponse | undefined {
    if (contentType === undefined) return { status: 406, body: JSON.stringify({ error: 'Content-Type header is missing', status: 406 }) };
    const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (media === 'application/json' || media === 'application/x-ndjson') return undefined;
    const versioned = /^application\/vnd\.elasticsearch\+(?:json|x-ndjson)$/.test(media);
    if (!versioned || this.flavour !== 'elasticsearch' || this.major < 8) {
      return { status: 406, body: JSON.stringify({ error: `Content-Type header [${contentType}] is not supported`, status: 406 }) };
    }
    const wanted = Number(/compatible-with=(\d+)/.exec(contentType)?.[1]);
    const accepted = accept === undefined ? undefined : Number(/compatible-with=(\d+)/.exec(accept)?.[1]);
    if (wanted !== this.major && wanted !== this.major - 1 || (accepted !== undefined && accepted !== wanted)) {
      return {
        status: 400,
        body: errorBody(400, 'media_type_header_exception', 'Invalid media-type value on headers [Content-Type, Accept]', {
          caused_by: { type: 'status_exception', reason: `A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept=${accept ?? 'null'}, Content-Type=${contentType}` },
        }),
      };
    }
    return undefined;
  }

  private send(res: http.ServerResponse, response: FakeResponse): void {
    const headers: Record<string, string | string[]> = { 'content-type': 'application/json', ...response.headers };
    // Elasticsearch names itself on every response since 7.14, except to unauthenticated callers.
    const [major = 0, minor = 0] = this.version.split('.').map(Number);
    if (this.flavour === 'elasticsearch' && (major > 7 || (major === 7 && minor >= 14)) && response.status !== 401 && response.status !== 403) {
      headers['x-elastic-product'] = 'Elasticsearch';
    }
    res.writeHead(response.status, headers);
    res.end(response.body);
  }
}

function decode(raw: Buffer, encoding: string | undefined): string | undefined {
  try {
    if (encoding === 'gzip') return gunzipSync(raw).toString('utf8');
    if (encoding === 'deflate') return inflateSync(raw).toString('utf8');
    return raw.toString('utf8');
  } catch {
    return undefined;
  }
}

function invalidIndexName(name: string): string | undefined {
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'must not contain the following characters [\'\\\\\', \'/\', \'*\', \'?\', \'"\', \'<\', \'>\', \'|\', \' \', \',\']';
  if (/^[-_+]/.test(name)) return 'must not start with \'_\', \'-\', or \'+\'';
  return undefined;
}
