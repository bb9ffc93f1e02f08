import { isPlainObject } from '@loom/ecs';
import { parseRetryAfter } from '../delivery.js';

/** What HEC answers in a response body: `{"text":"…","code":N}` plus optional fields. */
export interface HecAnswer {
  text: string | undefined;
  code: number | undefined;
  /** For a batch: the 0-based position of the first event HEC could not take. */
  invalidEventNumber: number | undefined;
  ackId: number | undefined;
}

/** HEC's status codes (Splunk "Troubleshoot HTTP Event Collector"), with their HTTP statuses. */
export const HEC_STATUS = {
  0: 'Success', // 200
  1: 'Token disabled', // 403
  2: 'Token is required', // 401
  3: 'Invalid authorization', // 401
  4: 'Invalid token', // 403
  5: 'No data', // 400
  6: 'Invalid data format', // 400
  7: 'Incorrect index', // 400
  8: 'Internal server error', // 500
  9: 'Server is busy', // 503
  10: 'Data channel is missing', // 400
  11: 'Invalid data channel', // 400
  12: 'Event field is required', // 400
  13: 'Event field cannot be blank', // 400
  14: 'ACK is disabled', // 400
  15: 'Error in handling indexed fields', // 400
  16: 'Query string authorization is not enabled', // 400
  17: 'HEC is healthy', // 200
  18: 'HEC is unhealthy, queues are full', // 503
  19: 'HEC is unhealthy, ack service unavailable', // 503
  20: 'HEC is unhealthy, queues are full, ack service unavailable', // 503
} as const satisfies Record<number, string>;

/** Codes that concern one event of the request rather than the request as a whole. */
const EVENT_CODES = new Set([6, 7, 12, 13, 15]);
const BUSY_CODES = new Set([9, 18, 19, 20]);
/** HEC's busy answer carries no Retry-After; without one, wait this long before the next try. */
export const BUSY_RETRY_AFTER_MS = 5_000;

/** Reads a HEC answer; undefined when the body is not one (a proxy's HTML page, garbage). */
export function parseHecAnswer(body: string): HecAnswer | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  const { text, code, ackId } = value;
  const invalid = value['invalid-event-number'];
  if (typeof code !== 'number' && typeof text !== 'string') return undefined;
  return {
    text: typeof text === 'string' ? text : undefined,
    code: typeof code === 'number' && Number.isInteger(code) ? code : undefined,
    invalidEventNumber: typeof invalid === 'number' && Number.isInteger(invalid) && invalid >= 0 ? invalid : undefined,
    ackId: typeof ackId === 'number' && Number.isSafeInteger(ackId) && ackId >= 0 ? ackId : undefined,
  };
}

/** `400 Incorrect index (HEC code 7)`, or the HTTP status and a body excerpt. */
export function describeAnswer(status: number, answer: HecAnswer | undefined, excerptText: string): string {
  if (answer === undefined) return excerptText === '' ? `HTTP ${status} with an empty body` : `HTTP ${status}: ${excerptText}`;
  const text = answer.text ?? (answer.code !== undefined ? (HEC_STATUS as Record<number, string>)[answer.code] : undefined) ?? 'no text';
  return `${status} ${text}${answer.code === undefined ? '' : ` (HEC code ${answer.code})`}`;
}

/** What one HEC request's response means for the events in it. */
export type RequestOutcome =
  /** Every event taken; with indexer acknowledgement, ackId identifies the request. */
  | { kind: 'accepted'; ackId: number | undefined }
  /**
   * HEC stopped at event `invalid` (position within the request): the events before it
   * were taken, that event is refused for good, and the ones after it were not looked at.
   * `restRejected`: the later events would be refused for the same reason (the index is
   * the same for every event Loom sends, so "Incorrect index" applies to all of them).
   */
  | { kind: 'partial'; invalid: number; reason: string; restRejected: boolean; ackId: number | undefined }
  /** Every event in the request refused for good. */
  | { kind: 'rejected'; reason: string }
  /** Nothing taken; worth trying again later (and not worth sending further requests now). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number };

/**
 * Maps an HTTP status and HEC answer to an outcome. `eventCount` is the number of events
 * in the request, to tell a request-wide refusal from one event's.
 */
export function classify(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  excerptText: string,
  eventCount: number,
): RequestOutcome {
  const answer = parseHecAnswer(body);
  const described = describeAnswer(status, answer, excerptText);
  const retryAfterMs = parseRetryAfter(headerValue(headers['retry-after']));
  if (status === 200) {
    if (answer?.code === 0) return { kind: 'accepted', ackId: answer.ackId };
    return retry(`${answer === undefined ? 'not a HEC answer' : 'unexpected HEC answer'}: ${described}`);
  }
  if (status === 401 || status === 403) return retry(`the collector refused the token: ${described}`);
  if (status === 413) {
    if (eventCount === 1) return { kind: 'rejected', reason: `the event alone is larger than the collector accepts: ${described}` };
    return retry(`request larger than the collector accepts (lower the maximum request size): ${described}`);
  }
  const busy = answer?.code !== undefined && BUSY_CODES.has(answer.code);
  if (status === 429 || status >= 500 || busy) {
    return retry(described, retryAfterMs ?? (busy ? BUSY_RETRY_AFTER_MS : undefined));
  }
  if (status === 400 && answer?.code !== undefined) {
    if (EVENT_CODES.has(answer.code)) {
      const invalid = answer.invalidEventNumber;
      if (invalid === undefined || invalid >= eventCount) return { kind: 'rejected', reason: described };
      return { kind: 'partial', invalid, reason: described, restRejected: answer.code === 7, ackId: answer.ackId };
    }
    if (answer.code === 10) {
      return retry(`${described}: the token requires indexer acknowledgement, enable ack for this output`);
    }
  }
  return retry(described, retryAfterMs);
}

function retry(reason: string, retryAfterMs?: number): RequestOutcome {
  return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
