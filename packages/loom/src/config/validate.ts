import type { Draft } from './decode.js';
import { redactUrl } from './redact.js';
import { envTokenWarnings, mergeTokens, tokensFromEnv, type TokenFileContents, type TokenSet } from './secrets.js';
import { ConfigError, type LoadResult, type LoomConfig, type OutputType } from './types.js';

/** What the loader found on disk; gathered separately so validation itself stays pure. */
export interface FileFacts {
  tokenFile: TokenFileContents | undefined;
  /** The ConfigError message of a token file that could not be read or parsed. */
  tokenFileError: string | undefined;
  /** Files named by the config that cannot be read, by dotted key. */
  unreadable: Map<string, { path: string; reason: string }>;
}

/** The files the loader must be able to read for this config, by dotted key. */
export function filesToCheck(config: LoomConfig): Map<string, string> {
  const files = new Map<string, string>();
  const { server, enrichment } = config;
  if (server.tls && server.cert_file !== '' && server.key_file !== '') {
    files.set('server.cert_file', server.cert_file);
    files.set('server.key_file', server.key_file);
  }
  if (enrichment.geoip_db_path) files.set('enrichment.geoip_db_path', enrichment.geoip_db_path);
  if (enrichment.asn_db_path) files.set('enrichment.asn_db_path', enrichment.asn_db_path);
  enrichment.intel.forEach((list, i) => {
    if (list.path !== '') files.set(`enrichment.intel[${i}].path`, list.path);
  });
  return files;
}

const outputTypes: readonly OutputType[] = ['stdout', 'file', 'clickhouse', 'elasticsearch'];
const typeHint = '(use stdout, file, clickhouse or elasticsearch)';

/**
 * Applies secrets from the environment and the token file, then checks the rules that span
 * keys, in the earlier version's order: TLS files, tokens present, one token per sensor,
 * output type and its requirements, outbox. Every problem is reported, one per line.
 */
export function finish(draft: Draft, facts: FileFacts, env: NodeJS.ProcessEnv): LoadResult {
  const { config, errors, warnings } = draft;

  let envTokens: TokenSet = { tokens: new Map(), origins: new Map() };
  try {
    envTokens = tokensFromEnv(env);
  } catch (error) {
    errors.push(messageOf(error));
  }
  warnings.push(...envTokenWarnings(env));
  if (facts.tokenFileError !== undefined) errors.push(facts.tokenFileError);
  if (facts.tokenFile !== undefined) warnings.push(...facts.tokenFile.warnings);
  applyCredentials(config, env);

  checkTls(config, facts, errors);
  checkTokens(draft.inlineTokens, envTokens, facts, config, errors);
  const type = checkOutput(draft, errors, warnings);
  config.output.type = type ?? 'stdout';
  if (type !== undefined) checkOutbox(config, errors);
  for (const [key, problem] of facts.unreadable) {
    if (key.startsWith('enrichment.')) errors.push(`${key}: ${JSON.stringify(problem.path)} not readable: ${problem.reason}`);
  }

  if (errors.length > 0) {
    // Warnings often explain an error (a misspelt key leaves a required one missing).
    throw new ConfigError([...errors, ...warnings.map((warning) => `warning: ${warning}`)].join('\n'));
  }
  return { config, warnings };
}

function messageOf(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  throw error;
}

/** Credentials from the environment win over the file when set and non-empty, as before. */
function applyCredentials(config: LoomConfig, env: NodeJS.ProcessEnv): void {
  const output = config.output;
  const pick = (name: string, current: string): string => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : current;
  };
  output.elasticsearch_user = pick('LOOM_ELASTICSEARCH_USER', output.elasticsearch_user);
  output.elasticsearch_pass = pick('LOOM_ELASTICSEARCH_PASS', output.elasticsearch_pass);
  output.clickhouse_user = pick('LOOM_CLICKHOUSE_USER', output.clickhouse_user);
  output.clickhouse_password = pick('LOOM_CLICKHOUSE_PASSWORD', output.clickhouse_password);
}

function checkTls(config: LoomConfig, facts: FileFacts, errors: string[]): void {
  const server = config.server;
  if (!server.tls) return;
  if (server.cert_file === '' || server.key_file === '') {
    errors.push('server: tls enabled but cert_file or key_file missing');
    return;
  }
  for (const name of ['cert_file', 'key_file']) {
    const problem = facts.unreadable.get(`server.${name}`);
    if (problem !== undefined) errors.push(`server: ${name} ${JSON.stringify(problem.path)} not readable: ${problem.reason}`);
  }
}

function checkTokens(inline: TokenSet, env: TokenSet, facts: FileFacts, config: LoomConfig, errors: string[]): void {
  const file = facts.tokenFile ?? { tokens: new Map(), origins: new Map() };
  const any = inline.tokens.size + env.tokens.size + file.tokens.size > 0;
  if (!any) {
    // An unreadable token file has already been reported; "no tokens" would only distract.
    if (facts.tokenFileError === undefined) errors.push('auth: no tokens configured (use token_file or LOOM_SENSOR_* env)');
    return;
  }
  try {
    const merged = mergeTokens(inline, env, file);
    config.auth.tokens = merged.tokens;
    config.auth.token_origins = merged.origins;
  } catch (error) {
    errors.push(messageOf(error));
  }
}

/** The output type, or undefined when the written one is not supported (already reported). */
function checkOutput(draft: Draft, errors: string[], warnings: string[]): OutputType | undefined {
  const output = draft.config.output;
  const written = draft.outputType;
  const type = written === '' ? 'stdout' : outputTypes.find((item) => item === written);
  if (written === 'kafka') errors.push(`output.type: "kafka" is not supported ${typeHint}`);
  else if (type === undefined) errors.push(`output: unknown type ${JSON.stringify(written)} ${typeHint}`);
  else if (draft.kafkaKeysWritten) warnings.push('output.kafka_brokers and output.kafka_topic are ignored: there is no kafka output');

  switch (type) {
    case 'file':
      if (output.file_path === '') errors.push('output: file_path required when type=file');
      break;
    case 'elasticsearch':
      if (output.elasticsearch_url === '') errors.push('output: elasticsearch_url required when type=elasticsearch');
      else checkUrl('output.elasticsearch_url', output.elasticsearch_url, errors);
      if (!validIndexName(output.elasticsearch_index)) {
        errors.push(`output.elasticsearch_index: ${JSON.stringify(output.elasticsearch_index)} is not a valid index name (lowercase; none of \\ / * ? " < > | , # : or spaces; not starting with -, _ or +)`);
      }
      if ((output.elasticsearch_user === '') !== (output.elasticsearch_pass === '')) {
        warnings.push('output.elasticsearch_user and output.elasticsearch_pass: only one is set, so requests are sent without basic auth (both are needed)');
      }
      break;
    case 'clickhouse':
      if (output.clickhouse_url === '') errors.push('output: clickhouse_url required when type=clickhouse');
      else checkUrl('output.clickhouse_url', output.clickhouse_url, errors);
      break;
    default:
      break;
  }
  return type;
}

function checkUrl(key: string, value: string, errors: string[]): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    errors.push(`${key}: ${JSON.stringify(redactUrl(value))} is not an http:// or https:// URL`);
  }
}

function validIndexName(name: string): boolean {
  return name === name.toLowerCase()
    && !/[\\/*?"<>|,#:\s]/.test(name)
    && !/^[-_+]/.test(name)
    && name !== '.' && name !== '..'
    && Buffer.byteLength(name) <= 255;
}

function checkOutbox(config: LoomConfig, errors: string[]): void {
  const { outbox, type } = config.output;
  if (outbox.enabled && type !== 'clickhouse' && type !== 'elasticsearch') {
    errors.push(`output: outbox requires type=clickhouse or type=elasticsearch (output.type is ${JSON.stringify(type)})`);
  }
}
