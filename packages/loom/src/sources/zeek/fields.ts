/**
 * Reads a Zeek record field by field and remembers which fields were used, so that every
 * other field can be kept under `zeek.<log>.*`. A field whose value has an unexpected type
 * is not used: it is kept as it was rather than lost.
 */
export class FieldReader {
  private readonly used = new Set<string>();
  constructor(readonly record: Readonly<Record<string, unknown>>) {}

  string(name: string): string | undefined {
    const value = this.record[name];
    if (typeof value !== 'string' || value === '') return undefined;
    this.used.add(name);
    return value;
  }

  number(name: string): number | undefined {
    const value = this.record[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    this.used.add(name);
    return value;
  }

  /** A non-negative integer (counts, ports, lengths). */
  count(name: string): number | undefined {
    const value = this.record[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return undefined;
    this.used.add(name);
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.record[name];
    if (typeof value !== 'boolean') return undefined;
    this.used.add(name);
    return value;
  }

  strings(name: string): string[] | undefined {
    const value = this.record[name];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return undefined;
    this.used.add(name);
    return value as string[];
  }

  numbers(name: string): number[] | undefined {
    const value = this.record[name];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'number')) return undefined;
    this.used.add(name);
    return value as number[];
  }

  /** Marks a field as represented elsewhere without reading it. */
  use(name: string): void {
    this.used.add(name);
  }

  /** Unused fields with a value, in the record's order. */
  rest(): Record<string, unknown> | undefined {
    let rest: Record<string, unknown> | undefined;
    for (const [key, value] of Object.entries(this.record)) {
      if (this.used.has(key) || value === null) continue;
      (rest ??= {})[key] = value;
    }
    return rest;
  }
}

/** Sets a dotted ECS path, creating the objects on the way. */
export function put(target: Record<string, unknown>, path: string, value: unknown): void {
  if (value === undefined) return;
  const parts = path.split('.');
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string;
    let next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      next = {};
      node[key] = next;
    }
    node = next as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Zeek intervals are seconds; ECS `event.duration` is nanoseconds. */
export function nanoseconds(seconds: number | undefined): number | undefined {
  return seconds === undefined || seconds < 0 ? undefined : Math.round(seconds * 1e9);
}
