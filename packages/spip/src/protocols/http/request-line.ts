// The request line of RFC 9112 §3, read leniently enough to record what scanners really send
// and strictly enough that binary protocols and banners are not mistaken for HTTP.

export type RequestLineScan =
  | { kind: 'need-more' }
  | { kind: 'invalid' }
  | { kind: 'line'; method: string; target: string; version: string; /** offset just past the line's LF */ next: number };

/** Longer than any registered method (UPDATEREDIRECTREF has 17 characters). */
const MAX_METHOD_LENGTH = 32;
// RFC 9112 §2.2 asks servers to skip at least one empty line before the request line.
const MAX_LEADING_EMPTY_LINES = 4;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const latin1 = new TextDecoder('latin1');

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

export function isWhitespace(byte: number | undefined): boolean {
  return byte === SP || byte === HTAB;
}

/**
 * Scans `buf` for a request line no longer than `limit` bytes (leading empty lines included).
 *
 * `need-more` means the bytes so far are a prefix of a plausible request line: a token method,
 * whitespace, then printable bytes. A complete line is `METHOD target HTTP/x.y`, where the
 * target may contain spaces (attack payloads often do) because the version is taken from the
 * last word; `GET target` alone is an HTTP/0.9 simple request (RFC 1945 §4.1, GET only, so
 * banners such as `SSH-2.0-x y` never look like one).
 */
export function scanRequestLine(buf: Uint8Array, limit: number): RequestLineScan {
  const end = Math.min(buf.length, limit);
  let i = 0;
  let emptyLines = 0;
  while (i < end && (buf[i] === CR || buf[i] === LF)) {
    if (buf[i] === LF && ++emptyLines > MAX_LEADING_EMPTY_LINES) return { kind: 'invalid' };
    if (buf[i] === CR && buf[i + 1] !== LF && i + 1 < buf.length) return { kind: 'invalid' };
    i++;
  }
  const methodStart = i;
  while (i < end && TCHAR[buf[i] ?? 0] === 1) {
    if (i - methodStart >= MAX_METHOD_LENGTH) return { kind: 'invalid' };
    i++;
  }
  if (i === end) return needMoreOrInvalid(buf, limit);
  if (i === methodStart || !isWhitespace(buf[i])) return { kind: 'invalid' };
  const methodEnd = i;
  while (i < end && isWhitespace(buf[i])) i++;
  const restStart = i;
  for (; i < end; i++) {
    const byte = buf[i] ?? 0;
    if (byte === LF) break;
    if (byte === CR) {
      if (i + 1 < buf.length && buf[i + 1] !== LF) return { kind: 'invalid' };
      continue;
    }
    if (byte < SP && byte !== HTAB) return { kind: 'invalid' };
    if (byte === 0x7f) return { kind: 'invalid' };
  }
  if (i === end) return needMoreOrInvalid(buf, limit);

  let contentEnd = buf[i - 1] === CR ? i - 1 : i;
  while (contentEnd > restStart && isWhitespace(buf[contentEnd - 1])) contentEnd--;
  if (contentEnd === restStart) return { kind: 'invalid' };
  const method = latin1.decode(buf.subarray(methodStart, methodEnd));
  let split = contentEnd;
  while (split > restStart && !isWhitespace(buf[split - 1])) split--;
  if (split === restStart) {
    const target = decodeUtf8(buf.subarray(restStart, contentEnd));
    // "GET  HTTP/1.1" is a request without a target, not an HTTP/0.9 request for "HTTP/1.1".
    if (method !== 'GET' || parseVersion(target) !== undefined) return { kind: 'invalid' };
    return { kind: 'line', method, target, version: '0.9', next: i + 1 };
  }
  const version = parseVersion(latin1.decode(buf.subarray(split, contentEnd)));
  if (version === undefined) return { kind: 'invalid' };
  let targetEnd = split;
  while (targetEnd > restStart && isWhitespace(buf[targetEnd - 1])) targetEnd--;
  return { kind: 'line', method, target: decodeUtf8(buf.subarray(restStart, targetEnd)), version, next: i + 1 };
}

/** The scan ran off the end: a short buffer may still grow, a full one broke the limit. */
function needMoreOrInvalid(buf: Uint8Array, limit: number): RequestLineScan {
  return buf.length < limit ? { kind: 'need-more' } : { kind: 'invalid' };
}

const VERSION = /^HTTP\/(\d{1,3})(?:\.(\d{1,3}))?$/;

/** "1.1", "1.0"; HTTP/2.0 and HTTP/3.0 become "2" and "3", the names RFC 9113/9114 use. */
function parseVersion(word: string): string | undefined {
  const match = VERSION.exec(word);
  if (match === null) return undefined;
  const [, major = '', minor] = match;
  if (minor === undefined || (minor === '0' && Number(major) >= 2)) return major;
  return `${major}.${minor}`;
}
