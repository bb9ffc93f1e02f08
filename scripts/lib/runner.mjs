// What the benchmark runner (bench/run.mjs) and the fuzz runner (scripts/fuzz.mjs) share: the
// repository root, options read from the environment, and plain-text tables.

/** The repository root, without a trailing slash. */
export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** A positive integer from the environment variable `name`, or `fallback` when unset; exits with status 2 on anything else. */
export function positiveIntFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

/** One of `allowed` from the environment variable `name`, the first when unset; exits with status 2 on anything else. */
export function oneOfFromEnv(name, allowed) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return allowed[0];
  if (!allowed.includes(raw)) {
    console.error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    process.exit(2);
  }
  return raw;
}

/**
 * A table as lines of text: the header, a rule, then the rows, columns two spaces apart, the
 * columns in `leftAligned` padded on the right and the others on the left.
 */
export function tableLines(header, rows, leftAligned = [0]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (leftAligned.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
