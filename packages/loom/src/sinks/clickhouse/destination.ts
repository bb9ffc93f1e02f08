import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import {
  allDelivered,
  retryAll,
  type DeliveryBatch,
  type DeliveryResult,
  type Destination,
  type ProbeResult,
  type RejectedEvent,
} from '../delivery.js';
import { describeHttpError, HttpTarget, type HttpResponse } from '../http-target.js';
import { dedupTokenFor, eventStringTsvPath, insertPath, selectPath, supportsDedupToken, tsvFromNdjson, type DedupTokenMode, type InsertTarget } from './query.js';
import { classifyInsert, failureReason, parseException, type InsertOutcome, type ResponseContext } from './response.js';
import { encodeRows, type ClickHouseMode } from './rows.js';

const gzip = promisify(gzipCallback);

export interface ClickHouseOptions {
  /** HTTP(S) interface, e.g. `http://clickhouse:8123`; no credentials in it. */
  url: string;
  database: string;
  table: string;
  /** Basic auth user; without user and password the server's default user applies. */
  user?: string;
  /** Basic auth password; never logged, never part of a reason. */
  password?: string;
  /** `event_string`: one `event String` column, as the Go original; `typed`: columns computed per event. */
  mode: ClickHouseMode;
  /** Gzip request bodies. */
  compression: boolean;
  /** One request, connect to last byte. */
  timeoutMs: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
  /** `auto`: send insert_deduplication_token when the server is 22.2 or newer; `on`: always; `off`: never. */
  dedupToken: DedupTokenMode;
}

/** The Go original's defaults where it had one; compression and dedup are new. */
export const CLICKHOUSE_DEFAULTS = {
  database: 'default',
  table: 'loom_events',
  mode: 'event_string',
  compression: true,
  timeoutMs: 30_000,
  dedupToken: 'auto',
} as const satisfies Partial<ClickHouseOptions>;

/**
 * Most inserts one delivery makes while isolating bad rows. One bad row in 10,000 costs
 * about 28 (two per halving); a batch where most rows are bad would cost two per row, so
 * past this budget the undecided rows are retried later, where splitting goes on.
 */
export const MAX_INSERTS_PER_DELIVERY = 200;

/**
 * The fastest gzip level: JSON events still shrink several-fold, and at thousands of
 * events per second the CPU is the scarcer resource.
 */
const GZIP_LEVEL = 1;

/** Passwords shorter than this are not searched for in reasons: replacing every "ab" would garble them. */
const MIN_REDACTED_LENGTH = 4;

/** One delivery's progress while it splits a batch. */
interface Run {
  readonly batch: DeliveryBatch;
  readonly rows: string[];
  readonly dedup: boolean;
  readonly signal: AbortSignal;
  readonly retry: number[];
  readonly rejected: RejectedEvent[];
  inserts: number;
  /** Set by the first failure that is not the rows' fault; every later range is retried without asking. */
  failed?: { reason: string; retryAfterMs?: number };
}

/**
 * Inserts batches into ClickHouse over its HTTP interface as JSONEachRow. A batch whose rows
 * ClickHouse cannot take (a parse error, a value that does not fit) is split in halves, each
 * its own insert, until the bad rows stand alone: they are rejected with ClickHouse's words,
 * everything else is delivered. Every other failure retries the whole batch.
 */
export class ClickHouseDestination implements Destination {
  readonly type = 'clickhouse';
  readonly target: string;
  private readonly http: HttpTarget;
  private readonly insertTarget: InsertTarget;
  private readonly context: ResponseContext;
  private readonly authHeaders: Record<string, string>;
  /** The server's `SELECT version()`, asked once and forgotten after any failure (the server may have been replaced). */
  private version: Promise<string> | undefined;

  constructor(private readonly options: ClickHouseOptions) {
    if (options.database === '') throw new Error('the ClickHouse database name is empty');
    if (options.table === '') throw new Error('the ClickHouse table name is empty');
    if (options.mode !== 'event_string' && options.mode !== 'typed') throw new Error(`ClickHouse mode must be "event_string" or "typed", got "${String(options.mode)}"`);
    if (!['auto', 'on', 'off'].includes(options.dedupToken)) throw new Error(`ClickHouse dedup token must be "auto", "on" or "off", got "${String(options.dedupToken)}"`);
    if (!(options.timeoutMs > 0)) throw new Error(`the ClickHouse timeout must be above 0 ms, got ${options.timeoutMs}`);
    if ((options.user ?? '').includes(':')) throw new Error('the ClickHouse user name must not contain ":" (basic auth cannot carry it)');
    this.http = new HttpTarget({
      url: options.url,
      caFile: options.caFile,
      insecureSkipVerify: options.insecureSkipVerify,
      timeoutMs: options.timeoutMs,
    });
    this.target = this.http.display;
    this.insertTarget = { database: options.database, table: options.table, mode: options.mode };
    this.context = { display: this.http.display, table: `${options.database}.${options.table}` };
    const user = options.user ?? '';
    const password = options.password ?? '';
    // Basic auth, as the Go original sent it, so that a proxy in front of ClickHouse that checks it keeps working.
    const credentials = Buffer.from(`${user === '' ? 'default' : user}:${password}`).toString('base64');
    this.authHeaders = user === '' && password === '' ? {} : { Authorization: `Basic ${credentials}` };
  }

  async probe(signal: AbortSignal): Promise<ProbeResult> {
    try {
      const ping = await this.http.request('GET', '/ping', { signal });
      if (ping.status !== 200) return { ok: false, reason: this.redact(this.failure(ping)) };
      const select = await this.http.request('GET', selectPath('SELECT 1'), { headers: this.authHeaders, signal });
      if (select.status !== 200) return { ok: false, reason: this.redact(this.failure(select)) };
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: this.redact(this.networkReason(error)) };
    }
  }

  async deliver(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult> {
    try {
      const dedup = await this.dedupWanted(signal);
      if (typeof dedup !== 'boolean') return retryAll(batch, this.redact(dedup.reason));
      if (batch.ndjson !== undefined && this.options.mode === 'event_string') {
        // The whole batch in one TabSeparated insert, with no per-event work; only if ClickHouse
        // blames some row does it fall back to per-row encoding, to find that row.
        const fast = await this.insertNdjson(batch, batch.ndjson, dedup, signal);
        if (fast.kind === 'delivered') return allDelivered();
        if (fast.kind === 'retry') {
          this.version = undefined;
          return retryAll(batch, this.redact(fast.reason), fast.retryAfterMs);
        }
      }
      if (batch.events.length === 0) return allDelivered();
      const run: Run = {
        batch,
        rows: encodeRows(batch.events, this.options.mode, Date.now()),
        dedup,
        signal,
        retry: [],
        rejected: [],
        inserts: 0,
      };
      await this.insertRange(run, 0, batch.events.length);
      const result: DeliveryResult = { retry: run.retry, rejected: run.rejected };
      if (run.failed !== undefined) {
        this.version = undefined;
        result.reason = this.redact(run.failed.reason);
        if (run.failed.retryAfterMs !== undefined) result.retryAfterMs = run.failed.retryAfterMs;
      }
      for (const rejected of result.rejected) rejected.reason = this.redact(rejected.reason);
      return result;
    } catch (error) {
      this.version = undefined;
      return retryAll(batch, this.redact(`ClickHouse at ${this.target}: ${describeHttpError(error, this.options.timeoutMs)}`));
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** Inserts rows [start, end); on bad rows, each half goes on its own. */
  private async insertRange(run: Run, start: number, end: number): Promise<void> {
    if (run.failed === undefined && run.inserts >= MAX_INSERTS_PER_DELIVERY) {
      run.failed = { reason: `ClickHouse at ${this.target}: isolating bad rows took ${MAX_INSERTS_PER_DELIVERY} inserts; the undecided rows are retried` };
    }
    if (run.failed !== undefined) {
      for (let i = start; i < end; i++) run.retry.push(i);
      return;
    }
    run.inserts++;
    const outcome = await this.insert(run, start, end);
    if (outcome.kind === 'delivered') return;
    if (outcome.kind === 'retry') {
      run.failed = { reason: outcome.reason };
      if (outcome.retryAfterMs !== undefined) run.failed.retryAfterMs = outcome.retryAfterMs;
      for (let i = start; i < end; i++) run.retry.push(i);
      return;
    }
    if (end - start === 1) {
      run.rejected.push({ index: start, reason: outcome.message });
      return;
    }
    const middle = start + Math.floor((end - start) / 2);
    await this.insertRange(run, start, middle);
    await this.insertRange(run, middle, end);
  }

  private async insert(run: Run, start: number, end: number): Promise<InsertOutcome> {
    const token = run.dedup ? dedupTokenFor(run.batch.id, start, end, run.rows.length) : undefined;
    const text = `${run.rows.slice(start, end).join('\n')}\n`;
    const headers: Record<string, string> = { ...this.authHeaders, 'Content-Type': 'application/json' };
    let body: string | Uint8Array = text;
    if (this.options.compression) {
      body = await gzip(text, { level: GZIP_LEVEL });
      headers['Content-Encoding'] = 'gzip';
    }
    try {
      const response = await this.http.request('POST', insertPath(this.insertTarget, token), { headers, body, signal: run.signal });
      return classifyInsert(response, this.context);
    } catch (error) {
      return { kind: 'retry', reason: this.networkReason(error) };
    }
  }

  private async insertNdjson(batch: DeliveryBatch, ndjson: Uint8Array, dedup: boolean, signal: AbortSignal): Promise<InsertOutcome> {
    const tsv = tsvFromNdjson(ndjson);
    const headers: Record<string, string> = { ...this.authHeaders, 'Content-Type': 'text/tab-separated-values' };
    let body: Uint8Array = tsv;
    if (this.options.compression) {
      body = await gzip(tsv, { level: GZIP_LEVEL });
      headers['Content-Encoding'] = 'gzip';
    }
    try {
      const response = await this.http.request('POST', eventStringTsvPath(this.options.database, this.options.table, dedup ? batch.id : undefined), { headers, body, signal });
      return classifyInsert(response, this.context);
    } catch (error) {
      return { kind: 'retry', reason: this.networkReason(error) };
    }
  }

  /** Whether inserts carry insert_deduplication_token, or why that cannot be known now. */
  private async dedupWanted(signal: AbortSignal): Promise<boolean | { reason: string }> {
    if (this.options.dedupToken !== 'auto') return this.options.dedupToken === 'on';
    this.version ??= this.askVersion(signal);
    try {
      return supportsDedupToken(await this.version);
    } catch (error) {
      this.version = undefined;
      return { reason: error instanceof Error ? error.message : String(error) };
    }
  }

  private async askVersion(signal: AbortSignal): Promise<string> {
    let response: HttpResponse;
    try {
      response = await this.http.request('GET', selectPath('SELECT version()'), { headers: this.authHeaders, signal });
    } catch (error) {
      throw new Error(this.networkReason(error), { cause: error });
    }
    if (response.status !== 200) throw new Error(this.failure(response));
    return response.body.trim();
  }

  private failure(response: HttpResponse): string {
    return failureReason(response.status, parseException(response.body, response.headers['x-clickhouse-exception-code']), this.context);
  }

  private networkReason(error: unknown): string {
    return `ClickHouse at ${this.target}: ${describeHttpError(error, this.options.timeoutMs)}`;
  }

  /** ClickHouse does not echo passwords, but a reason ends up in logs and /ready, so make sure. */
  private redact(text: string): string {
    const password = this.options.password ?? '';
    return password.length >= MIN_REDACTED_LENGTH ? text.replaceAll(password, '***') : text;
  }
}
