import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntelIndex, applyIntel, buildIntelIndex, confidenceLevel } from './index.js';

const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';
const HASSH = 'ec7378c1a92f5a8dde7e8b7a1ddf33d1';

const idx = new IntelIndex(
  await buildIntelIndex([
    { name: 'blocklist-de', category: 'scanner', confidence: 85, indicators: ['203.0.113.0/24', '2001:db8::/32'] },
    { name: 'c2', category: 'botnet', confidence: 40, indicators: ['203.0.113.7', '198.51.100.1'] },
    { name: 'bad-tls', kind: 'ja4', category: 'malware', confidence: 20, indicators: [JA4] },
    { name: 'bad-ssh', kind: 'hassh', category: 'bruteforce', confidence: 0, indicators: [HASSH] },
  ]),
);

test('ECS threat.enrichments and tags for an address match', () => {
  const event: Record<string, unknown> = { source: { ip: '203.0.113.7', port: 40000 }, destination: { ip: '10.0.0.1', port: 22 }, tags: ['spip'] };
  const matches = applyIntel(event, idx, { source: true, destination: true });
  assert.deepEqual(
    matches.map((m) => `${m.field}:${m.list}:${m.indicator}`),
    ['source.ip:c2:203.0.113.7', 'source.ip:blocklist-de:203.0.113.0/24'],
  );
  assert.deepEqual(event.threat, {
    enrichments: [
      {
        indicator: { type: 'ipv4-addr', ip: '203.0.113.7', description: 'botnet (list c2, confidence 40)', name: '203.0.113.7', provider: 'c2', confidence: 'Medium' },
        matched: { atomic: '203.0.113.7', field: 'source.ip', type: 'indicator_match_rule' },
        feed: { name: 'c2' },
      },
      {
        indicator: { type: 'ipv4-addr', description: 'scanner (list blocklist-de, confidence 85)', name: '203.0.113.0/24', provider: 'blocklist-de', confidence: 'High' },
        matched: { atomic: '203.0.113.7', field: 'source.ip', type: 'indicator_match_rule' },
        feed: { name: 'blocklist-de' },
      },
    ],
  });
  assert.deepEqual(event.tags, ['spip', 'intel:c2', 'intel_category:botnet', 'intel:blocklist-de', 'intel_category:scanner']);
});

test('fingerprints and IPv6 destinations; tags are never duplicated, also across both addresses', () => {
  const event: Record<string, unknown> = {
    source: { ip: '2001:db8::5' },
    destination: { ip: '2001:db8::6' },
    tls: { client: { ja4: JA4.toUpperCase() } },
    ssh: { client: { hash: { hassh: HASSH } } },
    tags: ['intel:blocklist-de', 'keep-me', 7],
  };
  const matches = applyIntel(event, idx, { source: true, destination: true });
  assert.deepEqual(
    matches.map((m) => `${m.field}:${m.list}:${m.kind}`),
    ['source.ip:blocklist-de:ip', 'destination.ip:blocklist-de:ip', 'tls.client.ja4:bad-tls:ja4', 'ssh.client.hash.hassh:bad-ssh:hassh'],
  );
  assert.deepEqual(event.tags, ['intel:blocklist-de', 'keep-me', 7, 'intel_category:scanner', 'intel:bad-tls', 'intel_category:malware', 'intel:bad-ssh', 'intel_category:bruteforce']);
  const enrichments = (event.threat as { enrichments: Record<string, Record<string, unknown>>[] }).enrichments;
  assert.equal(enrichments.length, 4);
  assert.equal(enrichments[0]?.indicator?.type, 'ipv6-addr');
  assert.equal(enrichments[1]?.matched?.field, 'destination.ip');
  assert.deepEqual(enrichments[2], {
    indicator: { type: 'software', description: 'JA4 TLS client fingerprint: malware (list bad-tls, confidence 20)', name: JA4, provider: 'bad-tls', confidence: 'Low' },
    matched: { atomic: JA4.toUpperCase(), field: 'tls.client.ja4', type: 'indicator_match_rule' },
    feed: { name: 'bad-tls' },
  });
  assert.equal(enrichments[3]?.indicator?.confidence, 'None');
});

test('only the requested address fields are looked up; the earlier sensor JA4 field is read too', () => {
  const event: Record<string, unknown> = { source: { ip: '198.51.100.1' }, destination: { ip: '198.51.100.1' }, tls: { client: { hash: { ja4: JA4 } } } };
  const matches = applyIntel(event, idx, { destination: true });
  assert.deepEqual(
    matches.map((m) => m.field),
    ['destination.ip', 'tls.client.hash.ja4'],
  );
  assert.deepEqual(applyIntel({ source: { ip: '198.51.100.1' } }, idx, {}), []);
});

test('literal dotted keys are read like nested objects', () => {
  const event: Record<string, unknown> = { 'source.ip': '198.51.100.1' };
  assert.equal(applyIntel(event, idx, { source: true }).length, 1);
});

test('no match leaves the event untouched', () => {
  const event = { source: { ip: '192.0.2.1' }, tls: { client: { ja4: 't13d0000h2_000000000000_000000000000' } } };
  const before = structuredClone(event);
  assert.deepEqual(applyIntel(event, idx, { source: true }), []);
  assert.deepEqual(event, before);
});

test('applying twice adds nothing twice; enrichments from elsewhere are kept', () => {
  const other = { indicator: { type: 'domain-name', name: 'evil.example' }, matched: { atomic: 'evil.example', field: 'dns.question.name', type: 'indicator_match_rule' } };
  const event: Record<string, unknown> = { source: { ip: '198.51.100.1' }, threat: { enrichments: other, framework: 'MITRE ATT&CK' }, tags: 'honeypot' };
  applyIntel(event, idx, { source: true });
  applyIntel(event, idx, { source: true });
  const threat = event.threat as { enrichments: unknown[]; framework: string };
  assert.equal(threat.framework, 'MITRE ATT&CK');
  assert.equal(threat.enrichments.length, 2);
  assert.deepEqual(threat.enrichments[0], other);
  assert.deepEqual(event.tags, ['honeypot', 'intel:c2', 'intel_category:botnet']);
});

test('odd shapes: wrong types are left alone and nothing throws', () => {
  const strangeThreat: Record<string, unknown> = { source: { ip: '198.51.100.1' }, threat: 'not an object', tags: { not: 'a list' } };
  assert.equal(applyIntel(strangeThreat, idx, { source: true }).length, 1, 'the matches are still returned');
  assert.equal(strangeThreat.threat, 'not an object');
  assert.deepEqual(strangeThreat.tags, { not: 'a list' });

  const strangeEnrichments: Record<string, unknown> = { source: { ip: '198.51.100.1' }, threat: { enrichments: 5 } };
  applyIntel(strangeEnrichments, idx, { source: true });
  assert.deepEqual(strangeEnrichments.threat, { enrichments: 5 });

  for (const event of [{}, { source: null }, { source: 'x' }, { source: { ip: 42 } }, { source: { ip: ['198.51.100.1'] } }, { tls: { client: { ja4: 5 } } }, { ssh: [] }, { http: { request: { hash: { ja4h: null } } } }]) {
    assert.deepEqual(applyIntel(event as Record<string, unknown>, idx, { source: true, destination: true }), []);
  }
});

test('confidence on the STIX None/Low/Medium/High scale', () => {
  assert.deepEqual([0, 1, 29, 30, 69, 70, 100].map(confidenceLevel), ['None', 'Low', 'Low', 'Medium', 'Medium', 'High', 'High']);
});
