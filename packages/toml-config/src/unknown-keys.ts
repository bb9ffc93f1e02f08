import { closest } from './suggest.js';
import { isTable, type TomlTable } from './values.js';

/** What a key holds in TOML. `free-table` is a table with arbitrary keys (such as tokens). */
export type Kind = 'string' | 'boolean' | 'integer' | 'string-array' | 'integer-array' | 'integer-or-string-array' | 'free-table';

export interface TableSpec {
  /**
   * A nested table, a value, or (a one-element array) tables with that spec: written as an
   * array of tables ([[name]]) or as a table of named tables ([name.<id>]).
   */
  readonly [key: string]: Kind | TableSpec | readonly [TableSpec];
}

export interface UnknownKeyOptions {
  /**
   * For tables whose stray keys may be secrets: returns the warning to use instead of one
   * that names the key.
   */
  hiddenName?: (tablePrefix: string) => string | undefined;
}

/**
 * Warnings for keys the program does not read. They are never errors: configs written for
 * other versions must keep starting. The suggestion catches typos (a sibling within a few
 * keystrokes) and keys put in the wrong table (the same name elsewhere).
 */
export function unknownKeyWarnings(root: TomlTable, schema: TableSpec, options: UnknownKeyOptions = {}): string[] {
  const warnings: string[] = [];
  const leaves = allKeys(schema, '');
  const walk = (table: TomlTable, spec: TableSpec, prefix: string): void => {
    for (const [name, value] of Object.entries(table)) {
      const key = prefix + name;
      const known = Object.hasOwn(spec, name) ? spec[name] : undefined;
      if (known === undefined) {
        const suggestion = suggest(name, spec, prefix, leaves);
        if (suggestion !== undefined) warnings.push(`unknown key ${JSON.stringify(key)} (ignored; did you mean ${JSON.stringify(suggestion)}?)`);
        else if (options.hiddenName?.(prefix) !== undefined) warnings.push(options.hiddenName(prefix) as string);
        else warnings.push(`unknown key ${JSON.stringify(key)} (ignored)`);
      } else if (Array.isArray(known) && Array.isArray(value)) {
        value.forEach((item, i) => {
          if (isTable(item)) walk(item, known[0] as TableSpec, `${key}[${i}].`);
        });
      } else if (Array.isArray(known) && isTable(value)) {
        for (const [id, item] of Object.entries(value)) if (isTable(item)) walk(item, known[0] as TableSpec, `${key}.${id}.`);
      } else if (typeof known === 'object' && !Array.isArray(known) && isTable(value)) {
        walk(value, known as TableSpec, `${key}.`);
      }
    }
  };
  walk(root, schema, '');
  return warnings;
}

function suggest(name: string, siblings: TableSpec, prefix: string, all: string[]): string | undefined {
  const sibling = closest(name, Object.keys(siblings));
  if (sibling !== undefined) return prefix + sibling;
  const lower = name.toLowerCase();
  return all.find((key) => key.slice(key.lastIndexOf('.') + 1).toLowerCase() === lower);
}

function allKeys(spec: TableSpec, prefix: string): string[] {
  return Object.entries(spec).flatMap(([name, kind]) =>
    typeof kind !== 'object' ? [prefix + name]
      : [prefix + name, ...allKeys(Array.isArray(kind) ? (kind[0] as TableSpec) : (kind as TableSpec), `${prefix}${name}.`)],
  );
}
