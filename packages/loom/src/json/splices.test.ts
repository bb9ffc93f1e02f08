import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialiseBatch } from '../sources/http-ingest/decode.js';
import { JsonSplices, jsonPairs, writeRendered } from './splices.js';

type Json = Record<string, unknown>;

const geo = { country_iso_code: 'SE', city_name: 'Linköping', location: { lat: 58.4167, lon: 15.6167 } };
const as = { number: 64500, organization: { name: 'Example "AS" \\ Ünïcödé' } };

/** An address object as the enricher leaves it: `{ ...address, geo, as }` or a placeholder in their place. */
interface Case {
  name: string;
  /** Builds the event; `place(address)` puts geo and as into an address object. */
  event: (place: (address: Json) => void) => Json;
}

const cases: Case[] = [
  { name: 'one address, keys after it', event: (place) => { const source = { ip: '89.160.20.112', port: 40000 }; place(source); return { '@timestamp': 'x', source, url: { path: '/' } }; } },
  { name: 'source and destination', event: (place) => { const destination = { ip: '1.2.3.4' }; const source = { ip: '5.6.7.8' }; place(destination); place(source); return { destination, source }; } },
  { name: 'keys added after the placeholder', event: (place) => { const source: Json = { ip: '5.6.7.8' }; place(source); source.domain = 'example.org'; return { source, tags: ['a'] }; } },
  { name: 'non-ASCII text before and after', event: (place) => { const source = { ip: '5.6.7.8', note: 'ü\u2028😀' }; place(source); return { a: '\ufffd', source, z: 'é' }; } },
  { name: 'nested deeply', event: (place) => { const inner = { ip: '::1' }; place(inner); return { a: { b: [{ c: inner }] } }; } },
];

/** The text the event would have with real objects: what renderJson must reproduce. */
function expected(c: Case): string {
  return JSON.stringify(c.event((address) => Object.assign(address, { geo, as })));
}

function rendered(c: Case, fragment = jsonPairs({ geo, as }) as Uint8Array): { text: string; splices: JsonSplices; event: Json } {
  const splices = new JsonSplices();
  const event = c.event((address) => splices.insert(address, 0, fragment));
  const line = splices.render(event, 0);
  const out = Buffer.alloc(line.byteLength + 16, 0xff);
  const end = writeRendered(line, out, 8);
  assert.equal(end, 8 + line.byteLength, 'byteLength is exact');
  assert.ok(out.subarray(0, 8).every((b) => b === 0xff) && out.subarray(end).every((b) => b === 0xff), 'nothing written outside');
  return { text: out.subarray(8, end).toString('utf8'), splices, event };
}

test('spliced text is byte for byte what serialising the objects gives, keys in order', () => {
  for (const c of cases) assert.equal(rendered(c).text, expected(c), c.name);
});

test('a fragment shorter than its placeholder, and the same fragment twice in one event', () => {
  const short = jsonPairs({ as: { number: 1 } }) as Uint8Array;
  const splices = new JsonSplices();
  const source = { ip: '1.1.1.1' };
  const destination = { ip: '1.1.1.1' };
  splices.insert(source, 3, short);
  splices.insert(destination, 3, short);
  const event = { source, destination };
  const line = splices.render(event, 3);
  const out = Buffer.alloc(line.byteLength);
  writeRendered(line, out, 0);
  assert.equal(out.toString(), '{"source":{"ip":"1.1.1.1","as":{"number":1}},"destination":{"ip":"1.1.1.1","as":{"number":1}}}');
});

test('events without placeholders in a batch with some are serialised as they are', () => {
  const splices = new JsonSplices();
  const source = { ip: '5.6.7.8' };
  splices.insert(source, 1, jsonPairs({ geo }) as Uint8Array);
  const result = serialiseBatch([{ a: 1 }, { source }, { b: 'ü' }], splices);
  assert.ok(result.ok);
  assert.equal(Buffer.from(result.ndjson).toString(), `{"a":1}\n{"source":{"ip":"5.6.7.8","geo":${JSON.stringify(geo)}}}\n{"b":"ü"}\n`);
});

test('jsonPairs: the pairs without braces, undefined values left out, nothing for an empty object', () => {
  assert.equal(Buffer.from(jsonPairs({ geo: undefined, as: { number: 5 } }) as Uint8Array).toString(), '"as":{"number":5}');
  assert.equal(jsonPairs({ geo: undefined }), undefined);
});

test('the placeholder key is random, and a sender who writes it gets the ordinary serialisation', () => {
  const probe = new JsonSplices();
  const target: Json = {};
  probe.insert(target, 0, jsonPairs({ geo }) as Uint8Array);
  const key = Object.keys(target)[0] as string;
  assert.match(key, /^~[0-9a-f]{16}$/, '64 random bits');
  // Every way a sender could put the key into the text: as a key elsewhere (before and after the
  // real one, with and without a number), inside a longer key, in a string value, and with the
  // number of the real placeholder.
  const hostile: [string, (event: Json) => void][] = [
    ['before', (event) => { event.x = { [key]: 0 }; }],
    ['after', (event) => { event.x = { [key]: 0 }; }],
    ['after', (event) => { event.x = { [key]: 'x' }; }],
    ['before', (event) => { event.x = { [`x"${key}`]: 0 }; }],
    ['before', (event) => { event.x = { [key]: 7, [`${key}x`]: 0 }; }],
    ['before', (event) => { event.x = `"${key}":0,"${key}":0`; }],
    ['after', (event) => { event.x = [{ [key]: '' }, { [key]: 0 }]; }],
  ];
  // The key in the very object the placeholder would go into: nothing is inserted.
  const own: Json = { ip: '5.6.7.8', [key]: 'sender' };
  assert.equal(probe.insert(own, 1, jsonPairs({ geo }) as Uint8Array), false);
  assert.deepEqual(own, { ip: '5.6.7.8', [key]: 'sender' });
  for (const [i, [where, add]] of hostile.entries()) {
    const build = (place: (address: Json) => void): Json => {
      const source: Json = { ip: '5.6.7.8' };
      const event: Json = {};
      if (where === 'before') add(event);
      place(source);
      event.source = source;
      source.domain = 'd';
      if (where === 'after') add(event);
      return event;
    };
    const c: Case = { name: `hostile ${i}`, event: build };
    const { text, event } = rendered(c);
    assert.deepEqual(JSON.parse(text), JSON.parse(expected(c)), `hostile ${i}: same content`);
    assert.equal(text, expected(c), `hostile ${i}: same text`);
    // Inside a string the key's closing quote is escaped, so that text is no placeholder and the splice goes ahead.
    const fellBack = typeof event.x !== 'string';
    assert.equal(Object.keys(event.source as Json).join(), fellBack ? 'ip,geo,as,domain' : `ip,${key},domain`, `hostile ${i}: ${fellBack ? 'the objects are back in place, in order' : 'spliced'}`);
  }
});
