const LF = 0x0a;
const CR = 0x0d;

/** What the splitter finds in the byte stream of one connection. */
export interface FrameSink {
  /** One message: bytes start to end of buf, without the line end. */
  line(buf: Buffer, start: number, end: number): void;
  /** A message grew past the size limit; it is dropped, and so is the rest of it up to the next LF. */
  oversized(): void;
}

/**
 * Splits a TCP byte stream into messages: each ends with LF, and a CR right before the LF
 * is dropped too. An empty line is no message (it gets no response). A message may be at
 * most maxBytes long, line end not counted; a longer one is reported once, as soon as it
 * is known to be too long, and everything up to its LF is skipped without being buffered,
 * so a client can never make the server hold more than maxBytes of an unfinished message.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private discarding = false;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of an unfinished message held for the next chunk. */
  get buffered(): number {
    return this.partBytes;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let from = 0;
    for (let lf = chunk.indexOf(LF, from); lf >= 0; lf = chunk.indexOf(LF, from)) {
      if (this.discarding) {
        this.discarding = false;
      } else if (this.partBytes === 0) {
        this.emit(chunk, from, lf, sink);
      } else {
        const total = this.partBytes + (lf - from);
        if (total > this.maxBytes + 1) {
          sink.oversized();
        } else {
          this.parts.push(chunk.subarray(from, lf));
          this.emit(Buffer.concat(this.parts, total), 0, total, sink);
        }
        this.parts = [];
        this.partBytes = 0;
      }
      from = lf + 1;
    }
    if (from >= chunk.length || this.discarding) return;
    this.partBytes += chunk.length - from;
    // One byte of slack: the unfinished part may end in the CR of a CRLF.
    if (this.partBytes > this.maxBytes + 1) {
      this.parts = [];
      this.partBytes = 0;
      this.discarding = true;
      sink.oversized();
      return;
    }
    // A copy, so that a few unfinished bytes do not keep the whole socket chunk alive.
    this.parts.push(Buffer.from(chunk.subarray(from)));
  }

  /** The peer finished sending: an unterminated last line still counts as a message. */
  finish(sink: FrameSink): void {
    if (!this.discarding && this.partBytes > 0) {
      const total = this.partBytes;
      this.emit(Buffer.concat(this.parts, total), 0, total, sink);
    }
    this.parts = [];
    this.partBytes = 0;
    this.discarding = false;
  }

  private emit(buf: Buffer, start: number, end: number, sink: FrameSink): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end - start > this.maxBytes) sink.oversized();
    else if (end > start) sink.line(buf, start, end);
  }
}
