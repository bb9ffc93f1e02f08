import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getPath, type EcsEvent } from '@loom/ecs';
import { encodeRows, eventStringRow, parseEventTime, typedRow } from './rows.js';

const FALLBACK = Date.UTC(2030, 5, 1, 12, 0, 0);

/** A Spip connection event after Loom's enrichment, with the field names Spip writes. */
const SPIP_EVENT = {
  '@timestamp': '2025-12-01T19:35:18.123Z',
  event: { id: 'e-1', kind: 'event', action: 'tls-handshake', dataset: 'spip.connection', risk_score: 72.5 },
  source: { ip: '146.70.1.1', port: 35882, geo: { country_iso_code: 'NL' }, as: { number: 9009, organization: { name: 'M247 Europe SRL' } } },
  destination: { ip: '146.190.1.1', port: 443 },
  network: { transport: 'tcp', protocol: 'tls' },
  observer: { hostname: 'spip-fra-1', id: 'spip-fra-1', type: 'honeypot' },
  host: { name: 'spip-fra-1' },
  tls: { client: { ja4: 't13d1516h2_8daaf6152771_02713d6af862', hash: { ja4: 't13d1516h2_8daaf6152771_02713d6af862' }, ja3: 'cd08e31494f9531f560d64c695473da9' } },
};

const row = (event: unknown, fallback = FALLBACK): Record<string, unknown> =>
  JSON.parse(typedRow(typeof event === 'string' ? event : JSON.stringify(event), fallback)) as Record<string, unknown>;

describe('event_string rows', () => {
  test('the event comes back exactly from the row, whatever it holds', () => {
    const events = [
      JSON.stringify({ message: 'say "hi" \\ back\\slash' }),
      JSON.stringify({ message: 'é ü 中文 😀 \u2028 \u2029' }),
      JSON.stringify({ message: '\u0000\u0001\u001f\u007f\t\r\n' }),
      '{"raw":"\\u0000 \\" \\\\"}',
    ];
    for (const event of events) {
      const line = eventStringRow(event);
      assert.equal(line.includes('\n'), false);
      assert.deepEqual(JSON.parse(line), { event });
      assert.ok(line.startsWith('{"event":"'));
    }
  });

  test('a lone surrogate becomes U+FFFD; a pair stays', () => {
    assert.deepEqual(JSON.parse(eventStringRow('{"m":"a\ud800b"}')), { event: '{"m":"a\ufffdb"}' });
    assert.deepEqual(JSON.parse(eventStringRow('{"m":"\udc00"}')), { event: '{"m":"\ufffd"}' });
    assert.deepEqual(JSON.parse(eventStringRow('{"m":"😀"}')), { event: '{"m":"😀"}' });
  });

  test('encodeRows keeps the order', () => {
    assert.deepEqual(encodeRows(['{"a":1}', '{"b":2}'], 'event_string', FALLBACK), ['{"event":"{\\"a\\":1}"}', '{"event":"{\\"b\\":2}"}']);
  });
});

describe('typed rows', () => {
  test('columns from a Spip event', () => {
    assert.deepEqual(row(SPIP_EVENT), {
      timestamp: '2025-12-01T19:35:18.123Z',
      sensor: 'spip-fra-1',
      event_id: 'e-1',
      event_dataset: 'spip.connection',
      event_kind: 'event',
      event_action: 'tls-handshake',
      source_ip: '146.70.1.1',
      source_port: 35882,
      destination_ip: '146.190.1.1',
      destination_port: 443,
      transport: 'tcp',
      protocol: 'tls',
      source_country: 'NL',
      source_asn: 9009,
      source_as_org: 'M247 Europe SRL',
      ja4: 't13d1516h2_8daaf6152771_02713d6af862',
      ja3: 'cd08e31494f9531f560d64c695473da9',
      risk_score: 72.5,
      event: JSON.stringify(SPIP_EVENT),
    });
  });

  test('Go sensor fields: hash.ja4 only, HASSH, JA4H, dotted keys, observer.name first', () => {
    const columns = row({
      '@timestamp': '2025-12-01T19:35:18Z',
      'source.ip': '192.0.2.7',
      observer: { name: 'edge', id: 'id-1' },
      tls: { client: { hash: { ja4: 'go-ja4' } } },
      ssh: { client: { hash: { hassh: 'ec7378c1a92f5a8dde7e8b7a1ddf33d1' } } },
      http: { request: { hash: { ja4h: 'ge11nn05enus_a1b2' } } },
      agent: { id: 'agent-1' },
    });
    assert.equal(columns.sensor, 'edge');
    assert.equal(columns.source_ip, '192.0.2.7');
    assert.equal(columns.ja4, 'go-ja4');
    assert.equal(columns.hassh, 'ec7378c1a92f5a8dde7e8b7a1ddf33d1');
    assert.equal(columns.ja4h, 'ge11nn05enus_a1b2');
    assert.equal(row({ agent: { id: 'agent-1' }, host: { name: 'h' } }).sensor, 'agent-1');
  });

  test('fields are found as @loom/ecs getPath finds them, literal dotted keys included', () => {
    const docs: EcsEvent[] = [
      { source: { as: { number: 4 } } },
      { source: { 'as.number': 5 } },
      { 'source.as.number': 7 },
      { 'source.as': { number: 6 } },
      { source: { as: 5 } },
      { source: { as: { 'organization.name': 'Org' } } },
    ];
    for (const doc of docs) {
      const columns = row(doc);
      assert.equal(columns.source_asn, getPath(doc, 'source.as.number') ?? undefined, JSON.stringify(doc));
      assert.equal(columns.source_as_org, getPath(doc, 'source.as.organization.name'), JSON.stringify(doc));
    }
    assert.equal(row({ source: { 'as.number': 5 } }).source_asn, 5);
  });

  test('values that do not fit their column are left out, never the row', () => {
    const columns = row({
      '@timestamp': '2025-12-01T19:35:18Z',
      source: { ip: 'not-an-ip', port: 70_000, as: { number: -1 } },
      destination: { ip: '::FFFF:198.51.100.4', port: 22.5 },
      event: { risk_score: 'high', id: 12 },
      network: { transport: { nested: true } },
    });
    assert.deepEqual(Object.keys(columns).sort(), ['destination_ip', 'event', 'event_id', 'timestamp']);
    assert.equal(columns.destination_ip, '198.51.100.4');
    assert.equal(columns.event_id, '12');
    assert.equal(row({ source: { ip: '2001:DB8::1', port: '8080' } }).source_ip, '2001:db8::1');
    assert.equal(row({ source: { ip: '2001:DB8::1', port: '8080' } }).source_port, 8080);
  });

  test('an event that is not a JSON object still gives a row with its time and raw text', () => {
    assert.deepEqual(row('not json'), { timestamp: new Date(FALLBACK).toISOString(), event: 'not json' });
    assert.deepEqual(row('[1,2]'), { timestamp: new Date(FALLBACK).toISOString(), event: '[1,2]' });
  });

  test('timestamp: the event time when it can be trusted, else event.ingested, else the fallback', () => {
    const at = (value: unknown): unknown => row({ '@timestamp': value }).timestamp;
    assert.equal(at('2025-12-01T19:35:18.123Z'), '2025-12-01T19:35:18.123Z');
    assert.equal(at('2025-12-01T19:35:18Z'), '2025-12-01T19:35:18.000Z');
    assert.equal(at('2025-12-01T19:35:18.123456789Z'), '2025-12-01T19:35:18.123Z');
    assert.equal(at('2025-12-01T21:35:18+02:00'), '2025-12-01T19:35:18.000Z');
    assert.equal(at('2025-12-01 19:35:18'), '2025-12-01T19:35:18.000Z');
    assert.equal(at(1764617718123), '2025-12-01T19:35:18.123Z');
    const fallback = new Date(FALLBACK).toISOString();
    for (const garbage of ['yesterday', '', '2025-02-30T00:00:00Z', '2025-13-01T00:00:00Z', '0099-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '2200-01-01T00:00:00Z', null, true, { a: 1 }]) {
      assert.equal(at(garbage), fallback, `for ${JSON.stringify(garbage)}`);
    }
    assert.equal(row({}).timestamp, fallback);
    assert.equal(row({ '@timestamp': 'garbage', event: { ingested: '2025-12-01T19:35:20Z' } }).timestamp, '2025-12-01T19:35:20.000Z');
  });

  test('parseEventTime', () => {
    assert.equal(parseEventTime('1970-01-01T00:00:00Z'), 0);
    assert.equal(parseEventTime('2025-12-01T19:35:18.5-0130'), Date.UTC(2025, 11, 1, 21, 5, 18, 500));
    assert.equal(parseEventTime('2025-12-01'), Date.UTC(2025, 11, 1));
    assert.equal(parseEventTime('2025-12-01T19:35:60Z'), Date.UTC(2025, 11, 1, 19, 35, 59));
    assert.equal(parseEventTime(Number.NaN), undefined);
    assert.equal(parseEventTime(undefined), undefined);
  });
});
