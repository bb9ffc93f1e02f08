import { getPath, type EcsEvent } from '@loom/ecs';

/** How the file output writes each event (the TCP logging service's logfile settings). */
export interface RecordFormatOptions {
  format: 'json' | 'plaintext';
  /** Fields to write, in order; empty = the whole event (json only). */
  columnOrder: readonly string[];
  fieldDelimiter: string;
  entryDelimiter: string;
}

/**
 * Rewrites a batch's NDJSON into the configured file format, or returns it unchanged when
 * it already is that format (json without column_order: the common case costs nothing).
 *
 * - json + column_order: one object per line with exactly those fields, in that order,
 *   keyed by the column name; a missing field is null.
 * - plaintext: the column values joined by the field delimiter, each record followed by
 *   the entry delimiter. Strings are written as they are, numbers and booleans as JSON,
 *   objects and arrays as compact JSON, a missing field as an empty value.
 *
 * Escaping (plaintext): a value must never contain a delimiter, or a reader could not split
 * the file back into records and fields. So `\` is written `\\`, and every character that
 * occurs in either delimiter is written `\xHH` (its code point in hex, `\u{H…}` above 0xFF).
 * Splitting on the delimiters and then undoing those two escapes gives the values back.
 *
 * A column name is looked up as a dotted path (`source.ip`), then as a top-level key
 * written with dots; `timestamp` falls back to `@timestamp` and `source_ip` to
 * `source.ip`, the fields the TCP protocol's server sets.
 */
export class RecordFormatter {
  /** Matches every character that must be escaped: `\` and each character of the delimiters. */
  private readonly mustEscape: RegExp;

  constructor(private readonly options: RecordFormatOptions) {
    const chars = new Set([...options.fieldDelimiter, ...options.entryDelimiter, '\\']);
    const inClass = [...chars].map((char) => `\\u{${(char.codePointAt(0) as number).toString(16)}}`).join('');
    this.mustEscape = new RegExp(`[${inClass}]`, 'gu');
  }

  /** True when events are written exactly as received. */
  get passthrough(): boolean {
    return this.options.format === 'json' && this.options.columnOrder.length === 0;
  }

  format(ndjson: Uint8Array): Uint8Array {
    if (this.passthrough) return ndjson;
    const text = Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength).toString('utf8');
    const out: string[] = [];
    let from = 0;
    while (from < text.length) {
      let to = text.indexOf('\n', from);
      if (to < 0) to = text.length;
      if (to > from) out.push(this.formatLine(text.slice(from, to)));
      from = to + 1;
    }
    return Buffer.from(out.join(''));
  }

  private formatLine(line: string): string {
    let event: EcsEvent;
    try {
      event = JSON.parse(line) as EcsEvent;
    } catch {
      // Lines come from the pipeline's own serialiser; a bad one is kept rather than lost.
      event = { message: line } as unknown as EcsEvent;
    }
    const { columnOrder, format } = this.options;
    if (format === 'json') {
      const picked: Record<string, unknown> = {};
      for (const column of columnOrder) picked[column] = valueOf(event, column) ?? null;
      return `${JSON.stringify(picked)}\n`;
    }
    const values = columnOrder.length > 0 ? columnOrder.map((column) => valueOf(event, column)) : [event];
    return values.map((value) => this.escape(plain(value))).join(this.options.fieldDelimiter) + this.options.entryDelimiter;
  }

  private escape(value: string): string {
    return value.replace(this.mustEscape, (char) => {
      if (char === '\\') return '\\\\';
      const code = char.codePointAt(0) as number;
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
    });
  }
}

const serverFieldFallbacks: Record<string, string> = { timestamp: '@timestamp', source_ip: 'source.ip' };

function valueOf(event: EcsEvent, column: string): unknown {
  const direct = getPath(event, column);
  if (direct !== undefined) return direct;
  const record = event as unknown as Record<string, unknown>;
  if (Object.hasOwn(record, column)) return record[column];
  const fallback = serverFieldFallbacks[column];
  return fallback === undefined ? undefined : getPath(event, fallback);
}

function plain(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
