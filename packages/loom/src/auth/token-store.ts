import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Maps bearer tokens to sensor ids without comparing secrets byte by byte.
 *
 * Tokens are kept only as SHA-256 digests: the presented token is hashed and looked up,
 * then the digests are compared with timingSafeEqual. Timing can at most reveal something
 * about a digest, which says nothing useful about the token. Lookup cost does not grow with
 * the number of sensors.
 */
export class TokenStore {
  private byDigest = new Map<string, { digest: Buffer; sensorId: string }>();

  constructor(tokens: ReadonlyMap<string, string>) {
    this.replace(tokens);
  }

  /** Swaps the whole token set at once; requests already authenticated are unaffected. */
  replace(tokens: ReadonlyMap<string, string>): void {
    const next = new Map<string, { digest: Buffer; sensorId: string }>();
    for (const [token, sensorId] of tokens) {
      if (token === '') continue;
      const digest = sha256(token);
      next.set(digest.toString('base64'), { digest, sensorId });
    }
    this.byDigest = next;
  }

  /** The digests and their sensors: what an ingest process needs, without the tokens themselves. */
  digests(): [digest: string, sensorId: string][] {
    return [...this.byDigest.entries()].map(([key, entry]) => [key, entry.sensorId]);
  }

  /** Swaps the whole set for one given as digests (see digests()). */
  replaceDigests(entries: readonly (readonly [digest: string, sensorId: string])[]): void {
    this.byDigest = new Map(entries.map(([key, sensorId]) => [key, { digest: Buffer.from(key, 'base64'), sensorId }]));
  }

  /** The sensor id the token belongs to, or undefined. */
  sensorFor(token: string): string | undefined {
    if (token === '') return undefined;
    const digest = sha256(token);
    const entry = this.byDigest.get(digest.toString('base64'));
    if (entry === undefined || !timingSafeEqual(entry.digest, digest)) return undefined;
    return entry.sensorId;
  }

  get size(): number {
    return this.byDigest.size;
  }

  sensorIds(): string[] {
    return [...new Set([...this.byDigest.values()].map((e) => e.sensorId))].sort();
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Extracts the token from an Authorization header. The scheme is matched case-insensitively
 * (RFC 9110 §11.1); the earlier implementation rejected "BEARER x".
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}
