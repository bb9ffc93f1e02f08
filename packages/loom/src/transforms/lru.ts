/** A cached value; `stamp` belongs to the cache, which sets it whenever it (re)inserts the value. */
export interface Stamped {
  stamp?: number;
}

/**
 * A cache of at most `capacity` entries that evicts the least recently used one first, give or
 * take: an entry is kept for at least capacity / 2 insertions after it was last used.
 *
 * A strict LRU moves an entry to the young end on every hit, which on a Map is a delete and a
 * set, two more hash lookups for every event. Honeypot traffic repeats a few addresses all the
 * time, so hits are nearly all the work; here a hit only moves an entry once it has aged past
 * half the capacity, and between moves it costs one lookup. The stamp is kept on the value
 * itself, so a hit reads no other object.
 */
export class LruCache<K, V extends Stamped> {
  private readonly entries = new Map<K, V>();
  /** Insertions so far, moves included; a value's stamp is the clock when it was (re)inserted. */
  private clock = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined && this.clock - (value.stamp ?? 0) >= this.capacity >>> 1) {
      this.entries.delete(key);
      value.stamp = ++this.clock;
      this.entries.set(key, value);
    }
    return value;
  }

  /** Adds or replaces an entry; with a capacity of 0 nothing is kept. */
  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as K);
    value.stamp = ++this.clock;
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }
}
