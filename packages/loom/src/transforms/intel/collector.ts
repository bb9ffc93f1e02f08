import type { ParsedPrefix } from './address.js';
import type { StoredFingerprintKind } from './indicator.js';
import { PrefixStore, buildRangeTable, type RangeTableData } from './ranges.js';

/** What a match reports besides the indicator: threats.csv rows may override a list's category and confidence. */
export interface IntelLabel {
  /** Index into IntelHandles.lists. */
  list: number;
  category: string;
  /** 0–100. */
  confidence: number;
}

/**
 * Everything an IntelIndex needs, structured-cloneable: post it to a worker thread and the
 * CIDR ranges (nearly all of the memory) arrive as shared memory, not copies. Fingerprint
 * lists are small (thousands of values where CIDR lists have millions), so they travel as
 * plain strings and each thread builds its own hash map from them.
 */
export interface IntelHandles {
  lists: string[];
  labels: IntelLabel[];
  ipv4: RangeTableData;
  ipv6: RangeTableData;
  /** [kind, lower-case value, label] */
  fingerprints: [StoredFingerprintKind, string, number][];
}

export interface CollectedCounts {
  /** Unique indicators per list, in list order. */
  indicators: number[];
}

/** Accumulates indicators from any number of lists, then builds the shared index in one go. */
export class IntelCollector {
  private readonly lists: string[] = [];
  private readonly labels: IntelLabel[] = [];
  private readonly labelIds = new Map<string, number>();
  private readonly ipv4 = new PrefixStore(1);
  private readonly ipv6 = new PrefixStore(4);
  private readonly fingerprints: [StoredFingerprintKind, string, number][] = [];
  private readonly fingerprintKeys = new Set<string>();
  private readonly accepted: number[] = [];

  addList(name: string): number {
    if (this.lists.includes(name)) throw new Error(`intel list name ${JSON.stringify(name)} is used twice`);
    this.lists.push(name);
    this.accepted.push(0);
    return this.lists.length - 1;
  }

  label(list: number, category: string, confidence: number): number {
    const key = `${list}\u0000${category}\u0000${confidence}`;
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.labels.length;
      this.labels.push({ list, category, confidence });
      this.labelIds.set(key, id);
    }
    return id;
  }

  addPrefix(prefix: ParsedPrefix, label: number): void {
    (prefix.family === 4 ? this.ipv4 : this.ipv6).add(prefix.words, prefix.length, label);
    this.count(label);
  }

  addFingerprint(kind: StoredFingerprintKind, value: string, label: number): void {
    const list = this.labels[label]?.list ?? 0;
    const key = `${list}\u0000${kind}\u0000${value}`;
    if (this.fingerprintKeys.has(key)) return;
    this.fingerprintKeys.add(key);
    this.fingerprints.push([kind, value, label]);
    this.count(label);
  }

  async build(): Promise<{ handles: IntelHandles; counts: CollectedCounts }> {
    const listOfLabel = Uint32Array.from(this.labels, (label) => label.list);
    const v4 = await buildRangeTable(this.ipv4, listOfLabel, this.lists.length);
    const v6 = await buildRangeTable(this.ipv6, listOfLabel, this.lists.length);
    const indicators = this.accepted.slice();
    for (const duplicates of [v4.duplicates, v6.duplicates]) {
      for (const [list, count] of duplicates) indicators[list] = (indicators[list] ?? 0) - count;
    }
    return {
      handles: { lists: this.lists.slice(), labels: this.labels.slice(), ipv4: v4.data, ipv6: v6.data, fingerprints: this.fingerprints },
      counts: { indicators },
    };
  }

  private count(label: number): void {
    const list = this.labels[label]?.list ?? 0;
    this.accepted[list] = (this.accepted[list] ?? 0) + 1;
  }
}
