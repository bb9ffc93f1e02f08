import { newParsedPrefix } from './address.js';
import { IntelCollector, type IntelHandles } from './collector.js';
import { classify, type ListKind } from './indicator.js';
import { QUOTED_BAD_LINES, readListFile, type ListFormat } from './list-file.js';

export interface IntelListConfig {
  name: string;
  path: string;
  /** What the list holds; `auto` (default) decides per line: IP/CIDR, JA4, JA4H, or a 32-hex JA3/HASSH. */
  kind?: ListKind;
  /** `auto` (default): threats-csv for a `.csv` file or one starting with an `ip_or_cidr,` header, else plain. */
  format?: ListFormat;
  category: string;
  /** 0–100. */
  confidence: number;
}

export interface IntelListStats {
  list: string;
  /** Unique indicators indexed. */
  indicators: number;
  /** Lines that held no valid indicator. */
  skipped: number;
}

export interface IntelLoadResult {
  handles: IntelHandles;
  warnings: string[];
  stats: IntelListStats[];
}

/**
 * Reads every list and builds one index over all of them. Bad lines are skipped and
 * reported; an unreadable file is an error naming the list, so a reload keeps the previous
 * index rather than silently serving a smaller one. Runs as a sequence of short slices
 * between which other work proceeds, so it can be re-run on the main thread when a file
 * changes while events keep flowing.
 */
export async function loadIntelLists(configs: IntelListConfig[]): Promise<IntelLoadResult> {
  const collector = new IntelCollector();
  const warnings: string[] = [];
  const reports: { name: string; skipped: number }[] = [];
  for (const config of configs) {
    const source = { name: config.name, path: config.path, kind: config.kind ?? 'auto', format: config.format ?? 'auto', category: config.category, confidence: config.confidence };
    let report;
    try {
      report = await readListFile(source, collector);
    } catch (error) {
      throw new Error(`intel list ${JSON.stringify(config.name)}: cannot read ${config.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const prefix = `intel list ${JSON.stringify(config.name)}`;
    for (const example of report.examples) warnings.push(`${prefix}: skipped ${example}`);
    if (report.skipped > QUOTED_BAD_LINES) warnings.push(`${prefix}: ${report.skipped - QUOTED_BAD_LINES} more lines skipped (${report.skipped} in all)`);
    if (report.indicatorLines === 0) warnings.push(`${prefix}: ${config.path} holds no indicators`);
    reports.push({ name: config.name, skipped: report.skipped });
  }
  const { handles, counts } = await collector.build();
  const stats = reports.map((report, i) => ({ list: report.name, indicators: counts.indicators[i] ?? 0, skipped: report.skipped }));
  return { handles, warnings, stats };
}

/** One indicator given in memory; category and confidence default to the list's. */
export type IntelIndicatorInput = string | { value: string; category?: string; confidence?: number };

export interface IntelListData {
  name: string;
  kind?: ListKind;
  category: string;
  confidence: number;
  indicators: Iterable<IntelIndicatorInput>;
}

/** Builds an index from indicators held in memory; an invalid indicator is an error naming it. */
export async function buildIntelIndex(lists: IntelListData[]): Promise<IntelHandles> {
  const collector = new IntelCollector();
  const prefix = newParsedPrefix();
  for (const list of lists) {
    const id = collector.addList(list.name);
    for (const input of list.indicators) {
      const value = typeof input === 'string' ? input : input.value;
      const category = typeof input === 'string' ? list.category : (input.category ?? list.category);
      const confidence = typeof input === 'string' ? list.confidence : (input.confidence ?? list.confidence);
      const found = classify(value.trim(), list.kind ?? 'auto', prefix);
      if ('error' in found) throw new Error(`intel list ${JSON.stringify(list.name)}: ${JSON.stringify(value)} is ${found.error}`);
      const label = collector.label(id, category, confidence);
      if (found.kind === 'ip') collector.addPrefix(prefix, label);
      else collector.addFingerprint(found.kind, found.value, label);
    }
  }
  return (await collector.build()).handles;
}
