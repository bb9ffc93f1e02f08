import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { allDelivered, retryAll, type DeliveryBatch, type DeliveryResult, type Destination, type ProbeResult } from '../delivery.js';
import { describeHttpError, excerpt, HttpTarget } from '../http-target.js';
import { waitForAcks } from './acks.js';
import { EnvelopeBuilder, groupBySize } from './envelope.js';
import { resolveSplunkHecOptions, type ResolvedSplunkHecOptions, type SplunkHecOptions } from './options.js';
import { classify, describeAnswer, parseHecAnswer, type RequestOutcome } from './status.js';

const gzipAsync = promisify(gzip);
/** HEC answers are a few dozen bytes; anything longer is an error page worth an excerpt only. */
const MAX_ANSWER_BYTES = 64 * 1024;

type EventState = { kind: 'delivered' } | { kind: 'retry'; reason: string } | { kind: 'rejected'; reason: string };

/**
 * Splunk HTTP Event Collector: events go to `/services/collector/event` as HEC JSON
 * envelopes, several per request. With indexer acknowledgement, a request's events count
 * as delivered only once its ackId is reported indexed.
 */
export class SplunkHecDestination implements Destination {
  readonly type = 'splunk_hec';
  readonly target: string;
  private readonly options: ResolvedSplunkHecOptions;
  private readonly http: HttpTarget;
  private readonly envelopes: EnvelopeBuilder;
  private readonly headers: Record<string, string>;

  constructor(options: SplunkHecOptions) {
    this.options = resolveSplunkHecOptions(options);
    const o = this.options;
    this.http = new HttpTarget({
      url: o.url,
      timeoutMs: o.timeoutMs,
      connections: o.connections,
      ...(o.caFile === undefined ? {} : { caFile: o.caFile }),
      insecureSkipVerify: o.insecureSkipVerify,
    });
    this.target = this.http.display;
    this.envelopes = new EnvelopeBuilder(o);
    this.headers = { authorization: `Splunk ${o.token}`, 'content-type': 'application/json' };
    if (o.ack.enabled) this.headers['x-splunk-request-channel'] = o.ack.channel;
  }

  /** The request channel (a GUID), for logs; ackIds are only meaningful within it. */
  get channel(): string | undefined {
    return this.options.ack.enabled ? this.options.ack.channel : undefined;
  }

  async probe(signal: AbortSignal): Promise<ProbeResult> {
    try {
      const health = await this.http.request('GET', '/services/collector/health', { signal, maxBodyBytes: MAX_ANSWER_BYTES });
      if (health.status !== 200) return this.notOk(`health check: ${this.describe(health.status, health.body)}`);
      return this.options.ack.enabled ? await this.probeAck(signal) : await this.probeToken(signal);
    } catch (error) {
      return this.notOk(describeHttpError(error, this.options.timeoutMs));
    }
  }

  async deliver(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult> {
    try {
      return await this.deliverEvents(batch, signal);
    } catch (error) {
      return retryAll(batch, `${this.scrub(describeHttpError(error))} (${this.target})`);
    }
  }

  private async deliverEvents(batch: DeliveryBatch, signal: AbortSignal): Promise<DeliveryResult> {
    const states: EventState[] = [];
    const sendable: number[] = [];
    const lines: string[] = [];
    batch.events.forEach((raw, i) => {
      const envelope = this.envelopes.build(raw, batch.eventIds[i]);
      if (envelope.ok) {
        sendable.push(i);
        lines.push(envelope.json);
      } else {
        states[i] = { kind: 'rejected', reason: `not sent: the event is ${envelope.reason}` };
      }
    });
    const groups = groupBySize(
      lines.map((line) => Buffer.byteLength(line)),
      this.options.maxRequestBytes,
    );
    const pendingAcks = new Map<number, number[]>();
    let stopped: { reason: string; retryAfterMs?: number } | undefined;
    for (const group of groups) {
      const indices = group.map((position) => sendable[position] as number);
      if (stopped === undefined && signal.aborted) stopped = { reason: 'aborted' };
      if (stopped !== undefined) {
        for (const i of indices) states[i] = { kind: 'retry', reason: `not sent: ${stopped.reason}` };
        continue;
      }
      const outcome = await this.send(group.map((position) => lines[position] as string), signal);
      if (outcome.kind === 'retry') {
        stopped = outcome;
        for (const i of indices) states[i] = { kind: 'retry', reason: outcome.reason };
      } else if (outcome.kind === 'rejected') {
        for (const i of indices) states[i] = { kind: 'rejected', reason: outcome.reason };
      } else if (outcome.kind === 'accepted') {
        this.taken(indices, outcome.ackId, false, states, pendingAcks);
      } else {
        this.taken(indices.slice(0, outcome.invalid), outcome.ackId, true, states, pendingAcks);
        states[indices[outcome.invalid] as number] = { kind: 'rejected', reason: outcome.reason };
        for (const i of indices.slice(outcome.invalid + 1)) {
          states[i] = outcome.restRejected
            ? { kind: 'rejected', reason: outcome.reason }
            : { kind: 'retry', reason: `not looked at: the collector stopped at an earlier event (${outcome.reason})` };
        }
      }
    }
    if (pendingAcks.size > 0) {
      const acks = await waitForAcks(this.http, this.headers, [...pendingAcks.keys()], {
        channel: this.options.ack.channel,
        pollIntervalMs: this.options.ack.pollIntervalMs,
        timeoutMs: this.options.ack.timeoutMs,
        requestTimeoutMs: this.options.timeoutMs,
      }, signal);
      for (const [ackId, indices] of pendingAcks) {
        const state: EventState = acks.confirmed.has(ackId) ? { kind: 'delivered' } : { kind: 'retry', reason: acks.reason ?? 'not acknowledged' };
        for (const i of indices) states[i] = state;
      }
    }
    return this.result(batch.events.length, states, stopped?.retryAfterMs);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * Events HEC took. Without acknowledgement that is delivery. With it, they wait for their
   * ackId; if HEC gave none, the token has acknowledgement turned off (probe() reports
   * that) and HEC's 200 is all the confirmation there will ever be, so they count as
   * delivered rather than being sent again and again. A partial refusal carries no ackId,
   * so events taken before the refused one are sent again: a duplicate, never a loss.
   */
  private taken(indices: number[], ackId: number | undefined, partial: boolean, states: EventState[], pendingAcks: Map<number, number[]>): void {
    if (indices.length === 0) return;
    let state: EventState = { kind: 'delivered' };
    if (this.options.ack.enabled && ackId !== undefined) {
      for (const i of pendingAcks.get(ackId) ?? []) {
        states[i] = { kind: 'retry', reason: `the collector handed out ackId ${ackId} twice (a restart resets ackIds), so an earlier request cannot be confirmed` };
      }
      pendingAcks.set(ackId, indices);
      return;
    }
    if (this.options.ack.enabled && partial) {
      state = { kind: 'retry', reason: 'sent again: the collector took them before refusing a later event, but gave no ackId to confirm they were indexed' };
    }
    for (const i of indices) states[i] = state;
  }

  private async send(lines: string[], signal: AbortSignal): Promise<RequestOutcome> {
    const raw = Buffer.from(lines.join('\n'), 'utf8');
    const headers = { ...this.headers };
    let body: Buffer = raw;
    if (this.options.compression === 'gzip') {
      body = await gzipAsync(raw);
      headers['content-encoding'] = 'gzip';
    }
    try {
      const response = await this.http.request('POST', '/services/collector/event', { headers, body, signal, maxBodyBytes: MAX_ANSWER_BYTES });
      return classify(response.status, response.headers, response.body, excerpt(response.body), lines.length);
    } catch (error) {
      return { kind: 'retry', reason: signal.aborted ? 'aborted' : describeHttpError(error, this.options.timeoutMs) };
    }
  }

  private result(count: number, states: EventState[], retryAfterMs: number | undefined): DeliveryResult {
    const result = allDelivered();
    for (let i = 0; i < count; i++) {
      const state = states[i];
      if (state === undefined || state.kind === 'delivered') continue;
      if (state.kind === 'retry') {
        result.retry.push(i);
        result.reason ??= `${this.scrub(state.reason)} (${this.target})`;
      } else {
        result.rejected.push({ index: i, reason: this.scrub(state.reason) });
      }
    }
    if (result.retry.length > 0 && retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    return result;
  }

  /** Without acknowledgement, an empty request shows whether HEC takes the token: 400 "No data" means yes. */
  private async probeToken(signal: AbortSignal): Promise<ProbeResult> {
    const response = await this.http.request('POST', '/services/collector/event', { headers: this.headers, body: '', signal, maxBodyBytes: MAX_ANSWER_BYTES });
    const answer = parseHecAnswer(response.body);
    if (response.status === 200 || answer?.code === 5) return { ok: true };
    if (response.status === 401 || response.status === 403) return this.notOk(`the collector refused the token: ${this.describe(response.status, response.body)}`);
    if (answer?.code === 10) return this.notOk(`the token requires indexer acknowledgement, enable ack for this output: ${this.describe(response.status, response.body)}`);
    return this.notOk(this.describe(response.status, response.body));
  }

  /** With acknowledgement, an empty ack query shows both that HEC takes the token and that acknowledgement is on for it. */
  private async probeAck(signal: AbortSignal): Promise<ProbeResult> {
    const response = await this.http.request('POST', `/services/collector/ack?channel=${encodeURIComponent(this.options.ack.channel)}`, {
      headers: this.headers,
      body: '{"acks":[]}',
      signal,
      maxBodyBytes: MAX_ANSWER_BYTES,
    });
    if (response.status === 200) return { ok: true };
    const answer = parseHecAnswer(response.body);
    if (answer?.code === 14) return this.notOk(`indexer acknowledgement is disabled for this token; enable it on the token or turn ack off: ${this.describe(response.status, response.body)}`);
    if (response.status === 401 || response.status === 403) return this.notOk(`the collector refused the token: ${this.describe(response.status, response.body)}`);
    return this.notOk(`ack query: ${this.describe(response.status, response.body)}`);
  }

  private describe(status: number, body: string): string {
    return describeAnswer(status, parseHecAnswer(body), excerpt(body));
  }

  private notOk(reason: string): ProbeResult {
    return { ok: false, reason: `${this.scrub(reason)} (${this.target})` };
  }

  /** Replaces the token wherever a server or proxy may have echoed it. */
  private scrub(text: string): string {
    return text.split(this.options.token).join('<token>');
  }
}
