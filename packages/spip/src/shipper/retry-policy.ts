import type { PostOutcome } from './transport.js';

export type Decision =
  | { action: 'ok' }
  /** Transient (overload, outage, network): the same batch again after `delayMs`. */
  | { action: 'retry'; delayMs: number }
  /** Needs an operator (credentials, URL): keep the events, try again slowly. */
  | { action: 'hold'; delayMs: number }
  /** 413: too large as a whole; halves may pass. */
  | { action: 'split' }
  /** 400 invalid_request: some event in the batch is refused; halves narrow it down. */
  | { action: 'bisect' };

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** A server asking for a longer pause than this is not taken at its word. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

/** Statuses that say "this request, as sent, will never succeed" without blaming the events. */
const HOLD_STATUSES = new Set([400, 401, 403, 404, 405, 407, 411, 415]);

/**
 * What to do with an answer. Only two answers lead to events leaving the queue without
 * reaching Loom: a 413 for a single event, and a 400 invalid_request for a single event;
 * both are dead-lettered. Everything unknown is retried, because dropping on a guess
 * loses data while retrying only costs time.
 */
export function decide(outcome: PostOutcome, attempt: number, backoff: Backoff, now = Date.now(), random = Math.random): Decision {
  if (outcome.kind === 'failure') return { action: 'retry', delayMs: fullJitter(attempt, backoff, random) };
  const { status } = outcome;
  if (status >= 200 && status < 300) return { action: 'ok' };
  if (status === 413) return { action: 'split' };
  if (status === 400 && outcome.errorCode === 'invalid_request') return { action: 'bisect' };
  const retryAfter = parseRetryAfter(outcome.retryAfter, now);
  if (HOLD_STATUSES.has(status) || (status >= 300 && status < 400)) {
    return { action: 'hold', delayMs: retryAfter ?? slowDelay(backoff, random) };
  }
  return { action: 'retry', delayMs: retryAfter ?? fullJitter(attempt, backoff, random) };
}

/** "Full jitter": uniform in [0, min(max, initial·2^attempt)], so many sensors do not retry in step. */
export function fullJitter(attempt: number, backoff: Backoff, random = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** For errors an operator has to fix: between half and all of the longest backoff. */
export function slowDelay(backoff: Backoff, random = Math.random): number {
  return Math.floor(backoff.maxMs / 2 + (random() * backoff.maxMs) / 2);
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // Date.parse takes almost anything ("-5" is a year); an HTTP date always names a month.
    if (!/[a-z]{3}/i.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), RETRY_AFTER_MAX_MS);
}
