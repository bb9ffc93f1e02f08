import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { loadConfigText } from './load.js';
import { isTable, schema, type TableSpec } from './schema.js';

// Tests run from packages/loom/dist/src/config; the files live at the repository root.
const root = new URL('../../../../../', import.meta.url);
const exampleText = readFileSync(new URL('loom.example.toml', root), 'utf8');
const docsText = readFileSync(new URL('docs/CONFIGURATION.md', root), 'utf8');

/** Keys that must not be active in the example: each would earn a warning. */
const warnedKeys = new Set(['auth.tokens', 'output.kafka_brokers', 'output.kafka_topic']);

function leafKeys(spec: TableSpec, prefix = ''): string[] {
  return Object.entries(spec).flatMap(([name, kind]) => (typeof kind === 'object' ? leafKeys(kind, `${prefix}${name}.`) : [prefix + name]));
}

function writtenKeys(table: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(table).flatMap(([name, value]) => (isTable(value) ? writtenKeys(value, `${prefix}${name}.`) : [prefix + name]));
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
});
