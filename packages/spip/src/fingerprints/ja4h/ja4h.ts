// JA4H is licensed by FoxIO, LLC under the FoxIO License 1.1 (patent pending), not under this
// project's licence: see NOTICE and LICENSE-FoxIO-1.1 in this folder before using it.
import { hash } from 'node:crypto';
import type { HttpRequest } from '../../protocols/http/request.js';

export interface Ja4hFingerprint {
  /** a_b_c_d with cookies sorted. */
  ja4h: string;
  /** The same, unhashed. */
  ja4h_r: string;
  /** Cookies in the order sent. */
  ja4h_o: string;
  ja4h_ro: string;
}

/**
 * JA4H of an HTTP request, following FoxIO's reference implementation (rust/ja4/src/http.rs):
 *
 * a) method code, version, `c`/`n` for a Cookie header, `r`/`n` for a Referer header, the
 *    number of other header lines (duplicates counted, at most 99), the first four characters
 *    of the primary Accept-Language with '-' removed (padded with '0');
 * b) sha256/12 of the other header names, original case and order, comma-joined;
 * c) sha256/12 of the cookie names, d) of the cookie `name=value` items, both sorted by the
 *    whole cookie string; an empty list hashes to twelve zeros.
 *
 * Choices where the reference is silent or its two implementations differ:
 * - Methods outside its list (CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE) and
 *   lowercase methods get the first two characters, lowercased and '0'-padded (PROPFIND → `pr`),
 *   as FoxIO's Python implementation does; the Rust one emits nothing for them, but a honeypot
 *   wants a fingerprint for every request. The listed methods get their usual codes this way.
 * - Version code is the version without its dot, two characters: 10, 11, 20, 30; 09 for HTTP/0.9.
 * - Cookie and Referer are recognised case-insensitively (HTTP field names are); the Rust
 *   implementation matches them case-sensitively for HTTP/1 and lowercase for HTTP/2.
 * - Every Cookie header line contributes its cookies, split on "; " (the reference reads the
 *   first line only, which is the same for any request that follows RFC 6265).
 * - The raw forms always have four sections, so a request without cookies ends in "__", as the
 *   Rust implementation prints; FoxIO's Python tool drops the last separator there.
 */
export function ja4h(req: HttpRequest): Ja4hFingerprint {
  const names: string[] = [];
  const cookies: string[] = [];
  let hasCookie = false;
  let hasReferer = false;
  let language: string | undefined;
  for (const { name, value } of req.headers) {
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      hasCookie = true;
      cookies.push(...value.split('; '));
      continue;
    }
    if (lower === 'referer') {
      hasReferer = true;
      continue;
    }
    if (lower === 'accept-language' && language === undefined) language = value;
    names.push(name);
  }

  const a =
    padTo(2, req.method.toLowerCase()) +
    padTo(2, req.version.replace('.', '')) +
    (hasCookie ? 'c' : 'n') +
    (hasReferer ? 'r' : 'n') +
    String(Math.min(99, names.length)).padStart(2, '0') +
    padTo(4, primaryLanguage(language ?? ''));
  const headerList = names.join(',');
  const sorted = render(a, headerList, sortByUtf8Bytes(cookies));
  const original = render(a, headerList, cookies);
  return { ja4h: sorted.hashed, ja4h_r: sorted.raw, ja4h_o: original.hashed, ja4h_ro: original.raw };
}

function render(a: string, headerList: string, cookies: readonly string[]): { hashed: string; raw: string } {
  const keys = cookies.map((cookie) => cookie.split('=', 1)[0] ?? '').join(',');
  const items = cookies.join(',');
  return {
    hashed: `${a}_${hash12(headerList)}_${hash12(keys)}_${hash12(items)}`,
    raw: `${a}_${headerList}_${keys}_${items}`,
  };
}

/** "en-US,en;q=0.9" → "enus", "da, en-GB;q=0.8" → "da". */
function primaryLanguage(value: string): string {
  return (value.trimStart().split(',', 1)[0] ?? '').replaceAll('-', '').toLowerCase();
}

/** Truncates or pads with '0' to exactly n characters (code points, as the reference counts). */
function padTo(n: number, text: string): string {
  const chars = Array.from(text).slice(0, n);
  return chars.join('') + '0'.repeat(n - chars.length);
}

function hash12(text: string): string {
  return text === '' ? '000000000000' : hash('sha256', text, 'hex').slice(0, 12);
}

// The reference sorts Rust strings, which compare by their UTF-8 bytes (not UTF-16 units).
function sortByUtf8Bytes(items: readonly string[]): string[] {
  return items
    .map((text) => ({ text, bytes: Buffer.from(text, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.bytes, y.bytes))
    .map((entry) => entry.text);
}
