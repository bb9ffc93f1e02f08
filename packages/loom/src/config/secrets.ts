import { readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { describeFsError } from './files.js';
import { ConfigError } from './types.js';

/**
 * Tokens are secrets: nothing here puts a token into a message, a warning or an origin.
 * Messages identify a token by where it came from (origin) and by its sensor id.
 */

export interface TokenSet {
  /** token -> sensor id */
  tokens: Map<string, string>;
  /** token -> where it came from: "env LOOM_SENSOR_x", "token_file line 3", "auth.tokens". */
  origins: Map<string, string>;
}

export interface TokenFileContents extends TokenSet {
  warnings: string[];
}

const envPrefix = 'LOOM_SENSOR_';

/**
 * LOOM_SENSOR_<id>=<token>. Underscores in <id> become hyphens (environment names cannot
 * portably contain "-"), case is kept. Empty values and an empty <id> are skipped.
 * Variables are read in name order so that the result does not depend on the environment's order.
 */
export function tokensFromEnv(env: NodeJS.ProcessEnv): TokenSet {
  const tokens = new Map<string, string>();
  const origins = new Map<string, string>();
  const errors: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(envPrefix)) continue;
    const token = env[name];
    const sensor = name.slice(envPrefix.length).replaceAll('_', '-');
    if (token === undefined || token === '' || sensor === '') continue;
    const other = tokens.get(token);
    if (other !== undefined && other !== sensor) {
      errors.push(`auth: ${origins.get(token)} and env ${name} hold the same token; a token belongs to one sensor only`);
      continue;
    }
    if (other === undefined) {
      tokens.set(token, sensor);
      origins.set(token, `env ${name}`);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors.join('\n'));
  return { tokens, origins };
}

/** Warnings about LOOM_SENSOR_* variables that tokensFromEnv skips. */
export function envTokenWarnings(env: NodeJS.ProcessEnv): string[] {
  const value = env[envPrefix];
  return value !== undefined && value !== ''
    ? [`env ${envPrefix} has no sensor id after the prefix (ignored; use ${envPrefix}<sensor_id>)`]
    : [];
}

/**
 * Parses a token file: one "token,sensor_id" per line, split at the first comma, both parts
 * trimmed. Blank lines and "#" comments are skipped. Malformed lines are skipped with a
 * warning naming the file and line (never the line's text, which may hold a token).
 * A token given to two different sensors is an error; two tokens for one sensor are
 * reported by mergeTokens, which sees every source.
 */
export function parseTokenFile(text: string, fileName: string): TokenFileContents {
  const tokens = new Map<string, string>();
  const origins = new Map<string, string>();
  const lines = new Map<string, number>();
  const warnings: string[] = [];
  const errors: string[] = [];
  const where = `auth.token_file ${JSON.stringify(fileName)}`;
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const comma = line.indexOf(',');
    if (comma < 0) {
      warnings.push(`${where} line ${lineNumber}: no comma; expected "token,sensor_id" (line ignored)`);
      return;
    }
    const token = line.slice(0, comma).trim();
    const sensor = line.slice(comma + 1).trim();
    if (token === '' || sensor === '') {
      warnings.push(`${where} line ${lineNumber}: empty ${token === '' ? 'token' : 'sensor id'}; expected "token,sensor_id" (line ignored)`);
      return;
    }
    const existing = tokens.get(token);
    if (existing === undefined) {
      tokens.set(token, sensor);
      origins.set(token, `token_file line ${lineNumber}`);
      lines.set(token, lineNumber);
    } else if (existing !== sensor) {
      errors.push(
        `auth: ${where} line ${lineNumber} gives sensor ${JSON.stringify(sensor)} the token that line ${lines.get(token)} gives sensor ${JSON.stringify(existing)}; a token belongs to one sensor only`,
      );
    }
  });
  if (errors.length > 0) throw new ConfigError(errors.join('\n'));
  return { tokens, origins, warnings };
}

/**
 * Reads and parses the token file. Used at startup and on every reload, so every failure
 * is a ConfigError whose message is fit to log as is.
 */
export async function readTokenFile(path: string): Promise<TokenFileContents> {
  let text: string;
  let mode: number;
  try {
    const handle = await open(path, 'r');
    try {
      // Stat the opened handle, not the path, so mode and content belong to the same file
      // even while the file is being replaced.
      mode = (await handle.stat()).mode;
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new ConfigError(`auth token_file: open ${path}: ${describeFsError(error)}`);
  }
  return withModeWarning(parseTokenFile(text, path), path, mode);
}

/** The synchronous variant, for the pure loader used at startup and in tests. */
export function readTokenFileSync(path: string): TokenFileContents {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`auth token_file: open ${path}: ${describeFsError(error)}`);
  }
  return withModeWarning(parseTokenFile(text, path), path, mode);
}

function withModeWarning(contents: TokenFileContents, path: string, mode: number): TokenFileContents {
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    contents.warnings.push(
      `auth.token_file ${JSON.stringify(path)} is readable by group or others (mode ${octal}); tokens are secrets: chmod 600 it`,
    );
  }
  return contents;
}

/**
 * Merges token sources in order: a later source wins for the same token (the token file
 * overrides the environment, as in earlier versions). Then every sensor must have exactly
 * one token, so that revoking a sensor means changing one place.
 */
export function mergeTokens(...sources: TokenSet[]): TokenSet {
  const tokens = new Map<string, string>();
  const origins = new Map<string, string>();
  for (const source of sources) {
    for (const [token, sensor] of source.tokens) {
      tokens.set(token, sensor);
      origins.set(token, source.origins.get(token) ?? 'unknown origin');
    }
  }
  const bySensor = new Map<string, string[]>();
  for (const [token, sensor] of tokens) {
    const list = bySensor.get(sensor) ?? [];
    list.push(origins.get(token) as string);
    bySensor.set(sensor, list);
  }
  const errors = [...bySensor]
    .filter(([, list]) => list.length > 1)
    .map(([sensor, list]) => `auth: sensor ${JSON.stringify(sensor)} has multiple tokens (${list.join(', ')})`);
  if (errors.length > 0) throw new ConfigError(errors.join('\n'));
  return { tokens, origins };
}
