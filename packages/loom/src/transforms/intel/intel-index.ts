import { formatPrefix, newParsedPrefix, parsePrefix } from './address.js';
import type { IntelHandles } from './collector.js';
import type { FingerprintKind, IndicatorKind } from './indicator.js';
import { RangeTable } from './ranges.js';

export interface IntelMatch {
  list: string;
  category: string;
  /** 0–100. */
  confidence: number;
  /** The CIDR ("10.0.0.0/8"), address ("1.2.3.4") or fingerprint that matched. */
  indicator: string;
  kind: IndicatorKind;
}

export interface IntelIndexSize {
  ipv4Prefixes: number;
  ipv6Prefixes: number;
  ranges: number;
  fingerprints: number;
  /** Shared memory held by the CIDR tables. */
  sharedBytes: number;
}

/**
 * Answers "which lists name this address or fingerprint?" from IntelHandles. Construction
 * maps the shared CIDR tables (no copy) and hashes the fingerprints, so each worker thread
 * makes its own instance from the handles it was sent.
 */
export class IntelIndex {
  private readonly lists: string[];
  private readonly labels: IntelHandles['labels'];
  private readonly ipv4: RangeTable;
  private readonly ipv6: RangeTable;
  private readonly fingerprints = new Map<string, { value: string; label: number }[]>();
  private readonly fingerprintCount: number;
  /** Stored kinds (`md5` included) that any list holds, so events skip kinds no list has. */
  private readonly fingerprintKinds = new Set<string>();
  private readonly parsed = newParsedPrefix();

  constructor(handles: IntelHandles) {
    this.lists = handles.lists;
    this.labels = handles.labels;
    this.ipv4 = new RangeTable(handles.ipv4);
    this.ipv6 = new RangeTable(handles.ipv6);
    for (const [kind, value, label] of handles.fingerprints) {
      const key = `${kind}:${value}`;
      const found = this.fingerprints.get(key);
      if (found === undefined) this.fingerprints.set(key, [{ value, label }]);
      else found.push({ value, label });
      this.fingerprintKinds.add(kind);
    }
    this.fingerprintCount = handles.fingerprints.length;
  }

  /**
   * Every list whose CIDRs contain `ip`, each with its most specific matching CIDR, most
   * specific first. An IPv6 zone ("%eth0") is ignored; anything that is not one address
   * (a CIDR, a host name, a non-string) matches nothing.
   */
  matchIp(ip: string): IntelMatch[] {
    if (typeof ip !== 'string' || ip.length > 64 || ip.includes('/')) return [];
    const parsed = this.parsed;
    if (!parsePrefix(ip, parsed, true)) return [];
    const table = parsed.family === 4 ? this.ipv4 : this.ipv6;
    const range = table.find(parsed.words);
    const from = table.offsets[range] ?? 0;
    const to = table.offsets[range + 1] ?? 0;
    const matches: IntelMatch[] = [];
    for (let i = from; i < to; i++) {
      const prefix = table.entries[i] ?? 0;
      const label = this.labels[table.prefixLabels[prefix] ?? 0];
      if (label === undefined) continue;
      matches.push({
        list: this.lists[label.list] ?? '',
        category: label.category,
        confidence: label.confidence,
        indicator: formatPrefix(parsed.family, table.prefixWords, prefix * table.words, table.prefixLengths[prefix] ?? 0),
        kind: 'ip',
      });
    }
    return matches;
  }

  /** False when no list holds any fingerprint, so that matchFingerprint never matches. */
  get hasAnyFingerprints(): boolean {
    return this.fingerprintKinds.size > 0;
  }

  /** False when matchFingerprint(kind, …) cannot match anything: no list holds a fingerprint of this kind. */
  hasFingerprints(kind: FingerprintKind): boolean {
    return this.fingerprintKinds.has(kind) || ((kind === 'ja3' || kind === 'hassh') && this.fingerprintKinds.has('md5'));
  }

  /** Every list naming this fingerprint; compared in lower case. JA3 and HASSH also match MD5 values from `auto` lists. */
  matchFingerprint(kind: FingerprintKind, value: string): IntelMatch[] {
    if (typeof value !== 'string' || value.length === 0 || value.length > 128) return [];
    const lower = value.toLowerCase();
    const found = this.fingerprints.get(`${kind}:${lower}`) ?? [];
    const md5 = kind === 'ja3' || kind === 'hassh' ? (this.fingerprints.get(`md5:${lower}`) ?? []) : [];
    const matches: IntelMatch[] = [];
    const seenLists = new Set<number>();
    for (const { value: indicator, label: id } of [...found, ...md5]) {
      const label = this.labels[id];
      if (label === undefined || seenLists.has(label.list)) continue;
      seenLists.add(label.list);
      matches.push({ list: this.lists[label.list] ?? '', category: label.category, confidence: label.confidence, indicator, kind });
    }
    return matches;
  }

  size(): IntelIndexSize {
    return {
      ipv4Prefixes: this.ipv4.prefixLengths.length,
      ipv6Prefixes: this.ipv6.prefixLengths.length,
      ranges: this.ipv4.ranges + this.ipv6.ranges,
      fingerprints: this.fingerprintCount,
      sharedBytes: this.ipv4.byteLength + this.ipv6.byteLength,
    };
  }
}
