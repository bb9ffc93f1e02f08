import { parseRedisUrl, PASSWORD_HINT } from '../shared-state/redis-url.js';
import type { Draft } from './decode.js';
import { redactUrl } from './redact.js';
import { envTokenWarnings, mergeTokens, tokensFromEnv, type TokenFileContents, type TokenSet } from './secrets.js';
import { ConfigError, type LoadResult, type LoomConfig, type OutputConfig, type OutputType } from './types.js';

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

const outputTypes: readonly OutputType[] = ['stdout', 'file', 'clickhouse', 'elasticsearch', 'splunk_hec'];
const typeHint = '(use stdout, file, clickhouse, elasticsearch or splunk_hec)';
const networkTypes: ReadonlySet<OutputType> = new Set(['clickhouse', 'elasticsearch', 'splunk_hec']);
const outputName = /^[a-z0-9][a-z0-9_-]{0,62}$/;

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

  checkTls(config, facts, errors);
  checkTokens(draft.inlineTokens, envTokens, facts, config, errors);
  const type = checkOutput(config.output, draft.outputType, errors, warnings);
  config.output.type = type ?? 'stdout';
  if (type !== undefined) checkOutbox(config.output, errors);
  if (draft.kafkaKeysWritten && type !== undefined && draft.outputType !== 'kafka') warnings.push('output.kafka_brokers and output.kafka_topic are ignored: there is no kafka output');
  config.outputs = [];
  if (draft.outputWritten || draft.outputList.length === 0) {
    config.output.name = config.output.type;
    config.outputs.push(config.output);
  }
  for (const entry of draft.outputList) {
    const output = entry.config;
    const entryType = checkOutput(output, entry.typeWritten, errors, warnings);
    output.type = entryType ?? 'stdout';
    if (entryType !== undefined) checkOutbox(output, errors);
    if (output.name === '') output.name = output.type;
    config.outputs.push(output);
  }
  checkOutputNames(config.outputs, errors);
  for (const output of config.outputs) applyCredentials(output, env, errors);
  checkSharedState(config, env, errors);
  for (const [key, problem] of facts.unreadable) {
    if (key.startsWith('enrichment.')) errors.push(`${key}: ${JSON.stringify(problem.path)} not readable: ${problem.reason}`);
  }

  if (errors.length > 0) {
    // Warnings often explain an error (a misspelt key leaves a required one missing).
    throw new ConfigError([...errors, ...warnings.map((warning) => `warning: ${warning}`)].join('\n'));
  }
  return { config, warnings };
}

/** Checked here too, so that check-config catches what startup would refuse. */
function checkSharedState(config: LoomConfig, env: NodeJS.ProcessEnv, errors: string[]): void {
  const { redis_url: url, redis_password_env: passwordEnv } = config.shared_state;
  if (url === '') return;
  try {
    parseRedisUrl(url, 'shared_state.redis_url', PASSWORD_HINT);
  } catch (error) {
    errors.push(messageOf(error));
  }
  if (passwordEnv !== '' && (env[passwordEnv] ?? '') === '') {
    errors.push(`shared_state.redis_password_env: the environment variable ${passwordEnv} is not set or empty`);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  throw error;
}

/**
 * Credentials from the environment win over the file when set and non-empty, as before.
 * An output may name its own variables (`clickhouse_password_env = "CH2_PASSWORD"`), so two
 * outputs of one type can hold different credentials; API keys and HEC tokens come only
 * from the environment.
 */
function applyCredentials(output: OutputConfig, env: NodeJS.ProcessEnv, errors: string[]): void {
  const variable = (key: keyof OutputConfig['credential_env'], fallback: string): string => output.credential_env[key] ?? fallback;
  const pick = (name: string, current: string): string => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : current;
  };
  output.elasticsearch_user = pick('LOOM_ELASTICSEARCH_USER', output.elasticsearch_user);
  output.elasticsearch_pass = pick(variable('elasticsearch_pass', 'LOOM_ELASTICSEARCH_PASS'), output.elasticsearch_pass);
  output.elasticsearch_api_key = pick(variable('elasticsearch_api_key', 'LOOM_ELASTICSEARCH_API_KEY'), '');
  output.clickhouse_user = pick('LOOM_CLICKHOUSE_USER', output.clickhouse_user);
  output.clickhouse_password = pick(variable('clickhouse_password', 'LOOM_CLICKHOUSE_PASSWORD'), output.clickhouse_password);
  const tokenVariable = variable('splunk_hec_token', 'LOOM_SPLUNK_HEC_TOKEN');
  output.splunk_hec_token = pick(tokenVariable, '');
  if (output.type === 'splunk_hec' && output.splunk_hec_token === '') {
    errors.push(`${output.key}: the HEC token comes from the environment: set ${tokenVariable}`);
  }
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
function checkOutput(output: OutputConfig, written: string, errors: string[], warnings: string[]): OutputType | undefined {
  const key = output.key;
  const type = written === '' ? 'stdout' : outputTypes.find((item) => item === written);
  if (written === 'kafka') errors.push(`${key}.type: "kafka" is not supported ${typeHint}`);
  else if (type === undefined) errors.push(`${key}: unknown type ${JSON.stringify(written)} ${typeHint}`);

  switch (type) {
    case 'file':
      if (output.file_path === '') errors.push(`${key}: file_path required when type=file`);
      checkRecordFormat(output, errors);
      break;
    case 'elasticsearch':
      if (output.elasticsearch_url === '') errors.push(`${key}: elasticsearch_url required when type=elasticsearch`);
      else checkUrl(`${key}.elasticsearch_url`, output.elasticsearch_url, errors);
      if (!validIndexName(output.elasticsearch_index.replace(/%\{[^}]*\}/g, 'x'))) {
        errors.push(`${key}.elasticsearch_index: ${JSON.stringify(output.elasticsearch_index)} is not a valid index name (lowercase; none of \\ / * ? " < > | , # : or spaces; not starting with -, _ or +)`);
      }
      if ((output.elasticsearch_user === '') !== (output.elasticsearch_pass === '')) {
        warnings.push(`${key}.elasticsearch_user and ${key}.elasticsearch_pass: only one is set, so requests are sent without basic auth (both are needed)`);
      }
      break;
    case 'clickhouse':
      if (output.clickhouse_url === '') errors.push(`${key}: clickhouse_url required when type=clickhouse`);
      else checkUrl(`${key}.clickhouse_url`, output.clickhouse_url, errors);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(output.clickhouse_database)) errors.push(`${key}.clickhouse_database: ${JSON.stringify(output.clickhouse_database)} is not a plain identifier (letters, digits, _)`);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(output.clickhouse_table)) errors.push(`${key}.clickhouse_table: ${JSON.stringify(output.clickhouse_table)} is not a plain identifier (letters, digits, _)`);
      break;
    case 'splunk_hec':
      if (output.splunk_hec_url === '') errors.push(`${key}: splunk_hec_url required when type=splunk_hec`);
      else checkUrl(`${key}.splunk_hec_url`, output.splunk_hec_url, errors);
      break;
    default:
      break;
  }
  if (type !== undefined && networkTypes.has(type) && output.insecure_skip_verify) {
    warnings.push(`${key}.insecure_skip_verify: the server certificate is not checked; anyone on the path can read and change events`);
  }
  return type;
}

function checkRecordFormat(output: OutputConfig, errors: string[]): void {
  const { key, column_order: columns, plaintext_field_delimiter: field, plaintext_entry_delimiter: entry } = output;
  const seen = new Set<string>();
  for (const column of columns) {
    if (column.trim() === '') errors.push(`${key}.column_order: empty column name`);
    else if (seen.has(column)) errors.push(`${key}.column_order: ${JSON.stringify(column)} is listed twice`);
    seen.add(column);
  }
  if (output.format !== 'plaintext') return;
  if (columns.length === 0) errors.push(`${key}.column_order: required when format = "plaintext" (the fields to write, in order)`);
  if (field === '') errors.push(`${key}.plaintext_field_delimiter: must not be empty`);
  if (entry === '') errors.push(`${key}.plaintext_entry_delimiter: must not be empty`);
  if (field !== '' && entry !== '' && (field.includes(entry) || entry.includes(field))) {
    errors.push(`${key}.plaintext_field_delimiter ${JSON.stringify(field)} and plaintext_entry_delimiter ${JSON.stringify(entry)}: one contains the other, so records could not be split back`);
  }
}

function checkOutputNames(outputs: OutputConfig[], errors: string[]): void {
  const seen = new Map<string, string>();
  for (const output of outputs) {
    if (!outputName.test(output.name)) {
      errors.push(`${output.key}.name: ${JSON.stringify(output.name)} must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`);
      continue;
    }
    const other = seen.get(output.name);
    if (other !== undefined) errors.push(`${output.key}.name: ${JSON.stringify(output.name)} is already the name of ${other}; give each output its own name`);
    seen.set(output.name, output.key);
  }
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

function checkOutbox(output: OutputConfig, errors: string[]): void {
  const { outbox, type, key } = output;
  if (outbox.enabled && !networkTypes.has(type)) {
    errors.push(`${key}: outbox requires type=clickhouse, type=elasticsearch or type=splunk_hec (${key}.type is ${JSON.stringify(type)})`);
  }
}
