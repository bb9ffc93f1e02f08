/**
 * Index names, static (`loom-events`) or dated in Logstash's syntax (`loom-%{+yyyy.MM.dd}`):
 * each `%{+FORMAT}` is replaced by the event's `@timestamp` in UTC, written with FORMAT.
 */

/** The date tokens FORMAT may use; any other letter is refused so that a typo cannot silently become part of every index name. */
const TOKENS: Record<string, (date: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  yy: (d) => String(d.getUTCFullYear() % 100).padStart(2, '0'),
  MM: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  dd: (d) => String(d.getUTCDate()).padStart(2, '0'),
  HH: (d) => String(d.getUTCHours()).padStart(2, '0'),
  xxxx: (d) => String(isoWeek(d).year).padStart(4, '0'),
  ww: (d) => String(isoWeek(d).week).padStart(2, '0'),
};

type Part = string | ((date: Date) => string);

export class IndexName {
  /** True when the name contains no date: every event goes to the same index. */
  readonly isStatic: boolean;

  private constructor(
    readonly pattern: string,
    private readonly parts: readonly Part[],
  ) {
    this.isStatic = parts.every((part) => typeof part === 'string');
  }

  /**
   * Parses and checks a pattern; throws an Error whose message says what is wrong, e.g.
   * `unsupported date token "mm" in "%{+yyyy.mm.dd}" (use yyyy, yy, MM, dd, HH, xxxx, ww)`.
   */
  static parse(pattern: string): IndexName {
    const parts: Part[] = [];
    let rest = pattern;
    while (rest !== '') {
      const start = rest.indexOf('%{');
      if (start === -1) {
        parts.push(rest);
        break;
      }
      if (start > 0) parts.push(rest.slice(0, start));
      const end = rest.indexOf('}', start);
      if (end === -1) throw new Error(`unterminated "%{" in ${JSON.stringify(pattern)}`);
      const inner = rest.slice(start + 2, end);
      if (!inner.startsWith('+')) {
        throw new Error(`only dates can be substituted ("%{+yyyy.MM.dd}"), not ${JSON.stringify(`%{${inner}}`)}`);
      }
      parts.push(...parseFormat(inner.slice(1)));
      rest = rest.slice(end + 1);
    }
    const name = new IndexName(pattern, parts);
    const problem = indexNameProblem(name.render(new Date(Date.UTC(2024, 0, 31, 12))));
    if (problem !== undefined) throw new Error(`${JSON.stringify(pattern)} does not give a valid index name: ${problem}`);
    return name;
  }

  render(date: Date): string {
    let out = '';
    for (const part of this.parts) out += typeof part === 'string' ? part : part(date);
    return out;
  }

  /**
   * The index for one event: the pattern rendered with its `@timestamp` (an ISO 8601
   * string or epoch milliseconds), or with `now` when it has none that parses.
   */
  forEvent(event: string, now: Date): string {
    if (this.isStatic) return this.render(now);
    return this.render(eventTimestamp(event) ?? now);
  }
}

function parseFormat(format: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < format.length) {
    const char = format[i] ?? '';
    if (!/[A-Za-z]/.test(char)) {
      parts.push(char);
      i += 1;
      continue;
    }
    let j = i;
    while (format[j] === char) j += 1;
    const token = format.slice(i, j);
    const render = TOKENS[token];
    if (render === undefined) {
      throw new Error(`unsupported date token ${JSON.stringify(token)} in "%{+${format}}" (use ${Object.keys(TOKENS).join(', ')})`);
    }
    parts.push(render);
    i = j;
  }
  if (parts.length === 0) throw new Error('empty date format in "%{+}"');
  return parts;
}

/** Why Elasticsearch would refuse this index name, or undefined when it is fine. */
export function indexNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name !== name.toLowerCase()) return 'it must be lowercase';
  const bad = /[\\/*?"<>|,#:\s]/.exec(name);
  if (bad !== null) return `it must not contain ${JSON.stringify(bad[0])}`;
  if (/^[-_+]/.test(name)) return 'it must not start with -, _ or +';
  if (name === '.' || name === '..') return 'it must not be . or ..';
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  return undefined;
}

function eventTimestamp(event: string): Date | undefined {
  let value: unknown;
  try {
    value = (JSON.parse(event) as Record<string, unknown> | null)?.['@timestamp'];
  } catch {
    return undefined;
  }
  const ms = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** ISO 8601 week-numbering year and week: weeks start on Monday, week 1 holds the year's first Thursday. */
function isoWeek(date: Date): { year: number; week: number } {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() === 0 ? 7 : day.getUTCDay();
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return { year, week };
}
