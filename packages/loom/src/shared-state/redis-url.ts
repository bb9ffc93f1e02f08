import { ConfigError } from '../config/types.js';

/** What a refused password in shared_state.redis_url is told to do instead. */
export const PASSWORD_HINT = 'put it in an environment variable and name that variable in shared_state.redis_password_env';

/** Where a Redis server is, as read from a redis:// or rediss:// URL without credentials. */
export interface RedisAddress {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  /** An ACL user name, when the URL has one (its password comes from the environment). */
  username: string | undefined;
}

/**
 * Reads a Redis URL, naming `key` in every complaint and never repeating the URL itself,
 * which may hold a password. A password in the URL is refused: it would end up in config
 * dumps, process listings and logs, so it comes from an environment variable instead.
 */
export function parseRedisUrl(text: string, key: string, passwordHint: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${key}: not a URL; expected redis://host:port/db or rediss://host:port/db`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${key}: scheme must be redis:// or rediss:// (TLS), not ${url.protocol}//`);
  }
  if (url.password !== '') {
    throw new ConfigError(`${key}: must not contain a password; ${passwordHint}`);
  }
  if (url.hostname === '') throw new ConfigError(`${key}: names no host`);
  if (url.search !== '' || url.hash !== '') throw new ConfigError(`${key}: query strings and fragments are not supported`);
  const path = url.pathname.replace(/^\//, '');
  let db = 0;
  if (path !== '') {
    if (!/^\d{1,2}$/.test(path) || Number(path) > 15) throw new ConfigError(`${key}: the database after the host must be a number from 0 to 15`);
    db = Number(path);
  }
  return {
    tls: url.protocol === 'rediss:',
    // IPv6 literals come back bracketed from URL; the socket wants them bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
  };
}
