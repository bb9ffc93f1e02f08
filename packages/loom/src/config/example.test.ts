import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { loadConfigText } from './load.js';
import { isTable, schema, type TableSpec } from './schema.js';

// Tests run from packages/loom/dist/src/config; the files live at the repository root.
const root = new URL('../../../../../', import.meta.url);
const exampleText = readFileSync(new URL('loom.example.toml', root), 'utf8');
// The inputs' keys are documented with each input, in docs/INPUTS.md.
const docsText = readFileSync(new URL('docs/CONFIGURATION.md', root), 'utf8') + readFileSync(new URL('docs/INPUTS.md', root), 'utf8');

/**
 * Keys that must not be active in the example: each would earn a warning, or means something
 * by being left out (database paths select the bundled data; intel lists are per site).
 */
const warnedKeys = new Set([
  'auth.tokens', 'output.kafka_brokers', 'output.kafka_topic', 'output.name', 'output.compression',
  'enrichment.geoip_db_path', 'enrichment.asn_db_path',
  'enrichment.intel.name', 'enrichment.intel.path', 'enrichment.intel.kind', 'enrichment.intel.format', 'enrichment.intel.category', 'enrichment.intel.confidence',
]);

/**
 * [outputs.<name>] sections take exactly the keys of [output], so the example and the docs
 * describe them once, under output.*.
 */
function leafKeys(spec: TableSpec, prefix = ''): string[] {
  return Object.entries(spec).filter(([name]) => !(prefix === '' && name === 'outputs')).flatMap(([name, kind]) => {
    if (typeof kind !== 'object') return [prefix + name];
    return leafKeys(Array.isArray(kind) ? (kind[0] as TableSpec) : (kind as TableSpec), `${prefix}${name}.`);
  });
}

/** Keys written in a TOML document, following the schema so that free-form tables count as one key. */
function writtenKeys(table: Record<string, unknown>, spec: TableSpec = schema, prefix = ''): string[] {
  return Object.entries(table).flatMap(([name, value]) => {
    const known = spec[name];
    if (isTable(value) && typeof known === 'object' && !Array.isArray(known)) return writtenKeys(value, known as TableSpec, `${prefix}${name}.`);
    if (Array.isArray(value) && Array.isArray(known) && value.every(isTable)) {
      return value.flatMap((item) => writtenKeys(item as Record<string, unknown>, known[0] as TableSpec, `${prefix}${name}.`));
    }
    return [prefix + name];
  });
}

test('loom.example.toml loads with an env token and no warnings', () => {
  const { config, warnings } = loadConfigText(exampleText, { env: { LOOM_SENSOR_example: 'x' } });
  assert.deepEqual(warnings, []);
  assert.equal(config.auth.tokens.get('x'), 'example');
  assert.equal(config.output.type, 'stdout');
  assert.equal(config.server.tls, false);
});

test('loom.example.toml sets every key except those that would warn', () => {
  const expected = leafKeys(schema).filter((key) => !warnedKeys.has(key)).sort();
  assert.deepEqual(writtenKeys(parse(exampleText)).sort(), expected);
  assert.match(exampleText, /^# \[auth\.tokens\]/m);
  assert.match(exampleText, /kafka/);
  assert.match(exampleText, /^# \[outputs\.archive\]/m);
  for (const key of ['compression', 'geoip_db_path', 'asn_db_path', '\\[\\[enrichment\\.intel\\]\\]', 'confidence']) assert.match(exampleText, new RegExp(`^# ${key}`, 'm'));
});

test('loom.example.toml spells out the defaults it keeps', () => {
  const example = loadConfigText(exampleText, { env: { LOOM_SENSOR_example: 'x' } }).config;
  const defaults = loadConfigText('', { env: { LOOM_SENSOR_example: 'x' } }).config;
  assert.deepEqual(example.limits, defaults.limits);
  assert.deepEqual(example.enrichment, defaults.enrichment);
  assert.deepEqual(example.output, defaults.output);
});

test('docs/CONFIGURATION.md documents every key', () => {
  const missing = leafKeys(schema).filter((key) => !docsText.includes(`\`${key}\``));
  assert.deepEqual(missing, []);
  assert.match(docsText, /`\[outputs\.<name>\]`/);
});
