// JA4 TLS client fingerprint (FoxIO; the JA4 method is BSD-3-Clause), computed
// from a parsed ClientHello: a_b_c where a is readable metadata, b hashes
// the cipher suites and c the extensions plus signature algorithms.
import { hash } from 'node:crypto';
import type { ClientHello } from '../protocols/tls/client-hello.js';
import { withoutGrease } from './grease.js';

export interface Ja4 {
  /** Sorted lists, hashed. */
  ja4: string;
  /** Sorted lists, raw. */
  ja4_r: string;
  /** Lists in the order sent, hashed. */
  ja4_o: string;
  /** Lists in the order sent, raw. */
  ja4_ro: string;
}

const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const EMPTY_HASH = '000000000000';

const VERSION_CODES: Record<number, string> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

export function ja4(hello: ClientHello, transport: 't' | 'q' | 'd' = 't'): Ja4 {
  const ciphers = withoutGrease(hello.ciphers);
  const extensions = withoutGrease(hello.extensions);
  const sigalgs = withoutGrease(hello.signatureAlgorithms);

  const a =
    transport +
    versionCode(hello) +
    (hello.extensions.includes(EXT_SERVER_NAME) ? 'd' : 'i') +
    count(ciphers.length) +
    count(extensions.length) +
    alpnCode(hello.alpn[0]);

  // SNI and ALPN already show in part a, and SNI presence varies with how a
  // client was pointed at the server, so both stay out of part c.
  const hashedExtensions = extensions.filter((e) => e !== EXT_SERVER_NAME && e !== EXT_ALPN);
  const sortedCiphers = hexList([...ciphers].sort((x, y) => x - y));
  const sortedExtensions = extensionPart(hexList([...hashedExtensions].sort((x, y) => x - y)), sigalgs);
  const originalCiphers = hexList(ciphers);
  // The original-order forms keep SNI and ALPN so the order stays complete.
  const originalExtensions = extensionPart(hexList(extensions), sigalgs);

  return {
    ja4: `${a}_${hash12(sortedCiphers)}_${hash12(sortedExtensions)}`,
    ja4_r: `${a}_${sortedCiphers}_${sortedExtensions}`,
    ja4_o: `${a}_${hash12(originalCiphers)}_${hash12(originalExtensions)}`,
    ja4_ro: `${a}_${originalCiphers}_${originalExtensions}`,
  };
}

function versionCode(hello: ClientHello): string {
  let version = hello.legacyVersion;
  if (hello.extensions.includes(EXT_SUPPORTED_VERSIONS)) {
    const offered = withoutGrease(hello.supportedVersions);
    if (offered.length > 0) version = offered.reduce((best, v) => (newer(v, best) ? v : best));
  }
  return VERSION_CODES[version] ?? '00';
}

// DTLS versions count down (0xfeff is 1.0, 0xfefc is 1.3), so "highest"
// means the numerically smallest among them.
function newer(a: number, b: number): boolean {
  const dtlsA = a >> 8 === 0xfe;
  const dtlsB = b >> 8 === 0xfe;
  if (dtlsA && dtlsB) return a < b;
  return a > b;
}

function count(n: number): string {
  return String(Math.min(n, 99)).padStart(2, '0');
}

function isAlphanumeric(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * First and last character of the first ALPN value ("h2", "http/1.1" → h1).
 * If either end byte is not an ASCII letter or digit, the first and last
 * characters of the value's hex form are used instead (0xba 0xad → "bd").
 */
function alpnCode(first: Uint8Array | undefined): string {
  if (first === undefined || first.length === 0) return '00';
  const head = first[0]!;
  const tail = first[first.length - 1]!;
  if (isAlphanumeric(head) && isAlphanumeric(tail)) return String.fromCharCode(head, tail);
  return hex2(head)[0]! + hex2(tail)[1]!;
}

function extensionPart(extensions: string, sigalgs: number[]): string {
  return sigalgs.length === 0 ? extensions : `${extensions}_${hexList(sigalgs)}`;
}

function hexList(values: readonly number[]): string {
  return values.map((v) => v.toString(16).padStart(4, '0')).join(',');
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hash12(input: string): string {
  if (input === '') return EMPTY_HASH;
  return hash('sha256', input, 'hex').slice(0, 12);
}
