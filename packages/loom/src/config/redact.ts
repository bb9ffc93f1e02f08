import type { LoomConfig } from './types.js';

const redacted = '<redacted>';

/** Keys whose values are credentials. Tokens are not listed: they are Maps and never printed. */
const secretKeys = new Set(['elasticsearch_user', 'elasticsearch_pass', 'elasticsearch_api_key', 'clickhouse_user', 'clickhouse_password', 'splunk_hec_token']);
const urlKeys = new Set(['elasticsearch_url', 'clickhouse_url', 'splunk_hec_url', 'redis_url']);
/** Bookkeeping fields of an output that are not keys of the file. */
const internalOutputFields = new Set(['key', 'credential_env', 'elasticsearch_api_key', 'splunk_hec_token']);

/** A URL with any "user:password@" part replaced, so it can appear in messages and output. */
export function redactUrl(value: string): string {
  return value.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^/?#@\s]*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}${redacted}@`);
}

/**
 * The effective configuration as TOML, for `loom check-config`: defaults filled in, paths
 * absolute, credentials shown as "<redacted>", tokens shown only as sensor ids with their
 * origins (in comments, so the output still parses).
 */
export function formatEffectiveConfig(config: LoomConfig): string {
  const lines = [
    `# Effective configuration${config.source_path === undefined ? ' (embedded development default)' : ` of ${config.source_path}`}.`,
    '# Defaults are filled in, relative paths are absolute, credentials show as "<redacted>".',
  ];
  const sections = Object.entries(config).filter(([name]) => name !== 'source_path' && name !== 'outputs');
  for (const [name, section] of sections) {
    if (name === 'output') {
      // Not printed when only [outputs.<name>] sections are in use: it would become an output when loaded back.
      if (config.outputs.includes(config.output)) writeTable(lines, name, outputTable(section as LoomConfig['output']), config);
    } else {
      writeTable(lines, name, section as Record<string, unknown>, config);
    }
  }
  // [output] is printed above; the others as [outputs.<name>] sections, however they were written.
  for (const output of config.outputs) {
    if (output.key === 'output') continue;
    const { name: _name, ...table } = outputTable(output);
    writeTable(lines, `outputs.${output.name}`, table, config);
  }
  return `${lines.join('\n')}\n`;
}

function writeTable(lines: string[], name: string, table: Record<string, unknown>, config: LoomConfig, header = `[${name}]`): void {
  lines.push('', header);
  const nested: [string, Record<string, unknown>][] = [];
  const tableArrays: [string, Record<string, unknown>[]][] = [];
  for (const [key, value] of Object.entries(table)) {
    if (value instanceof Map) continue;
    if (value === undefined) {
      // Database paths left out of the file select the bundled data.
      lines.push(`# ${key} is not set: the bundled open data is used`);
      continue;
    }
    if (Array.isArray(value)) {
      if (value.every((item) => typeof item !== 'object')) lines.push(`${key} = ${JSON.stringify(value)}`);
      else tableArrays.push([`${name}.${key}`, value as Record<string, unknown>[]]);
      continue;
    }
    if (typeof value === 'object' && value !== null) {
      nested.push([`${name}.${key}`, value as Record<string, unknown>]);
      continue;
    }
    lines.push(`${key} = ${formatValue(key, value)}`);
  }
  if (name === 'auth') lines.push(...tokenComments(config));
  for (const [childName, child] of nested) writeTable(lines, childName, child, config);
  for (const [arrayName, items] of tableArrays) for (const item of items) writeTable(lines, arrayName, item, config, `[[${arrayName}]]`);
}

/** An output as its TOML keys: bookkeeping left out, the *_env names shown under their keys. */
function outputTable(output: LoomConfig['output']): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(output)) if (!internalOutputFields.has(key)) table[key] = value;
  // Unset compression means "gzip unless the destination is on this host"; it has no TOML spelling.
  if (table.compression === 'auto') delete table.compression;
  for (const [secret, variable] of Object.entries(output.credential_env)) table[`${secret}_env`] = variable;
  return table;
}

function formatValue(key: string, value: unknown): string {
  if (typeof value === 'string') {
    if (secretKeys.has(key) && value !== '') return JSON.stringify(redacted);
    if (urlKeys.has(key)) return JSON.stringify(redactUrl(value));
    return JSON.stringify(value);
  }
  return String(value);
}

function tokenComments(config: LoomConfig): string[] {
  const { tokens, token_origins: origins } = config.auth;
  const entries = [...tokens].map(([token, sensor]) => ({ sensor, origin: origins.get(token) ?? 'unknown origin' }));
  entries.sort((a, b) => (a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0));
  return [
    `# ${entries.length} token${entries.length === 1 ? '' : 's'}, values redacted (sensor id: where the token comes from):`,
    ...entries.map(({ sensor, origin }) => `#   ${JSON.stringify(sensor)}: ${origin}`),
  ];
}
