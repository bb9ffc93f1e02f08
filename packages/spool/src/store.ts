import type { SpoolDropReason } from './types.js';

/** Where a spool record ends: the reader position just after it. */
export interface Position {
  segment: number;
  offset: number;
  /** Records before `offset` in this segment. */
  index: number;
}

/** Events handed to the sender, to be acknowledged (or released) in order. */
export interface Taken {
  records: Buffer[];
  /** For records read from the spool: the position after each one; undefined for records held in memory only. */
  ends: Position[] | undefined;
  /** How many records from the front are acknowledged so far. */
  acked: number;
}

export interface Ready {
  events: number;
  /** Size of the ready records (without body framing). */
  bytes: number;
  /** When the oldest ready record became ready. */
  since: number | undefined;
}

export interface StoreCounts {
  queued: number;
  spooled: number;
  spooledBytes: number;
}

/**
 * What the sender reads from: the memory queue, or the disk spool. Records come out in
 * the order they went in; `ack` and `release` settle a taken batch from its first record.
 */
export interface EventStore {
  /** Set by the reader (the shipper, an outbox): called whenever records become ready. */
  onReady: () => void;
  open(): Promise<void>;
  /** Synchronous and bounded: may drop the oldest record to make room. */
  push(line: Buffer): void;
  ready(): Ready;
  /** Records accepted but not yet ready (e.g. waiting for a spool write). */
  pending(): number;
  take(maxEvents: number, maxBodyBytes: number): Promise<Taken | undefined>;
  /** The first `settled` records of `taken` are delivered or dead-lettered. */
  ack(taken: Taken, settled: number): Promise<void>;
  /** The sender gives up on the records of `taken` not yet acknowledged (shutdown). */
  release(taken: Taken): Promise<void>;
  counts(): StoreCounts;
  /** Persists what it can; returns how many events could not be kept. */
  close(): Promise<number>;
}

export type DropHandler = (reason: SpoolDropReason, events: number, detail?: Record<string, unknown>) => void;

/** Size of a JSON array body holding records of these sizes: brackets plus commas. */
export function bodySize(recordBytes: number, records: number): number {
  return recordBytes + records + 1;
}
