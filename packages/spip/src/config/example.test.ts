import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSpipConfigText, schema } from './load.js';

const examplePath = fileURLToPath(new URL('../../../../../spip.example.toml', import.meta.url));

test('spip.example.toml is valid and loads without warnings', () => {
  const { config, warnings } = loadSpipConfigText(readFileSync(examplePath, 'utf8'), examplePath, {});
  assert.deepEqual(warnings, []);
  assert.equal(config.name, 'spip-agent');
  assert.deepEqual(config.ports, [8080]);
});

test('spip.example.toml mentions every key', () => {
  const text = readFileSync(examplePath, 'utf8');
  const keys = (spec: object, prefix = ''): string[] => Object.entries(spec).flatMap(([name, kind]) => (typeof kind === 'object' ? keys(kind as object, `${prefix}${name}.`) : [`${prefix}${name}`]));
  for (const key of keys(schema)) {
    const leaf = key.slice(key.lastIndexOf('.') + 1);
    assert.match(text, new RegExp(`^#? ?${leaf} =`, 'm'), `${key} is not in spip.example.toml`);
  }
});
