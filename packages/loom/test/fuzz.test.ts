import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { apiErrors } from '../src/errors.js';
import { baseToml, spipEvent, startLoom, type LoomProcess } from './helpers/loom-process.js';
import { parseResponses, rawExchange, request } from './helpers/http.js';
import { mulberry32, Random, seedFromEnv } from '@loom/test-support';

/**
 * Deterministic fuzzing of the ingest listener: every case is generated from the seed and
 * its own index, so a failure names the one case to replay (LOOM_FUZZ_SEED=<seed>).
 */
const seed = seedFromEnv('LOOM_FUZZ_SEED', 0x10a4f22);
// FUZZ_ITERATIONS (set by `npm run fuzz`) scales whichever of the two tests is selected; unset, CI keeps this subset.
const iterations = Number(process.env.FUZZ_ITERATIONS) || 0;
const httpCases = iterations || 10_000;
const rawCases = iterations || 600;
const connections = 4;

const token = 'fuzz-token-2f7c9a41d3';
const sensor = 'fuzz-sensor';
const limits = { body: 65_536, events: 50, event: 8192 };

interface HttpCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Send the body in pieces (chunked transfer encoding) instead of with a Content-Length. */
  chunks: number;
}

interface RawCase {
  kind: string;
  chunks: Buffer[];
  /** Whatever was sent is complete enough that loom must answer it. */
  mustRespond: boolean;
  closeEarly: boolean;
  chunkDelayMs: number;
  /** HTTP/1.1 without Host: node answers 400 with an empty body before any handler runs. */
  noHost: boolean;
}

const validHeaders = (): Record<string, string> => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${token}` });

function randomFor(index: number, salt: number): Random {
  return new Random(mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ salt) >>> 0));
}

/** A latin1 string node:http will put in a header value (no CR, LF or other controls but tab). */
function headerText(r: Random, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    const roll = r.int(4);
    text += roll === 0 ? '\t' : roll === 1 ? String.fromCharCode(0x80 + r.int(0x80)) : String.fromCharCode(0x20 + r.int(0x5f));
  }
  return text;
}

function validBatch(r: Random, index: number): string {
  const events = Array.from({ length: 1 + r.int(3) }, (_, i) => spipEvent(index * 10 + i, r.pick(['167.94.146.54', '2001:db8::7', '10.0.0.1'])));
  return JSON.stringify(events);
}

const numberTokens = ['1e999999', '-1e999999', '123456789012345678901234567890', '1.7976931348623157e309', '-0', '0.0000000000000000000000001', '9007199254740993', '1E+2', '-'];
const invalidNumberTokens = ['NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '01', '.5', '+1', '1e', '1.', '--1', '1_000'];
const invalidUtf8 = [[0xc3, 0x28], [0xff], [0xfe, 0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]];
const protoKeys = [
  '"__proto__":{"polluted":true}',
  '"constructor":{"prototype":{"polluted":true}}',
  '"__proto__":null',
  '"prototype":{"x":1}',
  '"hasOwnProperty":1',
  '"toString":"x"',
  '"records":[{"nested":1}]',
];
const wrongTypes = ['[1]', '["x"]', '[true]', '[null]', '[[]]', '[{},1]', '[{},[{}]]', '{"records":"x"}', '{"records":{"a":1}}', '{"records":null}', '"str"', '123', 'true', 'null', '{}', '[{}]', '{"__proto__":{"records":[{"a":1}]}}', '{"records":[{"a":1}],"records":[]}'];

function mutateBody(r: Random, index: number): { kind: string; body: Buffer; headers?: Record<string, string>; contentType?: string } {
  const base = validBatch(r, index);
  const bytes = Buffer.from(base);
  const kind = r.pick(['valid', 'flip', 'truncate', 'insert', 'brackets', 'deep', 'numbers', 'nan', 'utf8', 'surrogate', 'proto', 'types', 'gzip-fake', 'gzip-truncated', 'gzip', 'empty', 'whitespace', 'ndjson', 'oversize', 'many', 'big-event', 'duplicate-keys', 'control-chars']);
  switch (kind) {
    case 'valid':
      return { kind, body: bytes };
    case 'flip': {
      const copy = Buffer.from(bytes);
      for (let i = 0, n = 1 + r.int(5); i < n; i++) {
        const at = r.int(copy.length);
        copy[at] = (copy[at] as number) ^ (1 + r.int(255));
      }
      return { kind, body: copy };
    }
    case 'truncate':
      return { kind, body: bytes.subarray(0, r.int(bytes.length)) };
    case 'insert': {
      let copy = bytes;
      for (let i = 0, n = 1 + r.int(4); i < n; i++) {
        const at = r.int(copy.length + 1);
        copy = Buffer.concat([copy.subarray(0, at), r.bytes(1 + r.int(20)), copy.subarray(at)]);
      }
      return { kind, body: copy };
    }
    case 'brackets': {
      let text = base;
      for (let i = 0, n = 1 + r.int(4); i < n; i++) {
        const positions = [...text.matchAll(/[[\]{}]/g)].map((m) => m.index);
        const at = r.pick(positions);
        text = r.chance(0.5) ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + text.charAt(at) + text.slice(at);
      }
      return { kind, body: Buffer.from(text) };
    }
    case 'deep': {
      const depth = 100 + r.int(12_000);
      const closed = r.chance(0.5);
      const text = r.chance(0.5)
        ? `[${'['.repeat(depth)}${closed ? ']'.repeat(depth) : ''}]`
        : `[${'{"a":'.repeat(depth)}1${closed ? '}'.repeat(depth) : ''}]`;
      return { kind, body: Buffer.from(text) };
    }
    case 'numbers':
      return { kind, body: Buffer.from(base.replace(/\b4496\b|\b6379\b/, r.pick(numberTokens))) };
    case 'nan':
      return { kind, body: Buffer.from(base.replace(/\b4496\b|\b6379\b/, r.pick(invalidNumberTokens))) };
    case 'utf8': {
      const at = base.indexOf('security.txt');
      return { kind, body: Buffer.concat([bytes.subarray(0, at), Buffer.from(r.pick(invalidUtf8)), bytes.subarray(at)]) };
    }
    case 'surrogate': {
      const escape = r.pick(['\\ud800', '\\udfff', '\\ud83d', '\\ud83d\\ud83d', '\\udc00\\ud800', '\\u0000', '\\uffff', '\\ud83d\\ude00']);
      return { kind, body: Buffer.from(base.replace('security.txt', `security${escape}.txt`)) };
    }
    case 'proto':
      return { kind, body: Buffer.from(base.replace('{"@timestamp"', `{${r.pick(protoKeys)},"@timestamp"`)) };
    case 'types':
      return { kind, body: Buffer.from(r.pick(wrongTypes)) };
    case 'gzip-fake':
      return { kind, body: bytes, headers: { 'Content-Encoding': 'gzip' } };
    case 'gzip-truncated': {
      const zipped = gzipSync(bytes);
      return { kind, body: zipped.subarray(0, r.int(zipped.length)), headers: r.chance(0.5) ? { 'Content-Encoding': 'gzip' } : {} };
    }
    case 'gzip':
      return { kind, body: gzipSync(r.chance(0.5) ? bytes : bytes.subarray(0, r.int(bytes.length))), headers: r.chance(0.7) ? { 'Content-Encoding': r.pick(['gzip', 'x-gzip', 'GZIP']) } : {} };
    case 'empty':
      return { kind, body: Buffer.alloc(0) };
    case 'whitespace':
      return { kind, body: Buffer.from(r.pick(['   ', '\n\n', '\ufeff', '\ufeff[]', ' \t[] \n', '\r\n[{}]\r\n', '\u00a0[]'])) };
    case 'ndjson': {
      const events = JSON.parse(base) as unknown[];
      const text = events.map((e) => JSON.stringify(e)).join(r.pick(['\n', '\r\n', '\n\n', ' \n']));
      return { kind, body: Buffer.from(text), contentType: r.pick(['application/x-ndjson', 'application/json', 'application/jsonl']) };
    }
    case 'oversize':
      return { kind, body: Buffer.from(JSON.stringify([{ pad: 'x'.repeat(limits.body + r.int(10_000)) }])) };
    case 'many':
      return { kind, body: Buffer.from(JSON.stringify(Array.from({ length: limits.events + 1 + r.int(20) }, () => ({})))) };
    case 'big-event':
      return { kind, body: Buffer.from(JSON.stringify([{ pad: 'é'.repeat(limits.event / 2 + r.int(1000)) }])) };
    case 'duplicate-keys':
      return { kind, body: Buffer.from(base.replace('{"@timestamp"', '{"a":1,"a":2,"@timestamp":1,"@timestamp"')) };
    default: {
      const at = r.int(base.length);
      return { kind, body: Buffer.from(base.slice(0, at) + String.fromCharCode(r.int(0x20)) + base.slice(at)) };
    }
  }
}

const contentTypes = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/x-ndjson', 'application/ndjson', 'text/plain', '', 'application/json;;;', 'application/json\t', ';', 'application/', '*/*', 'application/json, text/plain', 'application/jsonx', 'multipart/form-data; boundary=x'];
const encodings = ['gzip', 'GZIP', 'x-gzip', 'identity', '', 'br', 'deflate', 'gzip, gzip', 'compress', 'zstd', ' gzip '];
const methods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'M-SEARCH', 'PURGE', 'LINK', 'SEARCH', 'QUERY', 'FOO', 'post', 'BREW'];
const paths = ['/', '/ingest', '/api/v1/ingest', '/api/v1/ingest?x=1', '/API/V1/INGEST', '//ingest', '/ingest/', '/%2e%2e/', '/api/v1/ingest/..', '/metrics', '/health', '/api/v1/ingest%00', '/?', '/ingest#frag', '/api/v2/ingest', '/api/v1/ingest;x'];

function httpCase(index: number): HttpCase {
  const r = randomFor(index, 0x1);
  const mutated = r.chance(0.8) ? mutateBody(r, index) : { kind: 'valid', body: Buffer.from(validBatch(r, index)) };
  const headers: Record<string, string> = { ...validHeaders(), ...(mutated.headers ?? {}) };
  if (mutated.contentType !== undefined) headers['Content-Type'] = mutated.contentType;
  if (r.chance(0.3)) headers['X-Spip-ID'] = sensor;
  const tags: string[] = [mutated.kind];
  for (let i = 0, n = r.chance(0.4) ? 1 + r.int(3) : 0; i < n; i++) {
    const which = r.pick(['content-type', 'authorization', 'spip-id', 'encoding', 'expect', 'extra']);
    tags.push(which);
    switch (which) {
      case 'content-type':
        if (r.chance(0.15)) delete headers['Content-Type'];
        else headers['Content-Type'] = r.chance(0.8) ? r.pick(contentTypes) : headerText(r, r.int(r.chance(0.1) ? 8000 : 40));
        break;
      case 'authorization': {
        const variants = ['', 'Bearer', 'Bearer ', `bearer ${token}`, `BEARER ${token}`, `Bearer  ${token}  `, 'Basic dXNlcjpwYXNz', `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Bearer\t${token}`, `Token ${token}`, `Bearer ${'a'.repeat(1 + r.int(20_000))}`, `Bearer ${headerText(r, r.int(60))}`, headerText(r, r.int(60))];
        const value = r.pick(variants);
        if (value === '' && r.chance(0.5)) delete headers.Authorization;
        else headers.Authorization = value;
        break;
      }
      case 'spip-id':
        headers['X-Spip-ID'] = r.pick([sensor, 'other', '', sensor.toUpperCase(), `${sensor} `, headerText(r, 1 + r.int(30)), 'x'.repeat(1 + r.int(9000))]);
        break;
      case 'encoding':
        headers['Content-Encoding'] = r.chance(0.8) ? r.pick(encodings) : headerText(r, r.int(30));
        break;
      case 'expect':
        headers.Expect = r.pick(['100-continue', 'foo', '200-ok', '', '100-continue, foo']);
        break;
      default:
        headers[`X-${r.pick(['A', 'Forwarded-For', 'Real-IP', 'Spip-Id2', 'Trace'])}-${r.int(100)}`] = headerText(r, r.int(200));
    }
  }
  const method = r.chance(0.85) ? 'POST' : r.pick(methods);
  const path = r.chance(0.85) ? r.pick(['/', '/ingest', '/api/v1/ingest']) : r.chance(0.7) ? r.pick(paths) : `/${encodeURIComponent(r.bytes(r.int(r.chance(0.1) ? 6000 : 40)).toString('latin1'))}`;
  return { kind: tags.join('+'), method, path, headers, body: mutated.body, chunks: r.chance(0.3) ? 1 + r.int(4) : 0 };
}

/** Sends one case; resolves with the status and body, or the client-side error code. */
function sendHttp(port: number, agent: http.Agent, c: HttpCase): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | { error: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (value: { status: number; headers: http.IncomingHttpHeaders; body: string } | { error: string }): void => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    // Explicit framing: for GET, HEAD, DELETE and the like node would otherwise send a body
    // with neither Content-Length nor chunked encoding, which is garbage on the wire.
    const framing = c.chunks === 0 ? { 'Content-Length': String(c.body.length) } : { 'Transfer-Encoding': 'chunked' };
    let req: http.ClientRequest;
    try {
      req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers: { ...c.headers, ...framing }, agent });
    } catch (error) {
      settle({ error: `client refused to send: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      return;
    }
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => settle({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    if (c.chunks === 0) {
      req.end(c.body);
    } else {
      const size = Math.ceil(c.body.length / c.chunks) || 1;
      for (let at = 0; at < c.body.length; at += size) req.write(c.body.subarray(at, at + size));
      req.end();
    }
  });
}

const allowedStatuses = new Set([204, 400, 401, 404, 405, 413, 415, 431]);

/** A failure message for a response that breaks the API contract, or undefined. */
function checkHttpResponse(c: HttpCase, res: { status: number; headers: http.IncomingHttpHeaders; body: string }): string | undefined {
  if (res.status >= 500) return `status ${res.status} ${res.body}`;
  if (!allowedStatuses.has(res.status)) return `unexpected status ${res.status} ${JSON.stringify(res.body.slice(0, 200))}`;
  if (res.status < 400) return res.body === '' ? undefined : `204 with a body ${JSON.stringify(res.body.slice(0, 100))}`;
  if (res.headers['content-type'] !== 'application/json') return `${res.status} with Content-Type ${String(res.headers['content-type'])}`;
  if (c.method === 'HEAD') return Number(res.headers['content-length']) > 0 ? undefined : 'HEAD error without Content-Length';
  let parsed: { error?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(res.body) as typeof parsed;
  } catch {
    return `${res.status} body is not JSON: ${JSON.stringify(res.body.slice(0, 200))}`;
  }
  if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string' || parsed.message === '') return `${res.status} body lacks error/message: ${res.body}`;
  const registered = (apiErrors as Record<string, { status: number }>)[parsed.error];
  if (registered === undefined) return `unknown error code ${parsed.error}`;
  // Header overflow is answered before any handler runs, with the closest code.
  if (registered.status !== res.status && !(res.status === 431 && parsed.error === 'invalid_request')) return `code ${parsed.error} with status ${res.status}`;
  return undefined;
}

const crlf = '\r\n';
function rawRequest(head: string[], body = '', host = true): string {
  return `${head[0]}${crlf}${host ? `Host: loom${crlf}` : ''}${head.slice(1).map((h) => h + crlf).join('')}${crlf}${body}`;
}
const authLines = ['Content-Type: application/json', `Authorization: Bearer ${token}`];

function rawCase(index: number): RawCase {
  const r = randomFor(index, 0x2);
  const body = validBatch(r, 50_000 + index);
  const base = (): RawCase => ({ kind: '', chunks: [], mustRespond: true, closeEarly: false, chunkDelayMs: 0, noHost: false });
  const kind = r.pick(['random-bytes', 'request-line', 'header-overflow', 'many-headers', 'slowloris', 'length-short', 'length-long', 'length-invalid', 'chunked-bad', 'te-and-cl', 'header-bytes', 'spip-id-bytes', 'obs-fold', 'tls-hello', 'h2-preface', 'connect', 'no-host', 'http10', 'pipelined', 'valid']);
  const c = { ...base(), kind };
  const valid = (extra: string[] = [], payload = body): string => rawRequest(['POST /api/v1/ingest HTTP/1.1', ...authLines, ...extra, `Content-Length: ${Buffer.byteLength(payload)}`], payload);
  switch (kind) {
    case 'random-bytes': {
      const bytes = r.bytes(1 + r.int(2000));
      // A first byte that cannot start a method makes the parser fail at once.
      bytes[0] = r.pick([0x00, 0x16, 0x7f, 0x80, 0xff, 0x20, 0x0d, 0x0a, 0x3c, 0x7b]);
      c.chunks = [bytes];
      // Bytes that are all CR and LF are empty lines before a request line, which a server
      // ignores (RFC 9112 section 2.2); the client then closes without a request, so no answer is owed.
      c.mustRespond = !bytes.every((b) => b === 0x0d || b === 0x0a);
      break;
    }
    case 'request-line': {
      const line = Buffer.from('POST /api/v1/ingest HTTP/1.1');
      for (let i = 0, n = 1 + r.int(3); i < n; i++) line[r.int(line.length)] = r.pick([0x20, 0x00, 0x09, 0x7f, 0xff, 0x0a, 0x0d, 0x2f, 0x3f, 0x25, 0x41]);
      const variants = [line.toString('latin1'), 'POST', 'POST /ingest', 'POST /ingest HTTP/9.9', 'POST /ingest HTTP/1.1 extra', 'POST  /ingest HTTP/1.1', ' POST /ingest HTTP/1.1', 'POST /ingest http/1.1', 'POST /ingest HTTP/1', 'POST /ingest HTTP/2.0', 'GET / HTTP/1.1\n', `POST /${'a'.repeat(r.int(20_000))} HTTP/1.1`];
      c.chunks = [Buffer.from(`${r.pick(variants)}${crlf}Host: loom${crlf}${crlf}`, 'latin1')];
      // A mutation can leave a line the parser still waits on; closing ends it either way.
      c.mustRespond = true;
      break;
    }
    case 'header-overflow':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, `X-Big: ${'b'.repeat(16_500 + r.int(20_000))}`, 'Content-Length: 2'], '[]'))];
      break;
    case 'many-headers':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, ...Array.from({ length: 2000 + r.int(2000) }, (_, i) => `X-H${i}: v`), 'Content-Length: 2'], '[]'))];
      break;
    case 'slowloris': {
      const text = valid();
      const cut = r.int(text.indexOf('\r\n\r\n'));
      const pieces: Buffer[] = [];
      for (let at = 0; at < cut; at += 1 + r.int(40)) pieces.push(Buffer.from(text.slice(at, Math.min(cut, at + 1 + r.int(40)))));
      c.chunks = pieces.length > 0 ? pieces : [Buffer.from('P')];
      c.chunkDelayMs = 2;
      c.closeEarly = true;
      c.mustRespond = false;
      break;
    }
    case 'length-short':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, `Content-Length: ${r.int(Buffer.byteLength(body))}`], body))];
      break;
    case 'length-long': {
      // Less body than announced (or a chunked body without its last chunk), then the client gives up.
      const text = r.chance(0.8)
        ? rawRequest(['POST /ingest HTTP/1.1', ...authLines, `Content-Length: ${Buffer.byteLength(body) + 1 + r.int(1000)}`], body)
        : rawRequest(['POST /ingest HTTP/1.1', ...authLines, 'Transfer-Encoding: chunked'], `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`);
      c.chunks = [Buffer.from(text)];
      c.closeEarly = true;
      c.mustRespond = false;
      break;
    }
    case 'length-invalid':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, `Content-Length: ${r.pick(['abc', '-1', '1 2', '0x10', '2, 3', '99999999999999999999999', '+2', ''])}`], '[]'))];
      if (r.chance(0.3)) c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, 'Content-Length: 2', 'Content-Length: 3'], '[] '))];
      break;
    case 'chunked-bad': {
      const chunked = r.pick(['zz\r\n[]\r\n0\r\n\r\n', '2\r\n[]0\r\n\r\n', '-1\r\n[]\r\n0\r\n\r\n', '2;ext=\x01\r\n[]\r\n0\r\n\r\n', 'ffffffffffffffffff\r\n[]\r\n0\r\n\r\n', '2\r\n[]\r\n0\r\nX-Trailer: \x00\r\n\r\n']);
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, r.pick(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked, chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: identity'])], chunked), 'latin1')];
      c.mustRespond = true;
      break;
    }
    case 'te-and-cl':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, 'Content-Length: 5', 'Transfer-Encoding: chunked'], '2\r\n[]\r\n0\r\n\r\n'))];
      break;
    case 'header-bytes': {
      const bad = r.pick(['X-A: a\x00b', 'X-A: a\rb', 'X\x7fA: v', 'X A: v', 'X-A : v', ': v', 'X-A\x80: v', 'X-A:\x01', 'X-A: v\r\n\rY: v']);
      c.chunks = [Buffer.from(valid([bad]), 'latin1')];
      break;
    }
    case 'spip-id-bytes': {
      const value = Buffer.from(Array.from({ length: 1 + r.int(30) }, () => 0x80 + r.int(0x80)));
      c.chunks = [Buffer.concat([Buffer.from(`POST /ingest HTTP/1.1\r\nHost: loom\r\n${authLines.join('\r\n')}\r\nX-Spip-ID: `), value, Buffer.from(`\r\nContent-Length: 2\r\n\r\n[]`)])];
      break;
    }
    case 'obs-fold':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, 'X-Folded: a', ' b', 'Content-Length: 2'], '[]'))];
      break;
    case 'tls-hello':
      c.chunks = [Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), r.bytes(200)])];
      break;
    case 'h2-preface':
      c.chunks = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')];
      break;
    case 'connect':
      c.chunks = [Buffer.from(`CONNECT ${r.pick(['example.com:443', '127.0.0.1:22', '[::1]:80'])} HTTP/1.1\r\nHost: x\r\n\r\n`)];
      break;
    case 'no-host':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.1', ...authLines, 'Content-Length: 2'], '[]', false))];
      c.noHost = true;
      break;
    case 'http10':
      c.chunks = [Buffer.from(rawRequest(['POST /ingest HTTP/1.0', ...authLines, `Content-Length: ${Buffer.byteLength(body)}`], body, false))];
      break;
    case 'pipelined':
      c.chunks = [Buffer.from(valid() + valid() + rawRequest(['GET /ingest HTTP/1.1']) + valid(['X-Spip-ID: nope']))];
      break;
    default:
      c.chunks = [Buffer.from(valid())];
  }
  return c;
}

/** A failure message for a raw exchange that breaks the contract, or undefined. */
function checkRaw(c: RawCase, data: Buffer): string | undefined {
  const { responses, malformed, rest } = parseResponses(data);
  if (malformed !== undefined) return `malformed response: ${malformed}: ${JSON.stringify(data.toString('latin1').slice(0, 300))}`;
  if (rest > 0) return `truncated response: ${JSON.stringify(data.toString('latin1').slice(0, 300))}`;
  if (c.mustRespond && responses.length === 0) return 'no response';
  for (const res of responses) {
    if (res.status >= 500) return `status ${res.status}`;
    if (res.status < 400) continue;
    if (res.headers.get('content-type') === 'application/json') {
      const parsed = JSON.parse(res.body.toString('utf8')) as { error?: unknown; message?: unknown };
      if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string') return `${res.status} JSON without error/message`;
    } else if (!(c.noHost && res.status === 400 && res.body.length === 0)) {
      return `${res.status} without a JSON body: ${JSON.stringify(data.toString('latin1').slice(0, 300))}`;
    }
  }
  return undefined;
}

/** Failures grouped by what went wrong, without the case numbers. */
function summarise(failures: string[]): string {
  const groups = new Map<string, number>();
  for (const failure of failures) {
    const key = failure.replace(/^(raw )?case \d+ \(([^,)]*)[^)]*\)/, '$2').slice(0, 120);
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(groups), null, 1);
}

async function pool<T>(count: number, concurrency: number, work: (index: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

describe('fuzzing the ingest listener', () => {
  let loom: LoomProcess;
  before(async () => {
    loom = await startLoom({
      toml: baseToml({
        server: 'workers = 2',
        limits: `per_sensor_rps = -1\nmax_body_size_bytes = ${limits.body}\nmax_events_per_batch = ${limits.events}\nmax_event_size_bytes = ${limits.event}`,
      }).replace('workers = 1\n', ''),
      env: { [`LOOM_SENSOR_${sensor.replaceAll('-', '_')}`]: token },
    });
    assert.ok(loom.ingestPort > 0, loom.stderrText);
  });
  after(async () => {
    await loom.stop();
    await loom.cleanup();
  });

  test(`${httpCases} malformed requests over ${connections} keep-alive connections`, async (t) => {
    t.diagnostic(`seed ${seed} (replay with LOOM_FUZZ_SEED=${seed})`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const clientErrors = new Map<string, number>();
    await pool(httpCases, connections, async (index) => {
      const c = httpCase(index);
      const res = await sendHttp(loom.ingestPort, agent, c);
      if ('error' in res) {
        // Only a header block over the 16 KiB limit may end the connection under a request still being written.
        const headerBytes = Object.entries(c.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, c.path.length + 40);
        const key = `${res.error}${headerBytes > 16 * 1024 ? ' (oversized headers)' : ''}`;
        clientErrors.set(key, (clientErrors.get(key) ?? 0) + 1);
        if (headerBytes <= 16 * 1024) failures.push(`case ${index} (${c.kind}, ${c.method} ${c.path.slice(0, 60)}): client error ${res.error}`);
        return;
      }
      statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
      const problem = checkHttpResponse(c, res);
      if (problem !== undefined) failures.push(`case ${index} (${c.kind}, ${c.method} ${c.path.slice(0, 60)}): ${problem}`);
    });
    agent.destroy();
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}; client errors ${JSON.stringify(Object.fromEntries(clientErrors))}`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures, seed ${seed}: ${summarise(failures)}`);
    // The fuzz must have reached every outcome, or it is not exercising the parser.
    for (const status of ['204', '400', '401', '404', '405', '413', '415']) assert.ok((statuses.get(status) ?? 0) > 0, `no ${status} seen`);
    assert.equal(loom.exitCode, undefined);
  });

  test(`${rawCases} raw-socket garbage requests`, async (t) => {
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    await pool(rawCases, 16, async (index) => {
      const c = rawCase(index);
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      const exchange = await rawExchange(loom.ingestPort, c.chunks, { closeEarly: c.closeEarly, chunkDelayMs: c.chunkDelayMs, timeoutMs: 4000, quietMs: 150 });
      const problem = checkRaw(c, exchange.data);
      if (problem !== undefined) failures.push(`raw case ${index} (${c.kind}): ${problem}; sent ${JSON.stringify(Buffer.concat(c.chunks).toString('latin1').slice(0, 300))}`);
    });
    t.diagnostic(`raw kinds ${JSON.stringify(Object.fromEntries(kinds))}`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures, seed ${seed}: ${summarise(failures)}`);
    assert.equal(loom.exitCode, undefined);
  });

  test('afterwards loom is healthy, accepts a valid batch, and wrote only acknowledged events', async () => {
    const health = await request(loom.managementUrl('/health'), undefined, { method: 'GET' });
    assert.equal(health.status, 200);
    const event = spipEvent(424242);
    const res = await request(loom.url(), JSON.stringify([event]), { headers: { ...validHeaders(), 'X-Spip-ID': sensor } });
    assert.equal(res.status, 204, res.text);
    await loom.until(() => loom.stdoutLines.includes(JSON.stringify(event)), 'the final event on stdout');

    const metrics = (await request(loom.managementUrl('/metrics'), undefined, { method: 'GET' })).text;
    const accepted = Number(/^loom_ingest_events_total\{sensor_id="fuzz-sensor"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(loom.stdoutLines.length, accepted, 'every line on stdout is an acknowledged event, and every acknowledged event is there');
    for (const line of loom.stdoutLines) {
      const parsed = JSON.parse(line) as unknown;
      assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), line.slice(0, 200));
    }
    const problems = loom.logs.filter((l) => l.level === 'error' || l.level === 'fatal');
    assert.deepEqual(problems, []);
    assert.ok(!loom.stderrText.includes(token));
    assert.equal(loom.exitCode, undefined);
  });
});
