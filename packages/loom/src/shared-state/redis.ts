import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { SharedStateConfig } from '../config/types.js';
import { ConfigError } from '../config/types.js';
import type { Logger } from '../logging.js';
import { ThrottledLog } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import { parseRedisUrl, PASSWORD_HINT } from './redis-url.js';

/** Reconnect delays grow to this and stay there while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 5_000;

/** What a SharedState needs besides its config. */
export interface SharedStateDeps {
  logger: Logger;
  /** Loom's metrics; the standalone `loom tcp-json` has none. */
  metrics?: Metrics;
  env?: NodeJS.ProcessEnv;
  /** The config keys complaints name (the standalone command reads environment variables instead). */
  keys?: { url: string; passwordEnv: string; caFile: string; passwordHint: string };
}

/**
 * The Redis connection that several Loom instances share state through. It never makes a
 * caller wait for Redis to come up: commands fail at once while it is away (no offline
 * queue that would grow without bound during an outage), callers fall back to their
 * per-instance state, and the client reconnects in the background with growing delays.
 */
export class SharedState {
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly throttled: ThrottledLog;
  private connected = false;
  private connections = 0;

  private constructor(client: Redis, keyPrefix: string, private readonly deps: SharedStateDeps) {
    this.client = client;
    this.keyPrefix = keyPrefix;
    this.throttled = new ThrottledLog(deps.logger);
    deps.metrics?.sharedStateUp.set(0);
    client.on('ready', () => this.setUp(true));
    client.on('close', () => this.setUp(false));
    // ioredis reports connection errors here; without a listener they would crash the process.
    client.on('error', (error: unknown) => this.throttled.warn('connection', { reason: describe(error) }, 'shared state: Redis connection error'));
  }

  /** undefined when shared_state.redis_url is "" (each instance keeps its own state). */
  static create(config: SharedStateConfig, deps: SharedStateDeps): SharedState | undefined {
    if (config.redis_url === '') return undefined;
    const keys = deps.keys ?? {
      url: 'shared_state.redis_url',
      passwordEnv: 'shared_state.redis_password_env',
      caFile: 'shared_state.ca_file',
      passwordHint: PASSWORD_HINT,
    };
    const address = parseRedisUrl(config.redis_url, keys.url, keys.passwordHint);
    const env = deps.env ?? process.env;
    let password: string | undefined;
    if (config.redis_password_env !== '') {
      password = env[config.redis_password_env];
      if (password === undefined || password === '') throw new ConfigError(`${keys.passwordEnv}: the environment variable ${config.redis_password_env} is not set or empty`);
    }
    let ca: Buffer | undefined;
    if (config.ca_file !== '') {
      if (!address.tls) throw new ConfigError(`${keys.caFile}: only used with rediss:// (TLS) in ${keys.url}`);
      try {
        ca = readFileSync(config.ca_file);
      } catch (error) {
        throw new ConfigError(`${keys.caFile}: cannot read ${config.ca_file}: ${describe(error)}`);
      }
    }
    const options: RedisOptions = {
      host: address.host,
      port: address.port,
      db: address.db,
      ...(address.username === undefined ? {} : { username: address.username }),
      ...(password === undefined ? {} : { password }),
      ...(address.tls ? { tls: { servername: address.host, ...(ca === undefined ? {} : { ca }) } } : {}),
      commandTimeout: config.timeout_ms,
      connectTimeout: Math.max(config.timeout_ms, 1_000),
      enableOfflineQueue: false,
      // A command cut off by a disconnect fails now; its caller has already fallen back by the time a retry would run.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS),
      lazyConnect: true,
    };
    const shared = new SharedState(new Redis(options), config.key_prefix, deps);
    // Connection failures are retried forever by retryStrategy and reported by the 'error' listener.
    shared.client.connect().catch(() => undefined);
    deps.logger.info({ host: address.host, port: address.port, db: address.db, tls: address.tls, key_prefix: config.key_prefix }, 'shared state: using Redis');
    return shared;
  }

  /** Connected and ready for commands; while false, callers decide locally without asking. */
  get up(): boolean {
    return this.connected;
  }

  /**
   * Goes up with every (re)connection. Redis may have restarted or failed over meanwhile
   * and lost its keys, so what a caller remembers of them is stale once this changes.
   */
  get epoch(): number {
    return this.connections;
  }

  /** Counts a command that failed or timed out (its caller decided locally) and logs it now and then. */
  failed(operation: string, error: unknown): void {
    this.deps.metrics?.sharedStateErrors.inc({ operation });
    this.throttled.warn(operation, { operation, reason: describe(error), redis_up: this.connected }, 'shared state: Redis did not answer; deciding with this instance\'s own state');
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('ready');
    this.setUp(false);
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private setUp(up: boolean): void {
    if (up === this.connected) return;
    this.connected = up;
    if (up) this.connections++;
    this.deps.metrics?.sharedStateUp.set(up ? 1 : 0);
    if (up) this.deps.logger.info('shared state: connected to Redis');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
