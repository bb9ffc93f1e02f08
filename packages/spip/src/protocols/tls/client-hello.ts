// TLS ClientHello detection and parsing over raw bytes, for fingerprinting
// the first flight of a connection before (or instead of) a real handshake.
//
// Only the TLS record framing is understood: an SSLv2-compatible hello
// (first byte 0x80) or DTLS is reported as not TLS. All lengths are checked
// against the bytes present before anything is read or allocated.
import { ByteReader, MalformedError } from './reader.js';

export type ClientHelloProbe =
  | { kind: 'not-tls' }
  | { kind: 'need-more'; have: number }
  | { kind: 'complete'; length: number }
  | { kind: 'too-large' };

export interface ClientHello {
  recordVersion: number;
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  /** In order, GREASE included. */
  ciphers: number[];
  compressionMethods: number[];
  /** Extension types in order, GREASE and duplicates included. */
  extensions: number[];
  /**
   * The first host_name of the SNI extension. Bytes outside printable ASCII
   * (0x21–0x7e) and the backslash are written as `\xHH`, so the value is
   * always safe to log and never ambiguous. Undefined without a host_name.
   */
  serverName: string | undefined;
  /** Offered ALPN protocol ids, raw bytes, in order. */
  alpn: Uint8Array[];
  /** The same ids decoded as latin1 (one character per byte). */
  alpnStrings: string[];
  /** Extension 0x002b, in order. */
  supportedVersions: number[];
  /** Extension 0x000d, in order. */
  signatureAlgorithms: number[];
  /** Extension 0x000a, in order. */
  supportedGroups: number[];
  /** Extension 0x000b, in order. */
  ecPointFormats: number[];
}

/**
 * Four maximum-size TLS records (2^14 payload + 5 header bytes each).
 * Real ClientHellos are a few hundred bytes to about 2 KiB even with
 * post-quantum key shares; the limit only bounds what one connection can
 * make the sensor buffer before giving up on fingerprinting it.
 */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 4 * (16384 + 5);

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;

const EXT_SERVER_NAME = 0x0000;
const EXT_SUPPORTED_GROUPS = 0x000a;
const EXT_EC_POINT_FORMATS = 0x000b;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;

type Walk =
  | { status: 'not-tls' | 'need-more' | 'too-large'; reason: string }
  | { status: 'complete'; length: number; fragments: [number, number][]; messageLength: number };

/**
 * Follows the handshake records from the start of buf until the ClientHello
 * message they carry is complete. A ClientHello may be split over several
 * records; anything after its last record is left alone.
 */
function walkRecords(buf: Uint8Array, maxBytes: number): Walk {
  const fragments: [number, number][] = [];
  let pos = 0;
  // Handshake-layer bytes seen so far, and the full message size once its
  // 4-byte header (type + 24-bit length) has been seen.
  let have = 0;
  let total = -1;
  let bodyLength = 0;
  for (;;) {
    if (pos > 0 && pos + RECORD_HEADER + 1 > maxBytes) {
      return { status: 'too-large', reason: `ClientHello continues past ${maxBytes} bytes` };
    }
    if (pos >= buf.length) {
      return {
        status: 'need-more',
        reason: pos === 0 ? 'no bytes' : `ClientHello truncated: ${have} of ${total < 0 ? 'at least 4' : total} handshake bytes present`,
      };
    }
    const type = buf[pos]!;
    if (type !== CONTENT_TYPE_HANDSHAKE) {
      return {
        status: 'not-tls',
        reason:
          pos === 0
            ? `first byte 0x${hex2(type)} is not a TLS handshake record (0x16)`
            : `record at offset ${pos} has content type 0x${hex2(type)}, not handshake (0x16), before the ClientHello ended`,
      };
    }
    const major = buf[pos + 1];
    if (major !== undefined && major !== 3) {
      return { status: 'not-tls', reason: `record at offset ${pos} has version major ${major}, not 3` };
    }
    if (pos + RECORD_HEADER > buf.length) {
      return { status: 'need-more', reason: `TLS record header at offset ${pos} truncated` };
    }
    const recordLength = (buf[pos + 3]! << 8) | buf[pos + 4]!;
    if (recordLength === 0) {
      return { status: 'not-tls', reason: `record at offset ${pos} is an empty handshake record` };
    }
    const fragmentStart = pos + RECORD_HEADER;
    const recordEnd = fragmentStart + recordLength;
    const available = Math.min(recordEnd, buf.length);
    const before = have;
    for (let i = fragmentStart; have < HANDSHAKE_HEADER && i < available; i++) {
      const b = buf[i]!;
      if (have === 0 && b !== HANDSHAKE_CLIENT_HELLO) {
        return { status: 'not-tls', reason: `handshake type ${b} is not ClientHello (1)` };
      }
      if (have > 0) bodyLength = bodyLength * 256 + b;
      have++;
      if (have === HANDSHAKE_HEADER) total = HANDSHAKE_HEADER + bodyLength;
    }
    have = before + (available - fragmentStart);
    const endsHere = total >= 0 && total - before <= recordLength;
    // The earliest offset the message can end at, given what is known now.
    const smallestEnd = endsHere || total < 0 ? recordEnd : recordEnd + RECORD_HEADER + (total - before - recordLength);
    if (smallestEnd > maxBytes) {
      return {
        status: 'too-large',
        reason: total < 0 ? `TLS record ends at ${recordEnd}, past ${maxBytes} bytes` : `ClientHello of ${total} bytes needs more than ${maxBytes} bytes`,
      };
    }
    if (recordEnd > buf.length) {
      return { status: 'need-more', reason: `TLS record at offset ${pos} length ${recordLength} exceeds remaining ${buf.length - fragmentStart} bytes` };
    }
    fragments.push([fragmentStart, recordEnd]);
    if (endsHere) return { status: 'complete', length: recordEnd, fragments, messageLength: total };
    pos = recordEnd;
  }
}

export function probeClientHello(buf: Uint8Array, maxBytes: number = DEFAULT_MAX_CLIENT_HELLO_BYTES): ClientHelloProbe {
  const walk = walkRecords(buf, maxBytes);
  switch (walk.status) {
    case 'complete':
      return { kind: 'complete', length: walk.length };
    case 'need-more':
      return { kind: 'need-more', have: buf.length };
    case 'not-tls':
      return { kind: 'not-tls' };
    case 'too-large':
      return { kind: 'too-large' };
  }
}

/**
 * Parses the ClientHello at the start of buf (which begins with the TLS
 * record header). `length` is where the record holding its last byte ends.
 * Never throws: malformed or truncated input gives { ok: false, error }.
 */
export function parseClientHello(buf: Uint8Array): { ok: true; hello: ClientHello; length: number } | { ok: false; error: string } {
  const walk = walkRecords(buf, Infinity);
  if (walk.status !== 'complete') return { ok: false, error: walk.reason };
  try {
    const message = joinFragments(buf, walk.fragments, walk.messageLength);
    const recordVersion = (buf[1]! << 8) | buf[2]!;
    const hello = parseBody(new ByteReader(message, HANDSHAKE_HEADER), recordVersion);
    return { ok: true, hello, length: walk.length };
  } catch (err) {
    if (err instanceof MalformedError) return { ok: false, error: err.message };
    // Unreachable by design; reported rather than thrown so a parser bug
    // can never take a connection handler down with it.
    return { ok: false, error: `internal parser error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function joinFragments(buf: Uint8Array, fragments: [number, number][], messageLength: number): Uint8Array {
  const [first] = fragments;
  if (fragments.length === 1 && first !== undefined) return buf.subarray(first[0], first[0] + messageLength);
  // walkRecords only completes once messageLength bytes exist in buf, so this is bounded by buf.length.
  const out = new Uint8Array(messageLength);
  let at = 0;
  for (const [start, end] of fragments) {
    const n = Math.min(end - start, messageLength - at);
    out.set(buf.subarray(start, start + n), at);
    at += n;
  }
  return out;
}

function parseBody(r: ByteReader, recordVersion: number): ClientHello {
  const legacyVersion = r.u16('client_version');
  const random = r.take(32, 'random').slice();
  const sessionId = r.vector(1, 'session_id').rest().slice();
  const ciphers = r.vector(2, 'cipher_suites').u16List('cipher_suites');
  const compressionMethods = r.vector(1, 'compression_methods').u8List();
  const hello: ClientHello = {
    recordVersion,
    legacyVersion,
    random,
    sessionId,
    ciphers,
    compressionMethods,
    extensions: [],
    serverName: undefined,
    alpn: [],
    alpnStrings: [],
    supportedVersions: [],
    signatureAlgorithms: [],
    supportedGroups: [],
    ecPointFormats: [],
  };
  // Hellos from before TLS 1.0 extensions simply stop after compression_methods.
  if (r.remaining === 0) return hello;
  const extensions = r.vector(2, 'extensions');
  r.expectEnd('extensions');
  const decoded = new Set<number>();
  while (extensions.remaining > 0) {
    const type = extensions.u16('extension type');
    const name = `extension 0x${hex4(type)}`;
    const data = extensions.vector(2, name);
    hello.extensions.push(type);
    // A duplicated extension is illegal; the type list keeps every copy
    // (fingerprints count them) but only the first copy's content is used.
    if (decoded.has(type)) continue;
    decoded.add(type);
    decodeExtension(hello, type, name, data);
  }
  return hello;
}

function decodeExtension(hello: ClientHello, type: number, name: string, data: ByteReader): void {
  switch (type) {
    case EXT_SERVER_NAME: {
      // Servers answer with an empty server_name extension; tolerate it here too.
      if (data.remaining === 0) return;
      const list = data.vector(2, `${name} server_name_list`);
      data.expectEnd(`${name} server_name_list`);
      while (list.remaining > 0) {
        const nameType = list.u8(`${name} name_type`);
        const host = list.vector(2, `${name} host_name`).rest();
        if (nameType === 0 && hello.serverName === undefined) hello.serverName = printableAscii(host);
      }
      return;
    }
    case EXT_ALPN: {
      const list = data.vector(2, `${name} protocol_name_list`);
      data.expectEnd(`${name} protocol_name_list`);
      while (list.remaining > 0) {
        const id = list.vector(1, `${name} protocol_name`).rest().slice();
        hello.alpn.push(id);
        hello.alpnStrings.push(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1'));
      }
      return;
    }
    case EXT_SUPPORTED_VERSIONS:
      hello.supportedVersions = data.vector(1, `${name} versions`).u16List(`${name} versions`);
      data.expectEnd(`${name} versions`);
      return;
    case EXT_SIGNATURE_ALGORITHMS:
      hello.signatureAlgorithms = data.vector(2, `${name} supported_signature_algorithms`).u16List(`${name} supported_signature_algorithms`);
      data.expectEnd(`${name} supported_signature_algorithms`);
      return;
    case EXT_SUPPORTED_GROUPS:
      hello.supportedGroups = data.vector(2, `${name} named_group_list`).u16List(`${name} named_group_list`);
      data.expectEnd(`${name} named_group_list`);
      return;
    case EXT_EC_POINT_FORMATS:
      hello.ecPointFormats = data.vector(1, `${name} ec_point_format_list`).u8List();
      data.expectEnd(`${name} ec_point_format_list`);
      return;
    default:
      return;
  }
}

function printableAscii(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex2(b)}`;
  }
  return out;
}

const VERSION_NAMES: Record<number, string> = {
  0x0002: 'SSLv2',
  0x0300: 'SSLv3',
  0x0301: 'TLSv1.0',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
  0xfeff: 'DTLSv1.0',
  0xfefd: 'DTLSv1.2',
  0xfefc: 'DTLSv1.3',
};

/** 0x0304 → "TLSv1.3"; values without a name are shown as "0x7f1c". */
export function tlsVersionName(version: number): string {
  return VERSION_NAMES[version] ?? `0x${hex4(version)}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
