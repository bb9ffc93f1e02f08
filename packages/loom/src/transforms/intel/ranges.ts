import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { GrowableU32, GrowableU8 } from './growable.js';

/**
 * The CIDR index of one address family, flattened into sorted, non-overlapping ranges.
 *
 * Every prefix of every list becomes part of a partition of the whole address space into
 * ranges; each range carries the prefixes that cover all of it, at most one per list (that
 * list's most specific one), most specific first. A lookup is one binary search over the
 * range starts, so it costs about log2(ranges) comparisons whatever the prefixes overlap.
 *
 * All arrays live in SharedArrayBuffers: a worker thread that receives them in a message
 * maps the same memory instead of copying or rebuilding the index.
 */
export interface RangeTableData {
  /** 32-bit words per address: 1 for IPv4, 4 for IPv6 (most significant first). */
  words: 1 | 4;
  /** Uint32 × words × ranges: the first address of each range, ascending; range 0 starts at 0. */
  starts: SharedArrayBuffer;
  /** Uint32 × (ranges + 1): range i's prefixes are entries[offsets[i]] … entries[offsets[i+1] - 1]. */
  offsets: SharedArrayBuffer;
  /** Uint32 prefix numbers. */
  entries: SharedArrayBuffer;
  /** Uint32 × words × prefixes: each prefix's first address. */
  prefixWords: SharedArrayBuffer;
  /** Uint8 × prefixes: each prefix's length in bits. */
  prefixLengths: SharedArrayBuffer;
  /** Uint32 × prefixes: each prefix's label (list, category, confidence). */
  prefixLabels: SharedArrayBuffer;
}

/** Prefixes of one family as they are read, before the ranges are built. */
export class PrefixStore {
  readonly addresses = new GrowableU32(4096);
  readonly lengths = new GrowableU8(4096);
  readonly labels = new GrowableU32(4096);

  constructor(readonly words: 1 | 4) {}

  get count(): number {
    return this.lengths.length;
  }

  add(words: Uint32Array, length: number, label: number): void {
    this.addresses.reserve(this.words);
    for (let k = 0; k < this.words; k++) this.addresses.push(words[k] ?? 0);
    this.lengths.push(length);
    this.labels.push(label);
  }
}

/** The bits of word `k` that lie after a prefix of `length` bits (all ones inside the host part). */
function hostBits(length: number, k: number): number {
  const keep = length - 32 * k;
  if (keep >= 32) return 0;
  if (keep <= 0) return 0xffffffff;
  return 0xffffffff >>> keep;
}

/** Longest stretch, in milliseconds, a build runs before letting other work proceed. */
const SLICE_MS = 8;
/** Prefixes handled between checks of the clock: a few milliseconds of work at most. */
const BLOCK = 65536;

class Slicer {
  private started = performance.now();

  /** Yields to the event loop when the current slice has run long enough. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.started < SLICE_MS) return;
    await yieldToEventLoop();
    this.started = performance.now();
  }
}

/**
 * Orders the prefixes by first address, then length (containers before what they contain),
 * then insertion. An LSD radix sort over 16-bit digits: linear, stable (so insertion order
 * needs no key of its own), and it can pause after any block, where a single native sort
 * of a million keys would hold the event loop for a hundred milliseconds.
 */
async function sortPrefixes(store: PrefixStore, slicer: Slicer): Promise<Uint32Array> {
  const n = store.count;
  const W = store.words;
  const A = store.addresses.data;
  const L = store.lengths.data;
  let order = new Uint32Array(n);
  let next = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const counts = new Uint32Array(65537);
  // Least significant digit first: the length, then each address half-word from the right.
  for (let pass = -1; pass < 2 * W; pass++) {
    const word = W - 1 - (pass >> 1);
    const shift = pass & 1 ? 16 : 0;
    const digit = pass < 0 ? (prefix: number): number => L[prefix] ?? 0 : (prefix: number): number => ((A[prefix * W + word] ?? 0) >>> shift) & 0xffff;
    counts.fill(0);
    for (let from = 0; from < n; from += BLOCK) {
      const to = Math.min(n, from + BLOCK);
      for (let i = from; i < to; i++) {
        const d = digit(order[i] ?? 0) + 1;
        counts[d] = (counts[d] ?? 0) + 1;
      }
      await slicer.maybeYield();
    }
    if (counts.some((count) => count === n)) continue;
    for (let d = 1; d < counts.length; d++) counts[d] = (counts[d] ?? 0) + (counts[d - 1] ?? 0);
    for (let from = 0; from < n; from += BLOCK) {
      const to = Math.min(n, from + BLOCK);
      for (let i = from; i < to; i++) {
        const prefix = order[i] ?? 0;
        const d = digit(prefix);
        const at = counts[d] ?? 0;
        next[at] = prefix;
        counts[d] = at + 1;
      }
      await slicer.maybeYield();
    }
    [order, next] = [next, order];
  }
  return order;
}

export interface BuiltTable {
  data: RangeTableData;
  /** Per list: prefixes dropped because the same list already had the same prefix. */
  duplicates: Map<number, number>;
}

/**
 * Sweeps the prefixes in address order. CIDR prefixes never partially overlap (two are
 * either nested or disjoint), so the prefixes covering the current address always form one
 * chain of nested prefixes: a stack. Each push or pop changes the covering set, and each
 * change starts a new range.
 */
export async function buildRangeTable(store: PrefixStore, labelList: ArrayLike<number>, listCount: number): Promise<BuiltTable> {
  const W = store.words;
  const slicer = new Slicer();
  const order = await sortPrefixes(store, slicer);

  const A = store.addresses.data;
  const L = store.lengths.data;
  const labelOf = store.labels.data;
  const listOf = (prefix: number): number => labelList[labelOf[prefix] ?? 0] ?? 0;

  const starts = new GrowableU32(Math.max(16, W * (2 * store.count + 1)));
  const offsets = new GrowableU32(2 * store.count + 2);
  const entries = new GrowableU32(2 * store.count + 16);
  const duplicates = new Map<number, number>();

  const stack: number[] = [];
  const seen = new Int32Array(Math.max(1, listCount)).fill(-1);
  let generation = 0;
  const cover: number[] = [];
  const boundary = new Uint32Array(W);

  const computeCover = (): void => {
    cover.length = 0;
    generation++;
    for (let s = stack.length - 1; s >= 0; s--) {
      const prefix = stack[s] ?? 0;
      const list = listOf(prefix);
      if (seen[list] === generation) continue;
      seen[list] = generation;
      cover.push(prefix);
    }
  };

  const rangeCount = (): number => offsets.length;

  const sameAsRange = (range: number, end: number): boolean => {
    const from = offsets.data[range] ?? 0;
    if (end - from !== cover.length) return false;
    for (let i = 0; i < cover.length; i++) if (entries.data[from + i] !== cover[i]) return false;
    return true;
  };

  const startsAt = (range: number): boolean => {
    for (let k = 0; k < W; k++) if (starts.data[range * W + k] !== boundary[k]) return false;
    return true;
  };

  // Records that from `boundary` on, the covering set is what the stack holds now.
  const setBoundary = (): void => {
    computeCover();
    const n = rangeCount();
    if (n > 0 && startsAt(n - 1)) {
      const lastFrom = offsets.data[n - 1] ?? 0;
      entries.length = lastFrom;
      if (n > 1 && sameAsRange(n - 2, lastFrom)) {
        starts.length -= W;
        offsets.length -= 1;
        return;
      }
      for (const prefix of cover) entries.push(prefix);
      return;
    }
    if (n > 0 && sameAsRange(n - 1, entries.length)) return;
    starts.reserve(W);
    for (let k = 0; k < W; k++) starts.push(boundary[k] ?? 0);
    offsets.push(entries.length);
    for (const prefix of cover) entries.push(prefix);
  };

  const endsBefore = (top: number, prefix: number): boolean => {
    const lt = L[top] ?? 0;
    for (let k = 0; k < W; k++) {
      const end = ((A[top * W + k] ?? 0) | hostBits(lt, k)) >>> 0;
      const start = A[prefix * W + k] ?? 0;
      if (end !== start) return end < start;
    }
    return false;
  };

  // Sets `boundary` to the address after `prefix`; false when it ends at the top of the space.
  const afterEnd = (prefix: number): boolean => {
    const length = L[prefix] ?? 0;
    for (let k = 0; k < W; k++) boundary[k] = ((A[prefix * W + k] ?? 0) | hostBits(length, k)) >>> 0;
    for (let k = W - 1; k >= 0; k--) {
      if (boundary[k] !== 0xffffffff) {
        boundary[k] = (boundary[k] ?? 0) + 1;
        return true;
      }
      boundary[k] = 0;
    }
    return false;
  };

  const pop = (): void => {
    const top = stack.pop() ?? 0;
    if (afterEnd(top)) setBoundary();
  };

  const isDuplicate = (prefix: number): boolean => {
    const list = listOf(prefix);
    for (let s = stack.length - 1; s >= 0; s--) {
      const other = stack[s] ?? 0;
      if (L[other] !== L[prefix]) return false;
      for (let k = 0; k < W; k++) if (A[other * W + k] !== A[prefix * W + k]) return false;
      if (listOf(other) === list) return true;
    }
    return false;
  };

  boundary.fill(0);
  setBoundary();
  for (let i = 0; i < order.length; i++) {
    if (i % 4096 === 4095) await slicer.maybeYield();
    const prefix = order[i] ?? 0;
    while (stack.length > 0 && endsBefore(stack[stack.length - 1] ?? 0, prefix)) pop();
    if (isDuplicate(prefix)) {
      const list = listOf(prefix);
      duplicates.set(list, (duplicates.get(list) ?? 0) + 1);
      continue;
    }
    stack.push(prefix);
    for (let k = 0; k < W; k++) boundary[k] = A[prefix * W + k] ?? 0;
    setBoundary();
  }
  while (stack.length > 0) pop();
  offsets.push(entries.length);

  const shared: SharedArrayBuffer[] = [];
  for (const array of [starts, offsets, entries, store.addresses, store.lengths, store.labels]) {
    shared.push(array.toShared());
    await slicer.maybeYield();
  }
  const [startsData, offsetsData, entriesData, prefixWords, prefixLengths, prefixLabels] = shared as [SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer];
  return {
    data: { words: W, starts: startsData, offsets: offsetsData, entries: entriesData, prefixWords, prefixLengths, prefixLabels },
    duplicates,
  };
}

/** Read side of RangeTableData: views over the shared memory, no copies. */
export class RangeTable {
  readonly words: 1 | 4;
  readonly starts: Uint32Array;
  readonly offsets: Uint32Array;
  readonly entries: Uint32Array;
  readonly prefixWords: Uint32Array;
  readonly prefixLengths: Uint8Array;
  readonly prefixLabels: Uint32Array;
  readonly ranges: number;

  constructor(data: RangeTableData) {
    this.words = data.words;
    this.starts = new Uint32Array(data.starts);
    this.offsets = new Uint32Array(data.offsets);
    this.entries = new Uint32Array(data.entries);
    this.prefixWords = new Uint32Array(data.prefixWords);
    this.prefixLengths = new Uint8Array(data.prefixLengths);
    this.prefixLabels = new Uint32Array(data.prefixLabels);
    this.ranges = this.starts.length / this.words;
  }

  /** The range holding the address in `address` (its first `words` words). */
  find(address: Uint32Array): number {
    const starts = this.starts;
    let lo = 0;
    let hi = this.ranges - 1;
    if (this.words === 1) {
      const x = address[0] ?? 0;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if ((starts[mid] ?? 0) <= x) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.startNotAfter(mid, address)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  get byteLength(): number {
    return this.starts.byteLength + this.offsets.byteLength + this.entries.byteLength + this.prefixWords.byteLength + this.prefixLengths.byteLength + this.prefixLabels.byteLength;
  }

  private startNotAfter(range: number, address: Uint32Array): boolean {
    for (let k = 0; k < 4; k++) {
      const s = this.starts[range * 4 + k] ?? 0;
      const a = address[k] ?? 0;
      if (s !== a) return s < a;
    }
    return true;
  }
}
