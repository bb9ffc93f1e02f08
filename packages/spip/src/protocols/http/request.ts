import { decodeUtf8, isWhitespace, scanRequestLine } from './request-line.js';
import { parseHost } from './host.js';
import { firstHeader } from './header-lookup.js';

export { ecsHttpFields } from './ecs-fields.js';

export interface HttpHeader {
  /** As sent (case kept), whitespace before the colon removed. */
  name: string;
  /** Surrounding whitespace removed, obsolete line folding joined with one space, bare CR as SP. */
  value: string;
}

export interface HttpRequest {
  /** Any RFC 9110 token, recorded as sent (lowercase and unregistered methods included). */
  method: string;
  target: string;
  /** "1.0", "1.1", "0.9" (a bare `GET target` line), "2" (the prior-knowledge preface, or HTTP/2.0), "3". */
  version: string;
  /** Original order and case, duplicates kept, at most `maxHeaders`. */
  headers: HttpHeader[];
  /** Header lines past `maxHeaders` that were read but not kept. */
  droppedHeaders: number;
  /** A copy of the bytes after the header terminator, as far as the buffer goes. */
  body: Uint8Array;
  /** The header section was terminated (CRLF CRLF, or bare LFs), or the whole h2 preface arrived. */
  complete: boolean;
  /** The target before the first '?', verbatim (so an absolute-form target keeps its scheme). */
  path: string;
  /** After the first '?'; "" for a bare '?', undefined without one. */
  query: string | undefined;
  /** From the first Host header: a name or address, without the brackets of an IPv6 literal. */
  host: string | undefined;
  hostPort: number | undefined;
  /** First User-Agent header; "" when it was sent empty. */
  userAgent: string | undefined;
  /** Content-Length when every such header agrees on one decimal value (RFC 9110 §8.6). */
  contentLength: number | undefined;
}

export type HttpProbe = 'http' | 'maybe' | 'not-http';

export interface HttpLimits {
  /** Header lines kept; later ones are counted in droppedHeaders. Default 256. */
  maxHeaders?: number;
  /** Request line plus header section; a section not terminated within it is incomplete. Default 64 KiB. */
  maxHeaderBytes?: number;
}

export const DEFAULT_MAX_HEADERS = 256;
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const H2_PREFACE_TAIL = Buffer.from('\r\nSM\r\n\r\n', 'latin1');

/**
 * Whether `buf` starts with an HTTP request line: 'http' once a whole valid line is there,
 * 'maybe' while the bytes are still a prefix of one (including an empty buffer), otherwise
 * 'not-http'. Reads at most the request line.
 */
export function probeHttp(buf: Uint8Array, limits: Pick<HttpLimits, 'maxHeaderBytes'> = {}): HttpProbe {
  const scan = scanRequestLine(buf, limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  if (scan.kind === 'line') return 'http';
  return scan.kind === 'need-more' ? 'maybe' : 'not-http';
}

/**
 * Parses an HTTP/1.x request head (or the HTTP/2 prior-knowledge preface) from the start of
 * `buf`. Undefined unless a whole, valid request line is present; an unterminated header
 * section gives `complete: false` with the header lines received so far. Header lines without
 * a colon or with an empty name are skipped. An HTTP/0.9 line is followed by header parsing
 * like any other (scanners that omit the version still send headers), so it is complete once an
 * empty line arrives. Linear in the input; never throws.
 */
export function parseHttpRequest(buf: Uint8Array, limits: HttpLimits = {}): HttpRequest | undefined {
  const maxHeaders = Math.max(0, limits.maxHeaders ?? DEFAULT_MAX_HEADERS);
  const maxHeaderBytes = Math.max(0, limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  const line = scanRequestLine(buf, maxHeaderBytes);
  if (line.kind !== 'line') return undefined;
  const { method, target, version } = line;

  const headers: HttpHeader[] = [];
  let droppedHeaders = 0;
  let complete = false;
  let bodyStart = buf.length;

  const preface = method === 'PRI' && target === '*' && version === '2' ? matchPrefaceTail(buf, line.next) : 'mismatch';
  if (preface !== 'mismatch') {
    complete = preface === 'complete';
    if (complete) bodyStart = line.next + H2_PREFACE_TAIL.length;
  } else {
    let pos = line.next;
    let lastKept: HttpHeader | undefined;
    const sectionEnd = Math.min(buf.length, maxHeaderBytes);
    while (pos < sectionEnd) {
      const found = buf.subarray(pos, sectionEnd).indexOf(LF);
      if (found < 0) break;
      const lf = pos + found;
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      if (lineEnd === pos) {
        complete = true;
        bodyStart = lf + 1;
        break;
      }
      if (isWhitespace(buf[pos])) {
        // Obsolete line folding (RFC 9112 §5.2): the line continues the previous field's value.
        if (lastKept !== undefined) {
          const more = trimValue(buf, pos, lineEnd);
          if (more !== '') lastKept.value = lastKept.value === '' ? more : `${lastKept.value} ${more}`;
        }
      } else {
        const colon = buf.subarray(pos, lineEnd).indexOf(COLON);
        let nameEnd = colon < 0 ? pos : pos + colon;
        while (nameEnd > pos && isWhitespace(buf[nameEnd - 1])) nameEnd--;
        if (nameEnd === pos) {
          lastKept = undefined;
        } else if (headers.length < maxHeaders) {
          lastKept = { name: fieldText(buf.subarray(pos, nameEnd)), value: trimValue(buf, pos + colon + 1, lineEnd) };
          headers.push(lastKept);
        } else {
          lastKept = undefined;
          droppedHeaders++;
        }
      }
      pos = lf + 1;
    }
  }

  const body = complete ? new Uint8Array(buf.subarray(bodyStart)) : new Uint8Array(0);
  const question = target.indexOf('?');
  const hostHeader = firstHeader(headers, 'host');
  const { host, port } = hostHeader === undefined ? { host: undefined, port: undefined } : parseHost(hostHeader);
  return {
    method,
    target,
    version,
    headers,
    droppedHeaders,
    body,
    complete,
    path: question < 0 ? target : target.slice(0, question),
    query: question < 0 ? undefined : target.slice(question + 1),
    host,
    hostPort: port,
    userAgent: firstHeader(headers, 'user-agent'),
    contentLength: contentLength(headers),
  };
}

/** The preface is "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; the request line has been read. */
function matchPrefaceTail(buf: Uint8Array, from: number): 'complete' | 'partial' | 'mismatch' {
  const available = Math.min(buf.length - from, H2_PREFACE_TAIL.length);
  for (let i = 0; i < available; i++) if (buf[from + i] !== H2_PREFACE_TAIL[i]) return 'mismatch';
  return available === H2_PREFACE_TAIL.length ? 'complete' : 'partial';
}

function trimValue(buf: Uint8Array, start: number, end: number): string {
  while (start < end && (isWhitespace(buf[start]) || buf[start] === CR)) start++;
  while (end > start && (isWhitespace(buf[end - 1]) || buf[end - 1] === CR)) end--;
  return fieldText(buf.subarray(start, end));
}

// RFC 9112 §2.2: a bare CR inside a field is replaced with SP before the field is used.
function fieldText(bytes: Uint8Array): string {
  const text = decodeUtf8(bytes);
  return text.includes('\r') ? text.replaceAll('\r', ' ') : text;
}

function contentLength(headers: readonly HttpHeader[]): number | undefined {
  let value: string | undefined;
  for (const header of headers) {
    if (header.name.toLowerCase() !== 'content-length') continue;
    // A list of identical values ("5, 5") is allowed; anything else makes the length unknown.
    for (const part of header.value.split(',')) {
      const trimmed = part.trim();
      if (!/^\d{1,15}$/.test(trimmed) || (value !== undefined && Number(value) !== Number(trimmed))) return undefined;
      value = trimmed;
    }
  }
  return value === undefined ? undefined : Number(value);
}
