// Builds ClientHello records from a description, for tests, fuzzing and
// load generators that need a specific fingerprint on the wire without a
// TLS library choosing the bytes.

export interface HelloExtension {
  type: number;
  data: Uint8Array;
}

export interface HelloSpec {
  recordVersion?: number;
  legacyVersion?: number;
  random?: Uint8Array;
  sessionId?: Uint8Array;
  ciphers: number[];
  compressionMethods?: number[];
  /** Omitted: the hello ends after compression_methods, as pre-TLS 1.0 clients send it. */
  extensions?: HelloExtension[];
  /** Split the handshake message over records of at most this many bytes. */
  maxRecordPayload?: number;
}

export function buildClientHello(spec: HelloSpec): Uint8Array {
  const body: number[] = [
    ...u16(spec.legacyVersion ?? 0x0303),
    ...(spec.random ?? new Uint8Array(32)),
    ...vector(1, [...(spec.sessionId ?? new Uint8Array(0))]),
    ...vector(2, spec.ciphers.flatMap(u16)),
    ...vector(1, spec.compressionMethods ?? [0]),
  ];
  if (spec.extensions !== undefined) {
    body.push(...vector(2, spec.extensions.flatMap((e) => [...u16(e.type), ...vector(2, [...e.data])])));
  }
  const message = [1, ...u24(body.length), ...body];
  const chunk = spec.maxRecordPayload ?? 16384;
  const out: number[] = [];
  for (let i = 0; i < message.length; i += chunk) {
    out.push(0x16, ...u16(spec.recordVersion ?? 0x0301), ...vector(2, message.slice(i, i + chunk)));
  }
  return Uint8Array.from(out);
}

export function sniExtension(host: string): HelloExtension {
  const name = [...Buffer.from(host, 'latin1')];
  return { type: 0x0000, data: Uint8Array.from(vector(2, [0, ...vector(2, name)])) };
}

export function alpnExtension(protocols: (string | Uint8Array)[]): HelloExtension {
  const list = protocols.flatMap((p) => vector(1, [...(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)]));
  return { type: 0x0010, data: Uint8Array.from(vector(2, list)) };
}

export function supportedVersionsExtension(versions: number[]): HelloExtension {
  return { type: 0x002b, data: Uint8Array.from(vector(1, versions.flatMap(u16))) };
}

/** signature_algorithms (0x000d), supported_groups (0x000a) and other lists of 16-bit values. */
export function u16ListExtension(type: number, values: number[]): HelloExtension {
  return { type, data: Uint8Array.from(vector(2, values.flatMap(u16))) };
}

export function ecPointFormatsExtension(formats: number[]): HelloExtension {
  return { type: 0x000b, data: Uint8Array.from(vector(1, formats)) };
}

export function emptyExtension(type: number): HelloExtension {
  return { type, data: new Uint8Array(0) };
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u24(n: number): number[] {
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function vector(prefixBytes: 1 | 2, content: number[]): number[] {
  return [...(prefixBytes === 1 ? [content.length & 0xff] : u16(content.length)), ...content];
}
