/** Any value a JSON document can hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An ECS event as received: a JSON object whose nested objects use ECS field sets. */
export type EcsEvent = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a dotted ECS path ("source.ip") from nested objects, or from a literal
 * dotted key at any level ("source.ip" as one key), as ECS allows both forms.
 */
export function getPath(event: EcsEvent, path: string): JsonValue | undefined {
  if (Object.hasOwn(event, path)) return event[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const head = path.slice(0, dot);
  const child = Object.hasOwn(event, head) ? event[head] : undefined;
  return isPlainObject(child) ? getPath(child, path.slice(dot + 1)) : undefined;
}
