/**
 * IPv4 and IPv6 addresses and prefixes as 32-bit words, most significant first: one word for
 * IPv4, four for IPv6. Hand-written parsers because list loading parses a million lines and
 * a regular expression or `net.isIP` plus a second parse would double that cost.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) and prefixes of at least /96 inside
 * `::ffff:0:0/96` are returned as the IPv4 address or prefix they denote, so a list entry
 * `1.2.3.0/24` matches an event address `::ffff:1.2.3.4` and the other way round.
 */

import { ipv6GroupsText } from '../../net/ipv6-text.js';

export type Family = 4 | 6;

/** Reusable output of the parsers: `words` holds 1 (IPv4) or 4 (IPv6) meaningful words. */
export interface ParsedPrefix {
  family: Family;
  words: Uint32Array;
  length: number;
}

export function newParsedPrefix(): ParsedPrefix {
  return { family: 4, words: new Uint32Array(4), length: 0 };
}

/** Parses "a.b.c.d" (no leading zeros, which some tools read as octal) into a word, or -1. */
export function parseIPv4(text: string, from = 0, to = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv6 address into 8 groups of 16 bits (`groups`), or returns false. Accepts
 * "::" compression and a dotted IPv4 tail; a zone ("%eth0") is not part of the address.
 */
function parseIPv6Groups(text: string, from: number, to: number, groups: Uint16Array): boolean {
  if (to - from < 2) return false;
  let gap = -1;
  let count = 0;
  let i = from;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === to) {
      groups.fill(0);
      return true;
    }
  }
  while (i < to) {
    if (count === 8) return false;
    let value = 0;
    let digits = 0;
    const start = i;
    while (i < to && digits <= 4) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (i < to && text.charCodeAt(i) === 46) {
      if (count > 6) return false;
      const v4 = parseIPv4(text, start, to);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = value;
    if (i === to) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < to && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === to) break;
    } else if (i === to) {
      return false;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const move = count - gap;
  for (let k = 0; k < move; k++) groups[7 - k] = groups[count - 1 - k] ?? 0;
  for (let k = gap; k < 8 - move; k++) groups[k] = 0;
  return true;
}

const scratchGroups = new Uint16Array(8);

/** Parses a decimal prefix length without sign or leading zeros, or -1. */
function parseLength(text: string, from: number, to: number): number {
  if (from >= to || to - from > 3) return -1;
  if (text.charCodeAt(from) === 48 && to - from > 1) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Parses an address ("1.2.3.4", "2001:db8::1") or prefix ("10.0.0.0/8", "2001:db8::/32") into
 * `out`, host bits cleared. A bare address is a /32 or /128. Returns false for anything else.
 */
export function parsePrefix(text: string, out: ParsedPrefix, allowZone = false): boolean {
  let end = text.length;
  let length = -1;
  const slash = text.indexOf('/');
  if (slash >= 0) {
    length = parseLength(text, slash + 1, text.length);
    if (length < 0) return false;
    end = slash;
  } else if (allowZone) {
    const percent = text.indexOf('%');
    if (percent >= 0) end = percent;
  }
  if (text.indexOf(':') < 0) {
    const v4 = parseIPv4(text, 0, end);
    if (v4 < 0 || length > 32) return false;
    if (length < 0) length = 32;
    out.family = 4;
    out.words[0] = length === 0 ? 0 : (v4 & (0xffffffff << (32 - length))) >>> 0;
    out.length = length;
    return true;
  }
  if (!parseIPv6Groups(text, 0, end, scratchGroups) || length > 128) return false;
  if (length < 0) length = 128;
  const w = out.words;
  for (let k = 0; k < 4; k++) w[k] = ((scratchGroups[2 * k] ?? 0) * 0x10000 + (scratchGroups[2 * k + 1] ?? 0)) >>> 0;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff && length >= 96) {
    out.family = 4;
    out.length = length - 96;
    w[0] = out.length === 0 ? 0 : ((w[3] ?? 0) & (0xffffffff << (32 - out.length))) >>> 0;
    return true;
  }
  out.family = 6;
  out.length = length;
  maskWords(w, 4, length);
  return true;
}

/** Clears the bits after `length` in the first `count` words. */
export function maskWords(words: Uint32Array, count: number, length: number): void {
  for (let k = 0; k < count; k++) {
    const keep = length - 32 * k;
    if (keep >= 32) continue;
    words[k] = keep <= 0 ? 0 : ((words[k] ?? 0) & (0xffffffff << (32 - keep))) >>> 0;
  }
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIPv6(words: ArrayLike<number>, offset = 0): string {
  const groups: number[] = [];
  for (let k = 0; k < 4; k++) {
    const word = words[offset + k] ?? 0;
    groups.push(word >>> 16, word & 0xffff);
  }
  return ipv6GroupsText(groups);
}

/** "10.0.0.0/8", or the bare address for a single-address prefix (/32, /128). */
export function formatPrefix(family: Family, words: ArrayLike<number>, offset: number, length: number): string {
  const address = family === 4 ? formatIPv4(words[offset] ?? 0) : formatIPv6(words, offset);
  return length === (family === 4 ? 32 : 128) ? address : `${address}/${length}`;
}
