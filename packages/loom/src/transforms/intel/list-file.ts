import { createReadStream } from 'node:fs';
import { newParsedPrefix } from './address.js';
import type { IntelCollector } from './collector.js';
import { classify, type ListKind } from './indicator.js';

export type ListFormat = 'auto' | 'plain' | 'threats-csv';

export interface ListSource {
  name: string;
  path: string;
  kind: ListKind;
  format: ListFormat;
  category: string;
  confidence: number;
}

export interface ListReport {
  indicatorLines: number;
  skipped: number;
  /** The first few bad lines as "path:line: reason: \"text\"". */
  examples: string[];
}

/** How many bad lines of one list are quoted in the warnings; the rest are only counted. */
export const QUOTED_BAD_LINES = 5;

/** Cells of one CSV line (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, quote);
        if (line.charCodeAt(quote + 1) === 34) {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      const comma = line.indexOf(',', i);
      cells.push(value);
      if (comma < 0) return cells;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        cells.push(line.slice(i));
        return cells;
      }
      cells.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

/** The first whitespace-, comma-, "#"- or ";"-delimited token, so trailing comments and columns are ignored. */
function firstToken(line: string): string {
  let end = 0;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 32 || c === 9 || c === 44 || c === 35 || c === 59) break;
    end++;
  }
  return line.slice(0, end);
}

const valueColumns = new Set(['ip_or_cidr', 'indicator', 'value', 'ip', 'cidr']);

/**
 * Turns the lines of one list into indicators. Plain lists hold one indicator per line;
 * anything after it on the line (a "; SBL123" reference, a count column) is ignored, and
 * lines starting with "#", ";" or "//" are comments. threats.csv lists hold
 * `ip_or_cidr,category,confidence` rows, with or without that header line; an empty
 * category or confidence falls back to the list's.
 */
export class ListParser {
  readonly report: ListReport = { indicatorLines: 0, skipped: 0, examples: [] };
  private format: ListFormat;
  private line = 0;
  private readonly prefix = newParsedPrefix();
  private readonly defaultLabel: number;
  private readonly list: number;
  private csvStarted = false;
  private valueColumn = 0;
  private categoryColumn = 1;
  private confidenceColumn = 2;

  constructor(
    private readonly source: ListSource,
    private readonly collector: IntelCollector,
  ) {
    this.list = collector.addList(source.name);
    this.defaultLabel = collector.label(this.list, source.category, source.confidence);
    this.format = source.format === 'auto' && source.path.toLowerCase().endsWith('.csv') ? 'threats-csv' : source.format;
  }

  feed(raw: string): void {
    this.line++;
    let text = raw.trim();
    if (this.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1).trim();
    if (text === '') return;
    const first = text.charCodeAt(0);
    if (first === 35 || first === 59 || text.startsWith('//')) return;
    if (this.format === 'auto') {
      this.format = text.toLowerCase().startsWith('ip_or_cidr,') ? 'threats-csv' : 'plain';
    }
    if (this.format === 'threats-csv') this.feedCsv(text);
    else this.add(firstToken(text), this.defaultLabel, text);
  }

  private feedCsv(text: string): void {
    const cells = splitCsv(text).map((cell) => cell.trim());
    if (!this.csvStarted) {
      this.csvStarted = true;
      const names = cells.map((cell) => cell.toLowerCase());
      if (names.some((name) => valueColumns.has(name))) {
        this.valueColumn = names.findIndex((name) => valueColumns.has(name));
        this.categoryColumn = names.indexOf('category');
        this.confidenceColumn = names.indexOf('confidence');
        return;
      }
    }
    const token = cells[this.valueColumn] ?? '';
    const category = cells[this.categoryColumn] || this.source.category;
    const confidenceText = cells[this.confidenceColumn] ?? '';
    let confidence = this.source.confidence;
    if (confidenceText !== '') {
      confidence = /^\d{1,3}$/.test(confidenceText) ? Number(confidenceText) : NaN;
      if (!(confidence <= 100)) {
        this.bad('confidence is not an integer 0..100', text);
        return;
      }
    }
    const label = category === this.source.category && confidence === this.source.confidence ? this.defaultLabel : this.collector.label(this.list, category, confidence);
    this.add(token, label, text);
  }

  private add(token: string, label: number, text: string): void {
    const found = classify(token, this.source.kind, this.prefix);
    if ('error' in found) {
      this.bad(found.error, text);
      return;
    }
    this.report.indicatorLines++;
    if (found.kind === 'ip') this.collector.addPrefix(this.prefix, label);
    else this.collector.addFingerprint(found.kind, found.value, label);
  }

  private bad(reason: string, text: string): void {
    this.report.skipped++;
    if (this.report.examples.length < QUOTED_BAD_LINES) {
      const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      this.report.examples.push(`${this.source.path}:${this.line}: ${reason}: ${JSON.stringify(shown)}`);
    }
  }
}

/**
 * Streams a list file line by line. Reading in chunks keeps memory flat for large lists and
 * returns to the event loop between chunks, so a million-line list never stalls the process.
 */
export async function readListFile(source: ListSource, collector: IntelCollector): Promise<ListReport> {
  const parser = new ListParser(source, collector);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  const stream = createReadStream(source.path, { highWaterMark: 1 << 18 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = carry + decoder.decode(chunk, { stream: true });
    let from = 0;
    for (;;) {
      const newline = text.indexOf('\n', from);
      if (newline < 0) break;
      parser.feed(text.slice(from, newline));
      from = newline + 1;
    }
    carry = text.slice(from);
  }
  carry += decoder.decode();
  if (carry !== '') parser.feed(carry);
  return parser.report;
}
