export interface HostAndPort {
  host: string | undefined;
  port: number | undefined;
}

/**
 * Splits a Host header or an authority ("example.com:8080", "[2001:db8::1]:443") into name and
 * port. A bracketed IPv6 literal loses its brackets; a bare address with several colons is
 * taken whole, never cut at its last colon. The port is kept only when it is 1–65535; a value
 * that does not look like host[:port] at all is returned whole as the host, so nothing the
 * client sent is lost.
 */
export function parseHost(value: string): HostAndPort {
  const text = value.trim();
  if (text === '') return { host: undefined, port: undefined };
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { host: text, port: undefined };
    const inner = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === '') return { host: inner || undefined, port: undefined };
    if (rest.startsWith(':') && /^\d*$/.test(rest.slice(1))) return { host: inner || undefined, port: parsePort(rest.slice(1)) };
    return { host: text, port: undefined };
  }
  const colon = text.indexOf(':');
  if (colon < 0 || colon !== text.lastIndexOf(':')) return { host: text, port: undefined };
  const digits = text.slice(colon + 1);
  if (!/^\d*$/.test(digits)) return { host: text, port: undefined };
  return { host: text.slice(0, colon) || undefined, port: parsePort(digits) };
}

function parsePort(digits: string): number | undefined {
  if (digits === '' || digits.length > 5) return undefined;
  const port = Number(digits);
  return port >= 1 && port <= 65535 ? port : undefined;
}
