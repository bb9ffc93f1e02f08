/**
 * Length-prefixed frames on the byte stream between an ingest process and the primary:
 *
 *   u32 length of the rest | u8 kind | u32 id | u32 header length | header (UTF-8 JSON) | payload
 *
 * Batches are hundreds of kilobytes; sending them as raw bytes next to a small JSON header
 * costs a few copies, where the IPC channel's structured-clone serialization cost more CPU
 * and garbage than decoding them had.
 */
export interface Frame {
  kind: number;
  id: number;
  header: unknown;
  payload: Buffer;
}

const prefixBytes = 13;

/** The frame as two buffers (prefix with header, then the payload), to be written without joining them. */
export function encodeFrame(kind: number, id: number, header: unknown, payload: Uint8Array = new Uint8Array(0)): [Buffer, Uint8Array] {
  const headerBytes = Buffer.from(JSON.stringify(header ?? null), 'utf8');
  const prefix = Buffer.allocUnsafe(prefixBytes + headerBytes.length);
  prefix.writeUInt32BE(prefixBytes - 4 + headerBytes.length + payload.byteLength, 0);
  prefix.writeUInt8(kind, 4);
  prefix.writeUInt32BE(id, 5);
  prefix.writeUInt32BE(headerBytes.length, 9);
  headerBytes.copy(prefix, prefixBytes);
  return [prefix, payload];
}

export class FrameError extends Error {
  override name = 'FrameError';
}

/** Cuts a byte stream into frames; chunks may split or join frames anywhere. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxFrameBytes a frame longer than this is a broken stream, not a batch */
  constructor(private readonly maxFrameBytes: number) {}

  /** The frames completed by `chunk`. Throws FrameError on a malformed stream. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) return frames;
      const length = this.peekLength();
      if (length < prefixBytes - 4 || length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes (at most ${this.maxFrameBytes})`);
      if (this.buffered < 4 + length) return frames;
      frames.push(this.decode(this.take(4 + length)));
    }
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks, 4).readUInt32BE(0);
  }

  /** The next n bytes: a view into one chunk when the frame lies in it, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }

  private decode(frame: Buffer): Frame {
    const kind = frame.readUInt8(4);
    const id = frame.readUInt32BE(5);
    const headerLength = frame.readUInt32BE(9);
    if (prefixBytes + headerLength > frame.length) throw new FrameError(`header of ${headerLength} bytes in a frame of ${frame.length}`);
    let header: unknown;
    try {
      header = JSON.parse(frame.toString('utf8', prefixBytes, prefixBytes + headerLength));
    } catch {
      throw new FrameError('frame header is not JSON');
    }
    return { kind, id, header, payload: frame.subarray(prefixBytes + headerLength) };
  }
}
