import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * An in-process Splunk HTTP Event Collector on 127.0.0.1, answering as Splunk documents it
 * (status codes and bodies from "Troubleshoot HTTP Event Collector", the event format from
 * "Format events for HTTP Event Collector", acknowledgement from "About HTTP Event
 * Collector Indexer Acknowledgment"). No real Splunk can run on the test machines.
 *
 * Faithful behaviour worth knowing when reading the tests:
 * - the token is checked first (401 code 2/3, 403 code 1/4), then the channel when the
 *   token has acknowledgement on (400 code 10/11), then the body;
 * - events in a body are concatenated JSON objects, processed in order: at the first one
 *   HEC cannot take, it answers 400 with `invalid-event-number` and the events before it
 *   stay indexed, the ones after it are not looked at;
 * - with acknowledgement, each accepted request gets the next ackId of its channel; an
 *   ackId is reported true once, then forgotten (false afterwards).
 */

export interface FakeHecOptions {
  /** Default: a random GUID. */
  token?: string;
  tokenDisabled?: boolean;
  /** The token has indexer acknowledgement (useACK) turned on. */
  ack?: boolean;
  /** The token's allowed indexes; absent: any index. */
  indexes?: string[];
  /** The token's default index. Default `main`. */
  defaultIndex?: string;
  /** HEC's max_content_length, compared with the request's wire size. */
  maxContentLength?: number;
}

/** One event HEC took: the envelope as received, with the index it went to. */
export interface IndexedEvent {
  time?: unknown;
  host?: unknown;
  source?: unknown;
  sourcetype?: unknown;
  index: string;
  fields?: unknown;
  event: unknown;
  channel: string | undefined;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body after Content-Encoding was undone. */
  body: string;
  /** Bytes on the wire. */
  wireBytes: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Answer = { status: number; body: Record<string, unknown> | string; headers?: Record<string, string> };

function hec(status: number, code: number, text: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { text, code, ...extra } };
}

export class FakeSplunkHec {
  readonly token: string;
  readonly events: IndexedEvent[] = [];
  readonly requests: ReceivedRequest[] = [];
  /** Answer event posts and health checks with 503 "Server is busy" (code 9). */
  busy: { retryAfter?: string } | undefined;
  /** Never answer event posts (the request stays open until close()). */
  hang = false;
  /** Answer event posts with 200 and this body instead of HEC JSON (a misbehaving proxy). */
  garbage: string | undefined;
  /** Refuse an event as HEC refuses malformed data (code 6), as if it could not parse it. */
  malformed: ((envelope: Record<string, unknown>) => boolean) | undefined;
  /** An ackId turns true this long after its request was accepted. */
  ackDelayMs = 0;
  /** Acks never turn true (the data was lost before indexing). */
  loseAcks = false;
  ackQueries = 0;
  /** Called before each event post is answered, e.g. to change modes between the requests of one batch. */
  beforeEventRequest: (() => void) | undefined;
  url = '';

  private readonly server: http.Server;
  private readonly channels = new Map<string, { next: number; issued: Map<number, number> }>();

  private constructor(private readonly options: FakeHecOptions) {
    this.token = options.token ?? randomUUID();
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(options: FakeHecOptions = {}): Promise<FakeSplunkHec> {
    const fake = new FakeSplunkHec(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** What a restart does to acknowledgement: every channel's ackIds start again at 0, pending ones are gone. */
  restartAcks(): void {
    this.channels.clear();
  }

  /** Requests to the event endpoint. */
  eventRequests(): ReceivedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/services/collector/event'));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const wire = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      let body: string | undefined;
      try {
        body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire).toString('utf8') : wire.toString('utf8');
      } catch {
        body = undefined;
      }
      this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, body: body ?? '', wireBytes: wire.length });
      const answer = this.route(req, url, body, wire.length);
      if (answer === undefined) return;
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  }

  /** undefined: leave the request unanswered. */
  private route(req: http.IncomingMessage, url: URL, body: string | undefined, wireBytes: number): Answer | undefined {
    const path = url.pathname.replace(/\/1\.0$/, '');
    if (path === '/services/collector/health' && req.method === 'GET') {
      return this.busy === undefined ? hec(200, 17, 'HEC is healthy') : hec(503, 18, 'HEC is unhealthy, queues are full');
    }
    if (req.method !== 'POST' || (path !== '/services/collector/event' && path !== '/services/collector' && path !== '/services/collector/ack')) {
      return { status: 404, body: { text: 'The requested URL was not found on this server.', code: 404 } };
    }
    const denied = this.authenticate(req.headers.authorization);
    if (denied !== undefined) return denied;
    const channel = url.searchParams.get('channel') ?? headerValue(req.headers['x-splunk-request-channel']);
    if (path === '/services/collector/ack') return this.ackQuery(channel, body);
    this.beforeEventRequest?.();
    if (this.hang) return undefined;
    if (this.busy !== undefined) {
      const answer = hec(503, 9, 'Server is busy');
      if (this.busy.retryAfter !== undefined) answer.headers = { 'retry-after': this.busy.retryAfter };
      return answer;
    }
    if (this.options.ack === true) {
      if (channel === undefined) return hec(400, 10, 'Data channel is missing');
      if (!GUID.test(channel)) return hec(400, 11, 'Invalid data channel');
    }
    if (this.options.maxContentLength !== undefined && wireBytes > this.options.maxContentLength) {
      return { status: 413, body: { text: `Content-Length of ${wireBytes} too large (maximum is ${this.options.maxContentLength})`, code: 413 } };
    }
    if (this.garbage !== undefined) return { status: 200, body: this.garbage, headers: { 'content-type': 'text/html' } };
    if (body === undefined) return hec(400, 6, 'Invalid data format', { 'invalid-event-number': 0 });
    if (body.trim() === '') return hec(400, 5, 'No data');
    const refused = this.index(body, channel);
    if (refused !== undefined) return refused;
    if (this.options.ack !== true || channel === undefined) return hec(200, 0, 'Success');
    return hec(200, 0, 'Success', { ackId: this.issueAck(channel) });
  }

  private authenticate(authorization: string | undefined): Answer | undefined {
    if (authorization === undefined) return hec(401, 2, 'Token is required');
    const match = /^Splunk (\S+)$/.exec(authorization);
    if (match === null) return hec(401, 3, 'Invalid authorization');
    if (match[1] !== this.token) return hec(403, 4, 'Invalid token');
    if (this.options.tokenDisabled === true) return hec(403, 1, 'Token disabled');
    return undefined;
  }

  /** Takes the events in order; the first it cannot take ends the request. */
  private index(body: string, channel: string | undefined): Answer | undefined {
    let number = 0;
    for (const value of concatenatedJson(body)) {
      const refused = this.refusal(value);
      if (refused !== undefined) return hec(400, refused.code, refused.text, { 'invalid-event-number': number });
      const envelope = value as Record<string, unknown>;
      this.events.push({ ...envelope, index: (envelope.index as string | undefined) ?? this.options.defaultIndex ?? 'main', event: envelope.event, channel });
      number++;
    }
    return undefined;
  }

  private refusal(value: unknown): { code: number; text: string } | undefined {
    if (value === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return { code: 6, text: 'Invalid data format' };
    const envelope = value as Record<string, unknown>;
    if (this.malformed?.(envelope) === true) return { code: 6, text: 'Invalid data format' };
    if (!('event' in envelope)) return { code: 12, text: 'Event field is required' };
    const event = envelope.event;
    if (event === null || (typeof event === 'string' && event.trim() === '')) return { code: 13, text: 'Event field cannot be blank' };
    const index = envelope.index;
    if (index !== undefined && (typeof index !== 'string' || (this.options.indexes !== undefined && !this.options.indexes.includes(index)))) {
      return { code: 7, text: 'Incorrect index' };
    }
    const fields = envelope.fields;
    if (fields !== undefined && !validFields(fields)) return { code: 15, text: 'Error in handling indexed fields' };
    return undefined;
  }

  private issueAck(channel: string): number {
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { next: 0, issued: new Map() };
      this.channels.set(channel, state);
    }
    const ackId = state.next++;
    state.issued.set(ackId, Date.now());
    return ackId;
  }

  private ackQuery(channel: string | undefined, body: string | undefined): Answer {
    this.ackQueries++;
    if (this.options.ack !== true) return hec(400, 14, 'ACK is disabled');
    if (channel === undefined) return hec(400, 10, 'Data channel is missing');
    if (!GUID.test(channel)) return hec(400, 11, 'Invalid data channel');
    let ids: unknown;
    try {
      ids = (JSON.parse(body ?? '') as { acks?: unknown }).acks;
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id))) return hec(400, 6, 'Invalid data format');
    const issued = this.channels.get(channel)?.issued;
    const acks: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const at = issued?.get(id);
      const indexed = at !== undefined && !this.loseAcks && Date.now() - at >= this.ackDelayMs;
      if (indexed) issued?.delete(id);
      acks[String(id)] = indexed;
    }
    return { status: 200, body: { acks } };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function validFields(fields: unknown): boolean {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return false;
  return Object.values(fields).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
}

/**
 * The JSON values of a HEC body, one after another (whitespace between them optional).
 * Yields undefined for a value that does not parse, after which nothing more is read.
 */
function* concatenatedJson(body: string): Generator<unknown> {
  let i = 0;
  while (true) {
    while (i < body.length && /\s/.test(body[i] as string)) i++;
    if (i >= body.length) return;
    const end = valueEnd(body, i);
    if (end === undefined) {
      yield undefined;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.slice(i, end));
    } catch {
      yield undefined;
      return;
    }
    yield value;
    i = end;
  }
}

/** Where the object starting at `start` ends (exclusive); undefined if it is not an object or never ends. */
function valueEnd(body: string, start: number): number | undefined {
  if (body[start] !== '{') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
