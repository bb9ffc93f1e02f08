import net from 'node:net';
import { parseGoDuration } from '../config/duration.js';

/** What a prompt made of one line: the value, or why it has to be asked again. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (error: string): Parsed<never> => ({ ok: false, error });

/** Control characters would end up in events, HTTP headers or TOML strings. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export function parseYesNo(text: string): Parsed<boolean> {
  const answer = text.trim().toLowerCase();
  if (answer === 'y' || answer === 'yes') return ok(true);
  if (answer === 'n' || answer === 'no') return ok(false);
  return fail('please answer y or n');
}

export function parseName(text: string): Parsed<string> {
  const name = text.trim();
  if (name === '') return fail('a name is required');
  if (hasControlCharacter(name)) return fail('the name must not contain control characters');
  return ok(name);
}

/** An IP address to listen on; brackets around IPv6 are tolerated because people copy them from URLs. */
export function parseListenAddress(text: string): Parsed<string> {
  const address = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(address) === 0) return fail(`"${address}" is not an IP address (examples: 0.0.0.0, ::, 192.0.2.10)`);
  return ok(address);
}

export function parsePort(text: string): Parsed<number> {
  const value = text.trim();
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) return fail(`"${value}" is not a TCP port (1-65535)`);
  return ok(port);
}

/** A port, or an inclusive range written "from-to" as `ports` in the config takes it. */
export type PortItem = number | { from: number; to: number };

// The config loader refuses wider ranges, so refuse them here rather than write a config that will not load.
const MAX_RANGE_SPAN = 4096;

/** "2222, 8000-8100" → [2222, {from: 8000, to: 8100}]; empty means none. */
export function parsePortList(text: string): Parsed<PortItem[]> {
  const items: PortItem[] = [];
  for (const part of text.split(/[\s,]+/).filter((p) => p !== '')) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range === null) {
      const port = parsePort(part);
      if (!port.ok) return fail(`${port.error}; write ports and ranges like 2222,8000-8100`);
      items.push(port.value);
      continue;
    }
    const from = parsePort(range[1] as string);
    const to = parsePort(range[2] as string);
    if (!from.ok) return from;
    if (!to.ok) return to;
    if (from.value > to.value) return fail(`range ${part} goes downwards`);
    if (to.value - from.value > MAX_RANGE_SPAN) return fail(`range ${part} spans more than ${MAX_RANGE_SPAN} ports`);
    items.push(from.value === to.value ? from.value : { from: from.value, to: to.value });
  }
  return ok(items);
}

/** Every port a list names, sorted and deduplicated. */
export function expandPorts(items: readonly PortItem[]): number[] {
  const ports = new Set<number>();
  for (const item of items) {
    if (typeof item === 'number') ports.add(item);
    else for (let p = item.from; p <= item.to; p++) ports.add(p);
  }
  return [...ports].sort((a, b) => a - b);
}

/** Sorted ports folded back into the fewest contiguous ranges, for firewall rules. */
export function collapsePorts(ports: readonly number[]): PortItem[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const items: PortItem[] = [];
  let start: number | undefined;
  let end = 0;
  for (const port of sorted) {
    if (start !== undefined && port === end + 1) {
      end = port;
      continue;
    }
    if (start !== undefined) items.push(start === end ? start : { from: start, to: end });
    start = end = port;
  }
  if (start !== undefined) items.push(start === end ? start : { from: start, to: end });
  return items;
}

export function parseLoomUrl(text: string): Parsed<string> {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`"${value}" is not a URL (example: https://loom.example.com/api/v1/ingest)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('the Loom URL must start with https:// or http://');
  // The sensor posts to the URL verbatim, so keep what was typed rather than URL's normalised form.
  return ok(value);
}

/** Sent as the X-Spip-ID header, so it must be a valid header value; spaces would not survive tokenising on Loom's side. */
export function parseSensorId(text: string): Parsed<string> {
  const id = text.trim();
  if (!/^[\x21-\x7e]+$/.test(id)) return fail('the sensor id must be printable ASCII without spaces');
  return ok(id);
}

/** Empty means "no token"; otherwise it must fit a Bearer header and an env file line unquoted or single-quoted. */
export function parseToken(text: string): Parsed<string> {
  const token = text.trim();
  if (token === '') return ok('');
  if (!/^[\x21-\x7e]+$/.test(token) || token.includes("'")) return fail("the token must be printable ASCII without spaces or '");
  return ok(token);
}

export function parseBatchSize(text: string): Parsed<number> {
  const value = text.trim();
  const size = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(size >= 1 && size <= 1_000_000)) return fail(`"${value}" is not a batch size (1-1000000 events)`);
  return ok(size);
}

/** A Go duration string ("10s", "1m30s"), as `loom.flush_interval` has always been written. */
export function parseFlushInterval(text: string): Parsed<string> {
  const value = text.trim();
  const ms = parseGoDuration(value);
  if (ms === undefined || ms <= 0) return fail(`"${value}" is not a positive duration (examples: 10s, 500ms, 1m30s)`);
  return ok(value);
}

export function parsePath(text: string): Parsed<string> {
  const path = text.trim();
  if (path === '') return fail('a path is required');
  if (hasControlCharacter(path)) return fail('the path must not contain control characters');
  return ok(path);
}

export function parseOptionalPath(text: string): Parsed<string> {
  return text.trim() === '' ? ok('') : parsePath(text);
}

export type TlsMode = 'none' | 'generate-now' | 'self-signed-at-start' | 'files';

export const tlsChoices: readonly { mode: TlsMode; label: string }[] = [
  { mode: 'none', label: 'none (TLS clients are still fingerprinted from their ClientHello)' },
  { mode: 'generate-now', label: 'self-signed certificate generated now with openssl, stored next to the config' },
  { mode: 'self-signed-at-start', label: 'self-signed certificate generated at every start (nothing stored)' },
  { mode: 'files', label: 'existing certificate and key files' },
];

export function parseTlsChoice(text: string): Parsed<TlsMode> {
  const choice = /^\d$/.test(text.trim()) ? tlsChoices[Number(text.trim()) - 1] : undefined;
  return choice === undefined ? fail(`choose 1-${tlsChoices.length}`) : ok(choice.mode);
}
