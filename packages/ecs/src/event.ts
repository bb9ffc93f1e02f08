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

/**
 * getPath for one fixed path, for code that reads the same fields of every event: the same
 * answer for every event, without the string slicing that makes getPath slow on a hot path
 * (each slice is a new string that every property lookup has to hash and intern first).
 */
export function pathReader(path: string): (event: EcsEvent) => JsonValue | undefined {
  const segments = path.split('.');
  // At depth i getPath first tries the rest of the path as one literal key, then descends by
  // the next segment; both strings are made here once.
  const rests = segments.map((_, i) => segments.slice(i).join('.'));
  const last = segments.length - 1;
  if (last === 0) return (event) => (Object.hasOwn(event, path) ? event[path] : undefined);
  return (event) => {
    let object = event;
    for (let i = 0; ; i++) {
      const rest = rests[i] as string;
      if (Object.hasOwn(object, rest)) return object[rest];
      if (i === last) return undefined;
      const head = segments[i] as string;
      const child = Object.hasOwn(object, head) ? object[head] : undefined;
      if (!isPlainObject(child)) return undefined;
      object = child;
    }
  };
}
