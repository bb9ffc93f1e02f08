/** The first value of a field, matching its name case-insensitively. */
export function firstHeader(headers: readonly { name: string; value: string }[], lowerName: string): string | undefined {
  for (const header of headers) if (header.name.toLowerCase() === lowerName) return header.value;
  return undefined;
}
