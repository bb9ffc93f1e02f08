/**
 * Every error the ingest API can return, in one registry. The `error` strings are the
 * codes the earlier Go implementation returned, so existing clients keep matching on them;
 * the messages are for people and may change.
 */
export const apiErrors = {
  not_found: { status: 404, message: 'no such endpoint; POST events to /api/v1/ingest, /ingest or /, flow records to /api/v1/flows, Zeek logs to /api/v1/zeek/<log>' },
  method_not_allowed: { status: 405, message: 'only POST is allowed on this endpoint' },
  invalid_content_type: {
    status: 415,
    message: 'Content-Type must be application/json or application/x-ndjson',
  },
  unauthorized: { status: 401, message: 'missing or invalid bearer token' },
  rate_limit_exceeded: { status: 429, message: 'per-sensor rate limit exceeded; retry after the Retry-After delay' },
  payload_too_large: { status: 413, message: 'request body exceeds limits.max_body_size_bytes' },
  batch_too_large: { status: 413, message: 'batch exceeds limits.max_events_per_batch' },
  event_too_large: { status: 413, message: 'an event exceeds limits.max_event_size_bytes' },
  invalid_request: { status: 400, message: 'the body is not a valid batch of events' },
  unsupported_encoding: { status: 415, message: 'Content-Encoding must be gzip or identity' },
  output_unavailable: { status: 503, message: 'an output cannot accept events now; nothing of this batch was delivered' },
  overloaded: { status: 503, message: 'too many batches in flight; retry after the Retry-After delay' },
  shutting_down: { status: 503, message: 'the server is shutting down; retry against another instance or later' },
  lookup_disabled: { status: 403, message: 'the lookup API is off: set LOOM_ADMIN_TOKEN to enable it' },
  internal_error: { status: 500, message: 'internal error; nothing of this batch was delivered' },
} as const;

export type ApiErrorCode = keyof typeof apiErrors;

/** A request that ends in an error response: the code picks status and default message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    /** Seconds for the Retry-After header (429 and 503 responses). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message ?? apiErrors[code].message);
    this.status = apiErrors[code].status;
  }

  body(): string {
    return JSON.stringify({ error: this.code, message: this.message });
  }
}
