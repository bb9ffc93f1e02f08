/** A cached answer: the name, or undefined for "this address has no usable name". */
export interface CachedAnswer {
  readonly name: string | undefined;
}

interface Entry extends CachedAnswer {
  readonly expiresAt: number;
}

/**
 * Answers kept for their TTL, at most `maxEntries` of them, least recently used evicted
 * first. A Map iterates in insertion order, so re-inserting an entry on every hit keeps the
 * least recently used one first.
 *
 * An expired entry is dropped when it is next read; besides, a full sweep runs at most once
 * every `sweepEveryMs` (from set, so an idle cache costs nothing) because entries with
 * different TTLs do not expire in LRU order and would otherwise sit until the size bound
 * pushes them out.
 */
export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private nextSweepAt: number;

  constructor(
    private readonly maxEntries: number,
    private readonly sweepEveryMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.nextSweepAt = now() + sweepEveryMs;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  /** Remembers `name` for `ttlMs`; a TTL of 0 or less stores nothing. */
  set(key: string, name: string | undefined, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    const now = this.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    this.entries.delete(key);
    this.entries.set(key, { name, expiresAt: now + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    this.nextSweepAt = now + this.sweepEveryMs;
  }
}
