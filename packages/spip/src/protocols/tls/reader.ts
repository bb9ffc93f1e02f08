// A cursor over attacker-supplied bytes. Every read is checked against the
// bytes that actually exist, and a failed check names the field, so a
// malformed ClientHello produces a precise message instead of an exception
// from deep inside a parser or an allocation sized by a forged length.

export class MalformedError extends Error {}

export class ByteReader {
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(field: string): number {
    this.need(3, field);
    const v = (this.bytes[this.pos]! << 16) | (this.bytes[this.pos + 1]! << 8) | this.bytes[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  take(n: number, field: string): Uint8Array {
    if (n > this.remaining) {
      throw new MalformedError(`${field} length ${n} exceeds remaining ${this.remaining} bytes`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a TLS vector: a big-endian length of prefixBytes, then that many bytes. */
  vector(prefixBytes: 1 | 2 | 3, field: string): ByteReader {
    const n = prefixBytes === 1 ? this.u8(field) : prefixBytes === 2 ? this.u16(field) : this.u24(field);
    if (n > this.remaining) {
      throw new MalformedError(`${field} length ${n} exceeds remaining ${this.remaining} bytes`);
    }
    const sub = new ByteReader(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  /** The rest of this reader as big-endian 16-bit values. */
  u16List(field: string): number[] {
    if (this.remaining % 2 !== 0) throw new MalformedError(`${field} length ${this.remaining} is odd`);
    const out: number[] = [];
    while (this.remaining > 0) out.push(this.u16(field));
    return out;
  }

  /** A view of everything not yet read. */
  rest(): Uint8Array {
    return this.take(this.remaining, '');
  }

  /** The rest of this reader as single-byte values. */
  u8List(): number[] {
    return Array.from(this.rest());
  }

  expectEnd(field: string): void {
    if (this.remaining !== 0) throw new MalformedError(`${this.remaining} unexpected bytes after ${field}`);
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new MalformedError(`${field} truncated: needs ${n} bytes, ${this.remaining} remaining`);
    }
  }
}
