import type { LoomConfig } from '../config/types.js';
import { ApiError, type ApiErrorCode } from '../errors.js';
import type { RemoteFailure } from './channel.js';

/**
 * The messages between the primary and its ingest processes. The primary owns everything
 * that must exist once (outputs, outboxes, token file, rate-limit buckets, the other inputs,
 * the management server); an ingest process owns connections, decoding and enrichment.
 */

/** Primary → ingest process, once, right after the fork. */
export interface StartBody {
  /** Which process this is (1-based), for logs. */
  index: number;
  /** The config with auth.tokens emptied: tokens travel as digests only. */
  config: LoomConfig;
  tokens: TokenDigests;
  /** Decode threads for this process. */
  threads: number;
  /** Share of limits.max_pending_batches and server.max_connections for this process. */
  maxPendingBatches: number;
  maxConnections: number;
}

/** SHA-256 digest (base64) → sensor id. */
export type TokenDigests = [digest: string, sensorId: string][];

export interface GrantBody {
  limiter: LimiterName;
  key: string;
  min: number;
  max: number;
}

export type LimiterName = 'request' | 'event';

/** Batches do not use the channel: they go over a pipe of their own (batch-link.ts) on this fd. */
export const batchPipeFd = 4;

export const requests = {
  grant: 'grant',
  /** Primary → ingest process: its metrics as prom-client JSON. */
  metrics: 'metrics',
  /** Primary → ingest process: stop accepting, finish in-flight requests, answer when done. */
  stop: 'stop',
} as const;

export const notes = {
  /** Ingest process → primary: loaded and listening on the channel; the start note may come. */
  hello: 'hello',
  start: 'start',
  /** Ingest process → primary: bound (body: the port), or could not start (body: message). */
  listening: 'listening',
  failed: 'failed',
  /** Primary → ingest process: the token set changed. */
  tokens: 'tokens',
  /** Primary → ingest process: SIGHUP (enrichment databases). */
  reload: 'reload',
  /** Primary → ingest process: the shutdown deadline passed, close every connection. */
  destroy: 'destroy',
} as const;

/** ApiErrors keep their code and Retry-After across the channel, so clients see the same answer. */
export function describeFailure(error: unknown): RemoteFailure {
  if (error instanceof ApiError) {
    return { message: error.message, code: error.code, ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }) };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

export function reviveFailure(failure: RemoteFailure): Error {
  if (failure.code !== undefined) return new ApiError(failure.code as ApiErrorCode, failure.message, failure.retryAfterSeconds);
  return new Error(failure.message);
}
