/**
 * The bytes a client sent, kept up to a cap. Past the cap bytes are counted but not kept,
 * so one client cannot make the sensor hold more than max_payload_bytes per connection.
 */
export class PayloadBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.truncated = this.truncated || chunk.length > 0;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.kept += part.length;
  }

  get length(): number {
    return this.kept;
  }

  get full(): boolean {
    return this.kept >= this.cap;
  }

  bytes(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}
