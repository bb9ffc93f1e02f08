import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { decode, type Draft } from './decode.js';
import { describeFsError, unreadableReason, unreadableReasonSync } from './files.js';
import { TomlValues, unknownKeyWarnings } from './schema.js';
import { parseTokenFile, readTokenFile, readTokenFileSync, type TokenFileContents } from './secrets.js';
import { ConfigError, type LoadResult, type LoomConfig } from './types.js';
import { filesToCheck, finish, type FileFacts } from './validate.js';

/**
 * Loads a config file: read, parse, defaults, secrets from the environment and the token
 * file, validation. Relative paths in the file resolve against the working directory, as in
 * earlier versions. Throws ConfigError listing every problem found.
 */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<LoadResult> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`read config: open ${absolute}: ${describeFsError(error)}`);
  }
  const draft = decodeText(text, absolute);
  return finish(draft, await gatherFacts(draft.config), env);
}

async function gatherFacts(config: LoomConfig): Promise<FileFacts> {
  const facts: FileFacts = { tokenFile: undefined, tokenFileError: undefined, unreadable: new Map() };
  const readTokens = async (): Promise<void> => {
    if (config.auth.token_file === '') return;
    try {
      facts.tokenFile = await readTokenFile(config.auth.token_file);
    } catch (error) {
      facts.tokenFileError = configErrorMessage(error);
    }
  };
  const checkFile = async ([key, file]: [string, string]): Promise<void> => {
    const reason = await unreadableReason(file);
    if (reason !== undefined) facts.unreadable.set(key, { path: file, reason });
  };
  await Promise.all([readTokens(), ...[...filesToCheck(config)].map(checkFile)]);
  return facts;
}

/**
 * The same from text. `tokenFileText`, when given, stands for the contents of
 * auth.token_file (so tests need no file); otherwise a configured token file is read
 * synchronously, as are the TLS and database files checked for readability.
 */
export function loadConfigText(
  text: string,
  options: { path?: string; env: NodeJS.ProcessEnv; tokenFileText?: string },
): LoadResult {
  const draft = decodeText(text, options.path === undefined ? undefined : resolve(options.path));
  const facts: FileFacts = { tokenFile: undefined, tokenFileError: undefined, unreadable: new Map() };
  const tokenFile = draft.config.auth.token_file;
  try {
    facts.tokenFile = readTokens(tokenFile, options.tokenFileText);
  } catch (error) {
    facts.tokenFileError = configErrorMessage(error);
  }
  for (const [key, file] of filesToCheck(draft.config)) {
    const reason = unreadableReasonSync(file);
    if (reason !== undefined) facts.unreadable.set(key, { path: file, reason });
  }
  return finish(draft, facts, options.env);
}

function readTokens(tokenFile: string, givenText: string | undefined): TokenFileContents | undefined {
  if (givenText !== undefined) return parseTokenFile(givenText, tokenFile === '' ? 'token file' : tokenFile);
  return tokenFile === '' ? undefined : readTokenFileSync(tokenFile);
}

function configErrorMessage(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  throw error;
}

function decodeText(text: string, sourcePath: string | undefined): Draft {
  let root: Record<string, unknown>;
  try {
    // Integers as BigInt keep 5 and 5.0 apart, and let too-large values be reported by key.
    root = parse(text.replace(/^\uFEFF/, ''), { integersAsBigInt: true });
  } catch (error) {
    throw new ConfigError(`parse config: ${describeTomlError(error)}`);
  }
  const values = new TomlValues(root);
  const draft = decode(values, sourcePath);
  draft.warnings.unshift(...unknownKeyWarnings(root));
  return draft;
}

/**
 * Line, column and reason only. The parser's excerpt of the surrounding text is left out
 * because it could show a token written in [auth.tokens].
 */
function describeTomlError(error: unknown): string {
  if (!(error instanceof TomlError)) return error instanceof Error ? error.message : String(error);
  const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  return `line ${error.line}, column ${error.column}: ${reason}`;
}
