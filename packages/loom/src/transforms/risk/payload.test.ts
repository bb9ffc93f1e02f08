import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPath, isPlainObject, type EcsEvent } from '@loom/ecs';
import { EXPLOIT_PATTERNS, MAX_SCANNED_CHARS, PAYLOAD_FIELDS, exploitPatterns } from './index.js';

/** The definition, spelled out the slow way: a pattern is found when one of its needles is in a lower-cased text. */
function reference(event: Record<string, unknown>): string[] {
  const texts: string[] = [];
  for (const path of PAYLOAD_FIELDS) {
    const value = getPath(event as EcsEvent, path);
    if (typeof value === 'string' && value !== '') texts.push(value);
  }
  const headers = getPath(event as EcsEvent, 'http.request.headers');
  if (isPlainObject(headers)) {
    for (const value of Object.values(headers).slice(0, 100)) {
      if (typeof value === 'string') texts.push(value);
      else if (Array.isArray(value)) for (const item of value.slice(0, 100)) if (typeof item === 'string') texts.push(item);
    }
  }
  const lowered = texts.map((text) => text.slice(0, MAX_SCANNED_CHARS).toLowerCase());
  return EXPLOIT_PATTERNS.filter((pattern) => pattern.needles.some((needle) => lowered.some((text) => text.includes(needle)))).map((pattern) => pattern.id);
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('exploitPatterns finds exactly the patterns whose needles occur, for texts built from needle pieces', () => {
  const rand = prng(7);
  const needles = EXPLOIT_PATTERNS.flatMap((pattern) => pattern.needles);
  // Pieces that make near misses, overlaps, upper case and the characters whose lower case is ASCII.
  const pieces = [...needles, ...needles.map((n) => n.toUpperCase()), ...needles.map((n) => n.slice(0, -1)), ...needles.map((n) => n.slice(1)),
    'K', 'İ', 'ß', 'é', '😀', '\ufffd', ' ', '/', '.', '%', '$', '{', 'a', 'Mozilla/5.0 (X11; Linux x86_64)', 'GET / HTTP/1.1\r\n'];
  const text = (): string => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const event: Record<string, unknown> = {};
    const roll = rand();
    if (roll < 0.3) event.url = { original: text(), full: text() };
    else if (roll < 0.5) event['user_agent.original'] = text();
    else if (roll < 0.7) event.http = { request: { headers: { a: text(), b: [text(), 5, text()] }, body: { content: text() }, referrer: text() } };
    else event.event = { summary: text() };
    assert.deepEqual(exploitPatterns(event), reference(event), JSON.stringify(event));
  }
});

test('only the scanned prefix of a long text counts, also for a needle across its end', () => {
  const needle = '/etc/passwd';
  for (const at of [MAX_SCANNED_CHARS - needle.length, MAX_SCANNED_CHARS - needle.length + 1, MAX_SCANNED_CHARS]) {
    const event = { event: { summary: `${'a'.repeat(at)}${needle}` } };
    assert.deepEqual(exploitPatterns(event), reference(event), `needle at ${at}`);
  }
  assert.deepEqual(exploitPatterns({ event: { summary: `${'a'.repeat(MAX_SCANNED_CHARS - 11)}/ETC/PASSWD` } }), ['passwd']);
});
