/**
 * Reading values from a parsed TOML document (smol-toml with integers as BigInt) with
 * errors that name the dotted key, collected rather than thrown, so that a config with
 * several mistakes gets them all reported at once.
 */

export type TomlTable = Record<string, unknown>;

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** How a value reads in an error message: its TOML type, and the value itself when that helps. */
export function describeValue(value: unknown, showValue = true): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return showValue ? `string ${JSON.stringify(shown)}` : 'string';
  }
  if (typeof value === 'bigint') return showValue ? `integer ${value}` : 'integer';
  if (typeof value === 'number') return showValue ? `float ${value}` : 'float';
  if (typeof value === 'boolean') return showValue ? `boolean ${value}` : 'boolean';
  if (value instanceof Date) return 'datetime';
  if (Array.isArray(value)) return 'array';
  return 'table';
}

/**
 * Typed, error-collecting access to a parsed TOML document (parsed with integers as
 * BigInt, so 5 and 5.0 stay distinguishable). A value of the wrong type is reported
 * once, naming its dotted key, and then reads as absent so the default applies and
 * later checks do not pile up follow-on errors.
 */
export class TomlValues {
  readonly errors: string[] = [];
  private readonly reportedContainers = new Set<string>();

  /** @param secretKeys keys whose values must never appear in a message (tokens, passwords) */
  constructor(
    private readonly root: TomlTable,
    private readonly secretKeys: ReadonlySet<string> = new Set(),
  ) {}

  /** True when the key is written in the file (whatever its type). */
  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  string(key: string): string | undefined {
    const value = this.lookup(key);
    if (value === undefined || typeof value === 'string') return value;
    return this.wrongType(key, 'a string', value);
  }

  boolean(key: string): boolean | undefined {
    const value = this.lookup(key);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.wrongType(key, 'a boolean (true or false)', value);
  }

  integer(key: string): number | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (typeof value === 'bigint') {
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        this.errors.push(`${key}: ${value} is too large`);
        return undefined;
      }
      return Number(value);
    }
    // 2e6 is a TOML float but an exact whole number; accepting it costs nothing.
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    return this.wrongType(key, 'an integer', value);
  }

  stringArray(key: string): string[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
    return this.wrongType(key, 'an array of strings', value);
  }

  integerArray(key: string): number[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === 'bigint')) return value.map((item) => Number(item));
    return this.wrongType(key, 'an array of integers', value);
  }

  /** An array whose items are integers or strings (e.g. ports and "from-to" port ranges). */
  integerOrStringArray(key: string): (number | string)[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'bigint')) {
      return value.map((item) => (typeof item === 'bigint' ? Number(item) : (item as string)));
    }
    return this.wrongType(key, 'an array of integers or strings', value);
  }

  /** An array of tables ([[name]] in TOML). */
  tableArray(key: string): TomlTable[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every(isTable)) return value as TomlTable[];
    return this.wrongType(key, 'an array of tables ([[' + key + ']])', value);
  }

  /**
   * Tables written either as an array of tables ([[name]], ids undefined) or as a table of
   * named tables ([name.<id>], ids = the names).
   */
  namedTables(key: string): { id: string | undefined; table: TomlTable }[] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every(isTable)) return (value as TomlTable[]).map((table) => ({ id: undefined, table }));
    if (isTable(value) && Object.values(value).every(isTable)) return Object.entries(value).map(([id, table]) => ({ id, table: table as TomlTable }));
    return this.wrongType(key, `tables ([${key}.<name>] sections or [[${key}]] entries)`, value);
  }

  /** Entries of a free-form table; keys are returned as written. */
  table(key: string): [string, unknown][] | undefined {
    const value = this.lookup(key);
    if (value === undefined) return undefined;
    if (isTable(value)) return Object.entries(value);
    return this.wrongType(key, 'a table', value);
  }

  private wrongType(key: string, expected: string, value: unknown): undefined {
    this.errors.push(`${key}: expected ${expected}, got ${describeValue(value, !this.secretKeys.has(key))}`);
    return undefined;
  }

  private lookup(key: string): unknown {
    const parts = key.split('.');
    let current: unknown = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (!isTable(current)) {
        this.reportContainer(parts.slice(0, i).join('.'), current);
        return undefined;
      }
      const part = parts[i] as string;
      current = Object.hasOwn(current, part) ? current[part] : undefined;
      if (current === undefined) return undefined;
    }
    return current;
  }

  private reportContainer(key: string, value: unknown): void {
    if (this.reportedContainers.has(key)) return;
    this.reportedContainers.add(key);
    this.errors.push(`${key}: expected a table, got ${describeValue(value)}`);
  }
}

