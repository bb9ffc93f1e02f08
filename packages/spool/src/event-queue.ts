import { Ring } from './ring.js';
import { bodySize, type DropHandler } from './store.js';

/**
 * Serialised events held in memory, oldest first, never more than `maxEvents`: capture
 * must not wait for the network or the disk, so when the queue is full the oldest event
 * gives way and is counted.
 */
export class EventQueue {
  private readonly ring = new Ring<Buffer>();
  private byteCount = 0;
  private oldestSince: number | undefined;

  constructor(
    private readonly maxEvents: number,
    private readonly onDrop: DropHandler,
  ) {}

  get length(): number {
    return this.ring.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** When the queue last went from empty to non-empty. */
  get since(): number | undefined {
    return this.oldestSince;
  }

  push(line: Buffer): void {
    if (this.ring.length >= this.maxEvents) this.dropOldest(this.ring.length - this.maxEvents + 1);
    this.ring.push(line);
    this.byteCount += line.length;
    this.oldestSince ??= Date.now();
  }

  /** Takes records from the front while they fit in a body of `maxBodyBytes`; at least one. */
  take(maxEvents: number, maxBodyBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    while (out.length < maxEvents) {
      const next = this.ring.peek();
      if (next === undefined) break;
      if (out.length > 0 && bodySize(bytes + next.length, out.length + 1) > maxBodyBytes) break;
      this.ring.shift();
      this.byteCount -= next.length;
      bytes += next.length;
      out.push(next);
    }
    if (this.ring.length === 0) this.oldestSince = undefined;
    return out;
  }

  /** Takes everything, in order, up to `maxBytes` (at least one record). */
  drain(maxBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    while (this.ring.length > 0) {
      const next = this.ring.peek() as Buffer;
      if (out.length > 0 && bytes + next.length > maxBytes) break;
      this.ring.shift();
      this.byteCount -= next.length;
      bytes += next.length;
      out.push(next);
    }
    if (this.ring.length === 0) this.oldestSince = undefined;
    return out;
  }

  /** Returns records to the front (a failed write, an abandoned send); the bound still holds. */
  putBack(records: readonly Buffer[]): void {
    if (records.length === 0) return;
    this.ring.unshiftAll(records);
    for (const r of records) this.byteCount += r.length;
    this.oldestSince ??= Date.now();
    if (this.ring.length > this.maxEvents) this.dropOldest(this.ring.length - this.maxEvents);
  }

  private dropOldest(count: number): void {
    for (let i = 0; i < count; i++) {
      const old = this.ring.shift();
      if (old !== undefined) this.byteCount -= old.length;
    }
    this.onDrop('queue_full', count);
  }
}
