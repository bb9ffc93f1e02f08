import { readdir } from 'node:fs/promises';
import { join, parse, sep } from 'node:path';

const magic = /[*?[]/;

export function hasMagic(pattern: string): boolean {
  return magic.test(pattern);
}

/**
 * The paths matching an absolute pattern whose components may use `*`, `?` and `[...]`
 * (`[!...]` negates). Names starting with a dot match only a pattern that starts with one.
 * A plain path is returned as it is, whether or not it exists (the caller stats it anyway).
 */
export async function expand(pattern: string): Promise<string[]> {
  if (!hasMagic(pattern)) return [pattern];
  const { root } = parse(pattern);
  let bases = [root];
  for (const part of pattern.slice(root.length).split(sep)) {
    if (part === '') continue;
    if (!hasMagic(part)) {
      bases = bases.map((base) => join(base, part));
      continue;
    }
    const matcher = componentRegExp(part);
    const next: string[] = [];
    for (const base of bases) {
      let names: string[];
      try {
        names = await readdir(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (matcher.test(name)) next.push(join(base, name));
      }
    }
    bases = next;
  }
  return bases;
}

function componentRegExp(part: string): RegExp {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = part.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = part.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
