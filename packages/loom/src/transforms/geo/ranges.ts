/**
 * ASN range files in the @ip-location-db/asn layout, `start,end,asn,org` (inclusive bounds,
 * IPv4 and IPv6 lines may be mixed), loaded into shared typed arrays and searched by bisection.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseIp } from './ip.js';
import { GeoDataError, type RangeTableHandle } from './types.js';

export interface ParsedRanges {
  v4: RangeTableHandle;
  v6: RangeTableHandle;
  orgText: SharedArrayBuffer;
  orgOffsets: SharedArrayBuffer;
}

/** Work between two yields to the event loop: a 256 KiB slice parses in 2-3 ms when the CPU is free. */
const SLICE_BYTES = 256 * 1024;

class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  at(i: number): number {
    return this.data[i] ?? 0;
  }
}

/** Ranges of one family as read, before sorting; `words` is 1 for IPv4 and 4 for IPv6. */
class RangeBuilder {
  readonly starts = new GrowableU32();
  readonly ends = new GrowableU32();
  readonly asns = new GrowableU32();
  readonly orgs = new GrowableU32();
  count = 0;

  constructor(readonly words: 1 | 4) {}

  add(start: Uint32Array, end: Uint32Array, asn: number, org: number): void {
    for (let w = 0; w < this.words; w++) {
      this.starts.push(start[w] ?? 0);
      this.ends.push(end[w] ?? 0);
    }
    this.asns.push(asn);
    this.orgs.push(org);
    this.count++;
  }
}

/**
 * Parses a whole range file. Malformed lines fail the load with the file and line: a file
 * that does not parse is a truncated download or another format, and half of it loaded
 * would quietly mislabel addresses. Blank lines and a header line are skipped; AS 0 ranges
 * (RFC 7607: not routed) are dropped because they carry no AS to report.
 */
export async function parseRangeCsv(path: string, text: Buffer): Promise<ParsedRanges> {
  const v4 = new RangeBuilder(1);
  const v6 = new RangeBuilder(4);
  const orgIndex = new Map<string, number>([['', 0]]);
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  let line = 0;
  let offset = text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
  const parseLine = (s: string, from: number, to: number): void => {
    const c1 = s.indexOf(',', from);
    const c2 = c1 < 0 || c1 >= to ? -1 : s.indexOf(',', c1 + 1);
    const c3 = c2 < 0 || c2 >= to ? -1 : s.indexOf(',', c2 + 1);
    if (c3 < 0 || c3 >= to) {
      if (line === 1 && isHeader(s, from, to)) return;
      throw new GeoDataError(path, 'expected 4 fields: start,end,asn,organization', line);
    }
    const family = parseIp(s, from, c1, start);
    if (family === 0) {
      if (line === 1 && isHeader(s, from, c1)) return;
      throw new GeoDataError(path, `range start ${quote(s.slice(from, c1))} is not an IP address`, line);
    }
    if (parseIp(s, c1 + 1, c2, end) !== family) {
      throw new GeoDataError(path, `range end ${quote(s.slice(c1 + 1, c2))} is not an IPv${family} address`, line);
    }
    if (compare(start, end, family === 4 ? 1 : 4) > 0) throw new GeoDataError(path, 'range start is after its end', line);
    const asn = parseAsn(s, c2 + 1, c3);
    if (asn < 0) throw new GeoDataError(path, `AS number ${quote(s.slice(c2 + 1, c3))} is not an integer from 0 to 4294967295`, line);
    const org = parseOrganization(s, c3 + 1, to);
    if (org === undefined) throw new GeoDataError(path, 'unterminated or malformed quoted organization', line);
    if (asn === 0) return;
    let index = orgIndex.get(org);
    if (index === undefined) {
      index = orgIndex.size;
      orgIndex.set(org, index);
    }
    (family === 4 ? v4 : v6).add(start, end, asn, index);
  };

  while (offset < text.length) {
    let sliceEnd = text.indexOf(10, Math.min(offset + SLICE_BYTES, text.length - 1));
    if (sliceEnd < 0) sliceEnd = text.length;
    const chunk = text.toString('utf8', offset, sliceEnd);
    let pos = 0;
    while (pos <= chunk.length) {
      let eol = chunk.indexOf('\n', pos);
      if (eol < 0) eol = chunk.length;
      line++;
      const stop = eol > pos && chunk.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
      if (stop > pos) parseLine(chunk, pos, stop);
      pos = eol + 1;
    }
    offset = sliceEnd + 1;
    await yieldToLoop();
  }

  const table4 = await normalize(v4);
  await yieldToLoop();
  const table6 = await normalize(v6);
  await yieldToLoop();
  return { v4: table4, v6: table6, ...(await packOrganizations([...orgIndex.keys()])) };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

/** A first line like `start,end,asn,org` or `ip_range_start,...`: letters, no digits. */
function isHeader(s: string, from: number, to: number): boolean {
  return /^[A-Za-z_ "]+$/.test(s.slice(from, to));
}

function parseAsn(s: string, from: number, to: number): number {
  if (to === from || to - from > 10) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n > 0xffffffff ? -1 : n;
}

/** RFC 4180 quoting, `"..."` with `""` for a quote; unquoted text runs to the end of the line. */
function parseOrganization(s: string, from: number, to: number): string | undefined {
  if (s.charCodeAt(from) !== 34) return s.slice(from, to).trim();
  let out = '';
  let i = from + 1;
  while (i < to) {
    const q = s.indexOf('"', i);
    if (q < 0 || q >= to) return undefined;
    out += s.slice(i, q);
    if (q + 1 < to && s.charCodeAt(q + 1) === 34) {
      out += '"';
      i = q + 2;
      continue;
    }
    return q + 1 === to ? out.trim() : undefined;
  }
  return undefined;
}

/** Three-way comparison of two addresses of `words` 32-bit words. */
function compare(a: ArrayLike<number>, b: ArrayLike<number>, words: number, ai = 0, bi = 0): number {
  for (let w = 0; w < words; w++) {
    const x = a[ai + w] ?? 0;
    const y = b[bi + w] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Arithmetic on range bounds: plain numbers for IPv4, bigints for 128-bit IPv6. */
interface KeyOps<K> {
  read(array: Uint32Array, i: number): K;
  write(key: K, out: Uint32Array): void;
  less(a: K, b: K): boolean;
  add(key: K, delta: 1 | -1): K;
  zero: K;
}

const ipv4Keys: KeyOps<number> = {
  read: (array, i) => array[i] ?? 0,
  write: (key, out) => {
    out[0] = key;
  },
  less: (a, b) => a < b,
  add: (key, delta) => key + delta,
  zero: 0,
};

const ipv6Keys: KeyOps<bigint> = {
  read: (array, i) => {
    let k = 0n;
    for (let w = 0; w < 4; w++) k = (k << 32n) | BigInt(array[i * 4 + w] ?? 0);
    return k;
  },
  write: (key, out) => {
    for (let w = 3; w >= 0; w--) {
      out[w] = Number(key & 0xffffffffn);
      key >>= 32n;
    }
  },
  less: (a, b) => a < b,
  add: (key, delta) => key + BigInt(delta),
  zero: 0n,
};

/** Entries between two yields to the event loop after parsing. */
const SWEEP_SLICE = 16_384;

/**
 * Makes the ranges sorted and disjoint, as bisection needs. Files are usually both already;
 * where ranges overlap (the bundled IPv4 file has one) the range that starts later is the
 * more specific announcement and wins, and the outer range resumes after it.
 */
async function normalize(b: RangeBuilder): Promise<RangeTableHandle> {
  const { words, count } = b;
  const starts = b.starts.data;
  const ends = b.ends.data;
  let clean = true;
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) {
    const c = compare(starts, starts, words, i * words, (i - 1) * words);
    if (c < 0 || (c === 0 && compare(ends, ends, words, i * words, (i - 1) * words) > 0)) sorted = false;
    if (compare(starts, ends, words, i * words, (i - 1) * words) <= 0) clean = false;
  }
  if (clean && sorted) return share(b);
  let order: number[] | undefined;
  if (!sorted) {
    order = Array.from({ length: count }, (_, i) => i);
    order.sort((x, y) => compare(starts, starts, words, x * words, y * words) || compare(ends, ends, words, y * words, x * words));
  }
  return share(words === 1 ? await sweep(b, order, ipv4Keys) : await sweep(b, order, ipv6Keys));
}

/**
 * One pass over the ranges in start order. `open` holds the ranges enclosing the current
 * position, innermost last; `cursor` is the first address not yet emitted.
 */
async function sweep<K>(b: RangeBuilder, order: number[] | undefined, keys: KeyOps<K>): Promise<RangeBuilder> {
  const out = new RangeBuilder(b.words);
  const outStart = new Uint32Array(4);
  const outEnd = new Uint32Array(4);
  const emit = (from: K, to: K, source: number): void => {
    if (keys.less(to, from)) return;
    keys.write(from, outStart);
    keys.write(to, outEnd);
    out.add(outStart, outEnd, b.asns.at(source), b.orgs.at(source));
  };
  const later = (a: K, c: K): K => (keys.less(a, c) ? c : a);
  const open: { start: K; end: K; source: number }[] = [];
  let cursor = keys.zero;
  const close = (): void => {
    const top = open.pop();
    if (top === undefined) return;
    emit(later(top.start, cursor), top.end, top.source);
    cursor = later(cursor, keys.add(top.end, 1));
  };
  for (let n = 0; n < b.count; n++) {
    if (n % SWEEP_SLICE === SWEEP_SLICE - 1) await yieldToLoop();
    const i = order === undefined ? n : (order[n] ?? 0);
    const start = keys.read(b.starts.data, i);
    let top = open[open.length - 1];
    while (top !== undefined && keys.less(top.end, start)) {
      close();
      top = open[open.length - 1];
    }
    if (top !== undefined) emit(later(top.start, cursor), keys.add(start, -1), top.source);
    cursor = later(cursor, start);
    open.push({ start, end: keys.read(b.ends.data, i), source: i });
  }
  while (open.length > 0) close();
  return out;
}

function share(b: RangeBuilder): RangeTableHandle {
  const copy = (g: GrowableU32, perEntry: number): SharedArrayBuffer => {
    const sab = new SharedArrayBuffer(b.count * perEntry * 4);
    new Uint32Array(sab).set(g.data.subarray(0, b.count * perEntry));
    return sab;
  };
  return {
    count: b.count,
    starts: copy(b.starts, b.words),
    ends: copy(b.ends, b.words),
    asns: copy(b.asns, 1),
    orgs: copy(b.orgs, 1),
  };
}

async function packOrganizations(names: string[]): Promise<{ orgText: SharedArrayBuffer; orgOffsets: SharedArrayBuffer }> {
  let total = 0;
  for (const name of names) total += Buffer.byteLength(name, 'utf8');
  await yieldToLoop();
  const orgText = new SharedArrayBuffer(total);
  const orgOffsets = new SharedArrayBuffer((names.length + 1) * 4);
  const text = Buffer.from(orgText);
  const offsets = new Uint32Array(orgOffsets);
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    if (i % SWEEP_SLICE === SWEEP_SLICE - 1) await yieldToLoop();
    offsets[i] = at;
    at += text.write(names[i] ?? '', at, 'utf8');
  }
  offsets[names.length] = at;
  return { orgText, orgOffsets };
}

/** Bisection over shared range tables; cheap to construct in any thread. */
export class RangeReader {
  private readonly v4Starts: Uint32Array;
  private readonly v4Ends: Uint32Array;
  private readonly v4Asns: Uint32Array;
  private readonly v4Orgs: Uint32Array;
  private readonly v6Starts: Uint32Array;
  private readonly v6Ends: Uint32Array;
  private readonly v6Asns: Uint32Array;
  private readonly v6Orgs: Uint32Array;
  private readonly orgText: Buffer;
  private readonly orgOffsets: Uint32Array;

  constructor(h: ParsedRanges) {
    this.v4Starts = new Uint32Array(h.v4.starts);
    this.v4Ends = new Uint32Array(h.v4.ends);
    this.v4Asns = new Uint32Array(h.v4.asns);
    this.v4Orgs = new Uint32Array(h.v4.orgs);
    this.v6Starts = new Uint32Array(h.v6.starts);
    this.v6Ends = new Uint32Array(h.v6.ends);
    this.v6Asns = new Uint32Array(h.v6.asns);
    this.v6Orgs = new Uint32Array(h.v6.orgs);
    this.orgText = Buffer.from(h.orgText);
    this.orgOffsets = new Uint32Array(h.orgOffsets);
  }

  /** AS number and organisation index of the range holding the IPv4 address, or undefined. */
  findV4(a: number): { asn: number; org: string } | undefined {
    const starts = this.v4Starts;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0) <= a) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || a > (this.v4Ends[found] ?? 0)) return undefined;
    return { asn: this.v4Asns[found] ?? 0, org: this.organization(this.v4Orgs[found] ?? 0) };
  }

  findV6(w: Uint32Array): { asn: number; org: string } | undefined {
    const starts = this.v6Starts;
    let lo = 0;
    let hi = starts.length / 4 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(starts, w, 4, mid * 4) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || compare(w, this.v6Ends, 4, 0, found * 4) > 0) return undefined;
    return { asn: this.v6Asns[found] ?? 0, org: this.organization(this.v6Orgs[found] ?? 0) };
  }

  private organization(index: number): string {
    if (index === 0) return '';
    return this.orgText.toString('utf8', this.orgOffsets[index] ?? 0, this.orgOffsets[index + 1] ?? 0);
  }
}
