import { resolve } from 'node:path';
import { parseListenAddress } from '../net/listen.js';
import type { TomlValues } from './schema.js';

export interface IntegerRule {
  fallback: number;
  /** What a written 0 means: the default (the earlier version's rule), a value of its own, or a mistake. */
  zero: 'default' | 'value' | 'error';
  /** Negative values: an error, or a value of their own (e.g. "no limit"). */
  negative: 'error' | 'value';
  max?: number;
  /** Wording of the earlier version, kept for messages people may search for. */
  negativeMessage?: string;
}

/** Reads one key at a time, applying its default and range rule; problems go to the lists. */
export class Reader {
  readonly errors: string[];
  constructor(readonly values: TomlValues, readonly warnings: string[]) {
    this.errors = values.errors;
  }

  int(key: string, rule: IntegerRule): number {
    return integer(this.values, this.errors, key, rule);
  }

  /** A path: relative ones resolve against the working directory, as in earlier versions. */
  path(key: string): string {
    const value = this.values.string(key) ?? '';
    return value === '' ? '' : resolve(value);
  }

  string(key: string, fallback = ''): string {
    const value = this.values.string(key);
    return value === undefined || value === '' ? fallback : value;
  }

  bool(key: string, fallback: boolean): boolean {
    return this.values.boolean(key) ?? fallback;
  }

  /** Case-insensitive; anything else falls back with a warning (the earlier version fell back silently). */
  choice<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.values.string(key);
    if (value === undefined || value === '') return fallback;
    const match = allowed.find((item) => item === value.toLowerCase());
    if (match !== undefined) return match;
    this.warnings.push(`${key}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}; using ${JSON.stringify(fallback)}`);
    return fallback;
  }
}

export function integer(v: TomlValues, errors: string[], key: string, rule: IntegerRule): number {
  const value = v.integer(key);
  if (value === undefined) return rule.fallback;
  if (value === 0) {
    if (rule.zero === 'default') return rule.fallback;
    if (rule.zero === 'value') return 0;
    errors.push(`${key}: must be > 0, got 0`);
    return rule.fallback;
  }
  if (value < 0 && rule.negative === 'error') {
    const leaf = key.slice(key.lastIndexOf('.') + 1);
    if (rule.negativeMessage === undefined) errors.push(`${key}: must be ${rule.zero === 'value' ? '>= 0' : '> 0'}, got ${value}`);
    else if (rule.negativeMessage.includes(leaf)) errors.push(`${rule.negativeMessage}, got ${value}`);
    else errors.push(`${rule.negativeMessage}, got ${leaf} = ${value}`);
    return rule.fallback;
  }
  if (rule.max !== undefined && value > rule.max) {
    errors.push(`${key}: must be at most ${rule.max}, got ${value}`);
    return rule.fallback;
  }
  return value;
}

export function address(read: Reader, key: string, fallback: string): string {
  const value = read.string(key);
  if (value === '') return fallback;
  if (parseListenAddress(value) === undefined || /\s/.test(value)) {
    read.errors.push(`${key}: ${JSON.stringify(value)} is not host:port (examples ":8443", "127.0.0.1:8080", "[::1]:8080")`);
    return fallback;
  }
  return value;
}
