/**
 * Where a sensor's token bucket really lives. A single Loom process keeps it in memory
 * (RateLimiter); the processes of one Loom ask their primary; several Loom instances share
 * one in Redis. Callers that take tokens often front an authority with a LeasedRateLimiter,
 * which takes tokens in small leases so that most requests never wait for the authority.
 */
export interface Grant {
  /** Tokens taken: 0 (refused) or between the request's min and max. */
  granted: number;
  /** When refused: seconds until `min` tokens would be there (at least 1). 0 when granted. */
  retryAfterSeconds: number;
}

export interface RateAuthority {
  /** False when limiting is off (rate <= 0): every take passes without asking. */
  readonly enabled: boolean;
  /**
   * Takes as many tokens as are there, up to `max`, if at least `min` are; else takes none.
   * Never rejects: an authority that cannot be reached answers from a local fallback.
   */
  grant(key: string, min: number, max: number): Grant | Promise<Grant>;
  /** Forgets buckets of keys that are no longer valid (sensors removed by a token reload). */
  retain(keys: ReadonlySet<string>): void;
}

/** What the ingest server needs of a limiter: 0 = allowed, else Retry-After seconds. */
export interface Limiter {
  take(key: string, cost?: number): number | Promise<number>;
  retain(keys: ReadonlySet<string>): void;
}
