import { EventQueue, type DropHandler, type EventStore, type Ready, type StoreCounts, type Taken } from '@loom/spool';

/** The store without a spool directory: bounded memory, lost on exit (and counted then). */
export class MemoryStore implements EventStore {
  onReady: () => void = () => undefined;
  private readonly queue: EventQueue;
  private inFlight = 0;

  constructor(maxEvents: number, onDrop: DropHandler) {
    this.queue = new EventQueue(maxEvents, onDrop);
  }

  async open(): Promise<void> {}

  push(line: Buffer): void {
    this.queue.push(line);
    this.onReady();
  }

  ready(): Ready {
    return { events: this.queue.length, bytes: this.queue.bytes, since: this.queue.since };
  }

  pending(): number {
    return 0;
  }

  async take(maxEvents: number, maxBodyBytes: number): Promise<Taken | undefined> {
    const records = this.queue.take(maxEvents, maxBodyBytes);
    if (records.length === 0) return undefined;
    this.inFlight += records.length;
    return { records, ends: undefined, acked: 0 };
  }

  async ack(taken: Taken, settled: number): Promise<void> {
    this.inFlight -= settled - taken.acked;
    taken.acked = settled;
  }

  async release(taken: Taken): Promise<void> {
    this.inFlight -= taken.records.length - taken.acked;
    this.queue.putBack(taken.records.slice(taken.acked));
    taken.acked = taken.records.length;
  }

  counts(): StoreCounts {
    return { queued: this.queue.length + this.inFlight, spooled: 0, spooledBytes: 0 };
  }

  async close(): Promise<number> {
    return this.queue.length + this.inFlight;
  }
}
