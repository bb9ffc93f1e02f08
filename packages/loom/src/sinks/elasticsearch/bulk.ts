import { excerpt } from '../http-target.js';

/** What the `_bulk` API did with one document. */
export type ItemOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; reason: string }
  | { kind: 'rejected'; reason: string };

export type BulkResponse = { ok: true; items: ItemOutcome[] } | { ok: false; reason: string };

/**
 * Reads a 2xx `_bulk` response body: `{"took":…,"errors":…,"items":[{"index":{"status":201,…}},…]}`,
 * one item per document in request order. Anything else (not JSON, no items, a different
 * number of items) is a failure of the whole request, since it cannot say which documents
 * arrived.
 *
 * `duplicatesDelivered`: the request used `create` with ids that are stable across
 * retries, so a 409 version conflict means an earlier attempt already stored the document.
 */
export function readBulkResponse(body: string, expected: number, duplicatesDelivered: boolean): BulkResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    const detail = body.trim() === '' ? 'the body is empty' : `the body is not JSON (${(error as Error).message}): ${excerpt(body, 200)}`;
    return { ok: false, reason: `not a bulk response: ${detail}` };
  }
  const items = isObject(parsed) ? parsed.items : undefined;
  if (!Array.isArray(items)) return { ok: false, reason: `not a bulk response (no "items" array): ${excerpt(body, 200)}` };
  if (items.length !== expected) {
    return { ok: false, reason: `the bulk response has ${items.length} items for ${expected} documents` };
  }
  return { ok: true, items: items.map((item: unknown) => classify(item, duplicatesDelivered)) };
}

function classify(item: unknown, duplicatesDelivered: boolean): ItemOutcome {
  const [action, result] = isObject(item) ? (Object.entries(item)[0] ?? []) : [];
  const status = isObject(result) ? result.status : undefined;
  if (typeof status !== 'number' || !Number.isInteger(status)) {
    return { kind: 'retry', reason: `a bulk response item without a status: ${excerpt(JSON.stringify(item) ?? String(item), 200)}` };
  }
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const error = isObject(result) ? result.error : undefined;
  if (status === 409 && action === 'create' && duplicatesDelivered) return { kind: 'delivered' };
  const reason = `${status} ${describeError(error)}`;
  // 401/403 on one document is a missing privilege on that index: the operator can fix it,
  // so it must not empty the queue into the dead-letter file.
  if (status === 429 || status >= 500 || status === 401 || status === 403 || status < 400) return { kind: 'retry', reason };
  return { kind: 'rejected', reason };
}

/**
 * `type: reason (caused by type: reason)` from an Elasticsearch error object (a bulk item's
 * `error` or a response's top-level `error`); old servers and proxies send a plain string.
 */
export function describeError(error: unknown): string {
  if (typeof error === 'string') return excerpt(error, 1000);
  if (!isObject(error)) return '(no error details)';
  let text = typeAndReason(error);
  const cause = error.caused_by;
  if (isObject(cause)) text += ` (caused by ${typeAndReason(cause)})`;
  return excerpt(text, 1000);
}

/** One line for an error response body of any kind: Elasticsearch's JSON, a proxy's HTML, nothing. */
export function describeErrorBody(body: string): string {
  if (body.trim() === '') return 'empty body';
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed) && parsed.error !== undefined) return describeError(parsed.error);
  } catch {
    // not JSON: show the text itself
  }
  return excerpt(body);
}

function typeAndReason(error: Record<string, unknown>): string {
  const type = typeof error.type === 'string' ? error.type : 'error';
  return typeof error.reason === 'string' ? `${type}: ${error.reason}` : type;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
