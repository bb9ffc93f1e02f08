// The threat-intel list of the enriched benchmarks: 100,000 pseudo-random /24 networks in the
// plain netset format. Seeded, so every run and every benchmark (end-to-end and per stage)
// loads the same list; about 0.7 % of the generated source addresses fall into one of them.
export function intelListText(count = 100_000) {
  const lines = [];
  let state = 0x1badb002;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < count; i++) {
    const n = next();
    lines.push(`${(n >>> 24) % 223 + 1}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0/24`);
  }
  return `${lines.join('\n')}\n`;
}

/** The [[enrichment.intel]] table for that list, as the enriched scenarios configure it. */
export const INTEL_LIST = { name: 'bench-blocklist', category: 'scanner', confidence: 80 };
