import { isPlainObject, pathReader, type EcsEvent } from '@loom/ecs';

/**
 * Signs of an exploit attempt in what a client sent. Each pattern is a handful of
 * lower-case substrings: matching is `indexOf` over lower-cased text, linear in the input
 * whatever it holds, so crafted payloads cannot make scoring slow the way backtracking
 * regular expressions can. URL-encoded spellings that scanners commonly send are listed
 * explicitly rather than decoding, which would need a second copy of every payload.
 */
export interface PayloadPattern {
  /** Appears in the reason as `payload:<id>`. */
  id: string;
  needles: readonly string[];
}

export const EXPLOIT_PATTERNS: readonly PayloadPattern[] = [
  { id: 'traversal', needles: ['../', '..\\', '..%2f', '%2e%2e/', '%2e%2e%2f', '..%5c', '%2e%2e%5c', '%252e%252e', '..%c0%af'] },
  { id: 'passwd', needles: ['/etc/passwd', '/etc/shadow'] },
  { id: 'jndi', needles: ['${jndi:', '${${', '%24%7bjndi', '$%7bjndi'] },
  {
    id: 'shell',
    needles: [';wget', '|wget', '`wget', '$(wget', ';curl', '|curl', '`curl', '$(curl', '%3bwget', '%7cwget', '%3bcurl', '%7ccurl', '|sh', '| sh', '%7csh', '/bin/sh', '/bin/bash', 'chmod +x', 'chmod 777', 'busybox'],
  },
  { id: 'cgi_bin', needles: ['/cgi-bin/'] },
  { id: 'phpunit', needles: ['eval-stdin.php'] },
  { id: 'dotenv', needles: ['/.env'] },
  { id: 'dotgit', needles: ['/.git/'] },
  { id: 'shellshock', needles: ['() {'] },
  { id: 'php_code', needles: ['php://input', 'allow_url_include', 'auto_prepend_file', 'call_user_func_array', 'invokefunction'] },
  { id: 'spring4shell', needles: ['class.module.classloader'] },
  { id: 'mozi', needles: ['mozi.m', 'mozi.a'] },
];

/** Text fields a client controls; http.request.headers values are scanned too. */
export const PAYLOAD_FIELDS: readonly string[] = ['url.original', 'url.full', 'http.request.body.content', 'event.summary', 'user_agent.original', 'http.request.referrer'];

/** Only this much of each field is scanned, bounding the cost of one event. */
export const MAX_SCANNED_CHARS = 256 * 1024;

const MAX_HEADERS = 100;

const payloadReaders = PAYLOAD_FIELDS.map(pathReader);
const readUserAgent = payloadReaders[PAYLOAD_FIELDS.indexOf('user_agent.original')];
const readHeaders = pathReader('http.request.headers');

/** Bit i of a mask stands for EXPLOIT_PATTERNS[i]. */
const bitOfNeedle = new Map<string, number>(EXPLOIT_PATTERNS.flatMap((pattern, i) => pattern.needles.map((needle) => [needle, 1 << i] as [string, number])));
const ALL_PATTERNS = (1 << EXPLOIT_PATTERNS.length) - 1;
if (EXPLOIT_PATTERNS.length > 30) throw new Error('exploit pattern masks hold at most 30 patterns');

const alternation = [...bitOfNeedle.keys()].map((needle) => needle.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|');
/**
 * All needles in one alternation of escaped literals, searched in one native pass per text.
 * The lookahead matches without consuming, so a needle that starts inside another one's match
 * is still found; with literals only, the cost stays linear in the text times the needles.
 */
const anyNeedle = new RegExp(`(?=(${alternation}))`, 'g');
/**
 * The same needles without the lookahead: whether a text holds any at all. Most texts hold
 * none, and this form lets the engine skip ahead through a text instead of trying every needle
 * at every position.
 */
const someNeedle = new RegExp(alternation);

/** The patterns in one text, as a mask. */
function patternsIn(raw: string): number {
  const text = (raw.length > MAX_SCANNED_CHARS ? raw.slice(0, MAX_SCANNED_CHARS) : raw).toLowerCase();
  if (!someNeedle.test(text)) return 0;
  let mask = 0;
  anyNeedle.lastIndex = 0;
  for (let match = anyNeedle.exec(text); match !== null; match = anyNeedle.exec(text)) {
    mask |= bitOfNeedle.get(match[1] as string) as number;
    if (mask === ALL_PATTERNS) break;
    anyNeedle.lastIndex = match.index + 1;
  }
  return mask;
}

/** The ids of the patterns found in the event, in EXPLOIT_PATTERNS order. */
export function exploitPatterns(event: Record<string, unknown>): string[] {
  let mask = 0;
  // The User-Agent header usually repeats user_agent.original: a text already scanned is not scanned again.
  let userAgent: string | undefined;
  for (const read of payloadReaders) {
    const value = read(event as EcsEvent);
    if (typeof value !== 'string' || value === '') continue;
    mask |= patternsIn(value);
    if (read === readUserAgent) userAgent = value;
  }
  const headers = readHeaders(event as EcsEvent);
  if (isPlainObject(headers)) {
    let count = 0;
    for (const value of Object.values(headers)) {
      if (++count > MAX_HEADERS) break;
      if (typeof value === 'string') {
        if (value !== userAgent) mask |= patternsIn(value);
      } else if (Array.isArray(value)) {
        for (const item of value.slice(0, MAX_HEADERS)) if (typeof item === 'string') mask |= patternsIn(item);
      }
    }
  }
  if (mask === 0) return [];
  return EXPLOIT_PATTERNS.filter((_, i) => (mask & (1 << i)) !== 0).map((pattern) => pattern.id);
}
