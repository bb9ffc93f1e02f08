import type { OutputConfig } from '../config/types.js';
import { selectPath } from '../sinks/clickhouse/query.js';
import { HttpTarget } from '../sinks/http-target.js';

/** What the dashboard shows for windows longer than the hour kept in memory. */
export interface History {
  window_seconds: number;
  step_seconds: number;
  /** Unix seconds of the first bucket; `counts[i]` events in [start + i·step, start + (i+1)·step). */
  start: number;
  counts: number[];
  total: number;
  top: Record<'country' | 'asn' | 'port' | 'ja4' | 'hassh' | 'sensor', { value: string; count: number }[]>;
  source: string;
}

const cacheMs = 30_000;
/** Columns of the typed table (docs/clickhouse/schema.sql) ranked per dimension. */
const topExpressions: Record<keyof History['top'], { value: string; where: string }> = {
  country: { value: 'source_country', where: "source_country != ''" },
  asn: { value: "concat('AS', toString(source_asn), if(source_as_org = '', '', concat(' ', source_as_org)))", where: 'source_asn != 0' },
  port: { value: "concat(toString(destination_port), if(transport = '', '', concat('/', transport)))", where: 'destination_port != 0' },
  ja4: { value: 'ja4', where: "ja4 != ''" },
  hassh: { value: 'hassh', where: "hassh != ''" },
  sensor: { value: 'sensor', where: "sensor != ''" },
};

/**
 * Answers the dashboard's longer windows (up to 30 days) from a ClickHouse output's typed
 * table: events per bucket and the top values of its columns. Read-only SELECTs with the
 * output's own credentials; each window's answer is reused for 30 s.
 */
export class ClickHouseHistory {
  private readonly http: HttpTarget;
  private readonly table: string;
  private readonly headers: Record<string, string>;
  private readonly cache = new Map<number, { at: number; answer: Promise<History> }>();

  constructor(output: OutputConfig) {
    this.http = new HttpTarget({
      url: output.clickhouse_url,
      ...(output.ca_file === '' ? {} : { caFile: output.ca_file }),
      insecureSkipVerify: output.insecure_skip_verify,
      timeoutMs: 10_000,
    });
    this.table = `${quoteIdentifier(output.clickhouse_database)}.${quoteIdentifier(output.clickhouse_table)}`;
    const user = output.clickhouse_user;
    const password = output.clickhouse_password;
    this.headers = user === '' && password === '' ? {} : { Authorization: `Basic ${Buffer.from(`${user === '' ? 'default' : user}:${password}`).toString('base64')}` };
  }

  /** The first ClickHouse output in typed mode, if any. */
  static fromOutputs(outputs: readonly OutputConfig[]): ClickHouseHistory | undefined {
    const output = outputs.find((o) => o.type === 'clickhouse' && o.clickhouse_mode === 'typed');
    return output === undefined ? undefined : new ClickHouseHistory(output);
  }

  get source(): string {
    return `${this.http.display} ${this.table}`;
  }

  query(windowSeconds: number, now = Date.now()): Promise<History> {
    const cached = this.cache.get(windowSeconds);
    if (cached !== undefined && now - cached.at < cacheMs) return cached.answer;
    const answer = this.load(windowSeconds, now);
    this.cache.set(windowSeconds, { at: now, answer });
    answer.catch(() => this.cache.delete(windowSeconds));
    return answer;
  }

  private async load(windowSeconds: number, now: number): Promise<History> {
    const step = stepFor(windowSeconds);
    const end = Math.floor(now / 1000 / step) * step + step;
    const start = end - Math.ceil(windowSeconds / step) * step;
    const where = `timestamp >= toDateTime(${start}) AND timestamp < toDateTime(${end})`;
    const bucketQuery = `SELECT intDiv(toUInt32(timestamp), ${step}) * ${step} AS t, count() AS n FROM ${this.table} WHERE ${where} GROUP BY t ORDER BY t FORMAT JSONEachRow`;
    const topQueries = Object.entries(topExpressions).map(([dimension, { value, where: extra }]) =>
      this.rows(`SELECT ${value} AS v, count() AS n FROM ${this.table} WHERE ${where} AND ${extra} GROUP BY v ORDER BY n DESC, v LIMIT 10 FORMAT JSONEachRow`)
        .then((rows) => [dimension, rows.map((r) => ({ value: String(r.v), count: Number(r.n) }))] as const));
    const [buckets, ...tops] = await Promise.all([this.rows(bucketQuery), ...topQueries]);
    const counts = new Array<number>((end - start) / step).fill(0);
    let total = 0;
    for (const row of buckets) {
      const i = (Number(row.t) - start) / step;
      if (i >= 0 && i < counts.length) counts[i] = Number(row.n);
      total += Number(row.n);
    }
    return { window_seconds: windowSeconds, step_seconds: step, start, counts, total, top: Object.fromEntries(tops) as History['top'], source: this.source };
  }

  private async rows(statement: string): Promise<Record<string, unknown>[]> {
    const response = await this.http.request('GET', selectPath(statement), { headers: this.headers, maxBodyBytes: 8 * 1024 * 1024 });
    if (response.status !== 200) throw new Error(`ClickHouse answered ${response.status}: ${response.body.slice(0, 300)}`);
    return response.body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** About 100 to 300 buckets whatever the window: 1 min for 6 h, 5 min for a day, 1 h for 7 days. */
function stepFor(windowSeconds: number): number {
  for (const step of [60, 120, 300, 600, 1800, 3600, 10_800, 21_600]) if (windowSeconds / step <= 360) return step;
  return 86_400;
}

function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}
