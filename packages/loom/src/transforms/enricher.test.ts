import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnrichedField, RiskConfig } from '../config/types.js';
import { JsonSplices } from '../json/splices.js';
import { decodeJob } from '../pipeline/decode-job.js';
import { parseBatch, serialiseBatch, type DecodeLimits } from '../sources/http-ingest/decode.js';
import { Enricher, type EnrichmentData } from './enricher.js';
import { GeoAsnLookup, openGeoData, type GeoDataHandles } from './geo/index.js';
import { IntelIndex, applyIntel, buildIntelIndex, type IntelHandles } from './intel/index.js';
import { DEFAULT_RISK_WEIGHTS, applyRisk, riskRulesFrom } from './risk/index.js';

/*
 * The enricher caches per address (GeoIP, ASN, intel matches) and leaves the JSON text of
 * cached geo and as to serialisation. Whatever it caches or splices, the output must be what
 * enriching each event from scratch with the public stage functions and serialising the
 * objects gives: that reference is spelled out below.
 */

const fixtures = fileURLToPath(new URL('../../../test/fixtures/mmdb/', import.meta.url));
const limits: DecodeLimits = { max_body_size_bytes: 1 << 20, max_events_per_batch: 500, max_event_size_bytes: 1 << 16 };
const JA4 = 't13d1516h2_8daaf6152771_b186095e22b6';

const city = await openGeoData({ geoipPath: join(fixtures, 'GeoIP2-City-Test.mmdb'), asnPath: join(fixtures, 'GeoLite2-ASN-Test.mmdb') });
const country = await openGeoData({ geoipPath: join(fixtures, 'GeoIP2-Country-Test.mmdb'), asnPath: '' });
const addressList = await buildIntelIndex([
  { name: 'blocklist', category: 'scanner', confidence: 80, indicators: ['81.2.69.0/24', '2001:218::/32', '1.128.0.1'] },
  { name: 'c2', category: 'botnet', confidence: 20, indicators: ['81.2.69.142'] },
]);
const withFingerprints = await buildIntelIndex([
  { name: 'blocklist', category: 'scanner', confidence: 80, indicators: ['89.160.20.0/24'] },
  { name: 'bad-tls', kind: 'ja4', category: 'malware', confidence: 90, indicators: [JA4] },
]);
const otherList = await buildIntelIndex([{ name: 'blocklist', category: 'scanner', confidence: 80, indicators: ['89.160.20.112'] }]);

const addresses = ['81.2.69.142', '89.160.20.112', '1.128.0.1', '1.0.0.1', '2001:218::1', '::ffff:81.2.69.142', '214.1.1.1', '192.168.1.20', 'not-an-ip', '', 'x'.repeat(100)];

/** Events of every shape the address stages treat differently, as a sensor might send them. */
function events(round: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [i, ip] of addresses.entries()) {
    const other = addresses[(i + round + 1) % addresses.length] as string;
    out.push(
      { '@timestamp': 't', source: { ip, port: 40000 + i }, destination: { ip: other, port: 3389 }, url: { original: '/.env' }, user_agent: { original: 'curl/8' } },
      { source: { ip, geo: { city_name: 'from the sensor', extra: 1 } }, destination: { ip: other } },
      { source: { ip, geo: 'NL', port: 1 }, network: { bytes: 2_000_000 } },
      { source: { ip, as: { number: 5, note: 'kept' }, domain: 'sensor.example' }, tags: 'spip' },
      { source: { ip, 'as.number': 396982 }, threat: { enrichments: [{ matched: { field: 'source.ip' } }] } },
      { 'source.ip': other, source: { ip }, destination: { ip } },
      { source: { ip }, tls: { client: { ja4: JA4 } }, http: { request: { headers: { 'user-agent': '${jndi:ldap://x}' } } } },
    );
  }
  out.push({ message: 'no address' }, { source: ['1.1.1.1'] }, { source: { ip: 42 } }, { source: null }, JSON.parse('{"__proto__":{"ip":"81.2.69.142"},"source":{"ip":"81.2.69.142","__proto__":{"x":1}}}'));
  return out;
}

interface Setup {
  name: string;
  geo?: GeoDataHandles;
  intel?: IntelHandles;
  fields?: EnrichedField[];
  risk?: boolean | { scanner_asns: number[] };
  cacheSize?: number;
}

function riskConfig(risk: Setup['risk']): RiskConfig {
  return {
    enabled: risk !== undefined && risk !== false,
    weights: { ...DEFAULT_RISK_WEIGHTS },
    sensitive_ports: [3389, 445],
    scanner_asns: typeof risk === 'object' ? risk.scanner_asns : [],
    large_transfer_bytes: 1_000_000,
  };
}

function enricher(setup: Setup): Enricher {
  const dns = { enabled: false, resolver_addr: '', cache_ttl_seconds: 1, max_qps: 1, timeout_ms: 1, max_concurrency: 1, negative_ttl_seconds: 1, cache_max_entries: 1 };
  return new Enricher({ fields: setup.fields ?? ['source'], cacheSize: setup.cacheSize ?? 1000, dns, risk: riskConfig(setup.risk) }, { geo: setup.geo, intel: setup.intel });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every stage from scratch for each event, objects serialised as they are. */
function reference(setup: Setup, body: Uint8Array): string {
  const parsed = parseBatch(body, 'json', limits);
  assert.ok(parsed.ok);
  const fields = setup.fields ?? ['source'];
  const geo = setup.geo === undefined ? undefined : new GeoAsnLookup(setup.geo);
  const intel = setup.intel === undefined ? undefined : new IntelIndex(setup.intel);
  const rules = riskConfig(setup.risk).enabled ? riskRulesFrom(riskConfig(setup.risk)) : undefined;
  for (const event of parsed.events) {
    for (const field of geo === undefined ? [] : fields) {
      const address = event[field];
      if (!isObject(address) || typeof address.ip !== 'string') continue;
      const found = (geo as GeoAsnLookup).lookup(address.ip);
      if (found.geo !== undefined) address.geo = isObject(address.geo) ? { ...address.geo, ...found.geo } : found.geo;
      if (found.as !== undefined) address.as = isObject(address.as) ? { ...address.as, ...found.as } : found.as;
    }
  }
  for (const event of parsed.events) {
    if (intel !== undefined) applyIntel(event, intel, { source: fields.includes('source'), destination: fields.includes('destination') });
    if (rules !== undefined) applyRisk(event, rules);
  }
  const result = serialiseBatch(parsed.events);
  assert.ok(result.ok);
  return Buffer.from(result.ndjson).toString();
}

async function decoded(enrich: Enricher, body: Uint8Array): Promise<string> {
  const result = await decodeJob(body, 'json', false, limits, enrich, (message) => assert.fail(message));
  assert.ok(result.ok);
  return Buffer.from(result.ndjson).toString();
}

const setups: Setup[] = [
  { name: 'GeoIP and ASN', geo: city },
  { name: 'GeoIP, ASN, intel, risk; source and destination', geo: city, intel: addressList, fields: ['source', 'destination'], risk: true },
  { name: 'destination only', geo: city, intel: addressList, fields: ['destination'], risk: true },
  { name: 'no cache', geo: city, intel: addressList, fields: ['source', 'destination'], risk: true, cacheSize: 0 },
  { name: 'a cache of one entry, evicted within every batch', geo: city, intel: addressList, fields: ['source', 'destination'], risk: true, cacheSize: 1 },
  { name: 'risk reading source.as.number (scanner ASNs)', geo: city, intel: addressList, risk: { scanner_asns: [1221, 396982] } },
  { name: 'fingerprint lists, no GeoIP', intel: withFingerprints, risk: true },
  { name: 'GeoIP without ASN', geo: country, intel: withFingerprints, fields: ['source', 'destination'] },
  { name: 'nothing on', risk: false },
];

test('cached and spliced enrichment gives exactly the output of enriching every event from scratch', async () => {
  for (const setup of setups) {
    const enrich = enricher(setup);
    // Three rounds: the first fills the cache, the later ones answer from it.
    for (let round = 0; round < 3; round++) {
      const body = Buffer.from(JSON.stringify(events(round)));
      const got = await decoded(enrich, body);
      assert.equal(got, reference(setup, body), `${setup.name}, round ${round}`);
      for (const line of got.trimEnd().split('\n')) JSON.parse(line);
    }
  }
});

test('swap() drops cached results: new lists and databases apply to the next batch', async () => {
  const setup: Setup = { name: 'before', geo: city, intel: addressList, risk: true };
  const enrich = enricher(setup);
  const body = Buffer.from(JSON.stringify([{ source: { ip: '81.2.69.142' } }, { source: { ip: '89.160.20.112' } }]));
  const before = await decoded(enrich, body);
  assert.match(before, /"city_name":"London"/);
  assert.match(before, /"provider":"c2"/);
  const data: EnrichmentData = { geo: country, intel: otherList };
  enrich.swap(data);
  const after = await decoded(enrich, body);
  assert.equal(after, reference({ ...setup, ...data }, body));
  assert.doesNotMatch(after, /London|"provider":"c2"/);
  assert.match(after, /"atomic":"89\.160\.20\.112"/);
});

test('the lookup API answers from the same cache without placeholders or shared state leaking', async () => {
  const enrich = enricher({ name: 'lookup', geo: city, intel: addressList, risk: true });
  await decoded(enrich, Buffer.from(JSON.stringify([{ source: { ip: '81.2.69.142' } }])));
  const result = await enrich.lookup('81.2.69.142');
  assert.deepEqual(Object.keys(result), ['ip', 'geo', 'threat']);
  assert.equal((result.geo as { city_name?: string }).city_name, 'London');
  assert.equal(JSON.stringify(result).includes('~'), false);
  assert.deepEqual(enrich.stats(), { cacheHits: 1, cacheMisses: 1, rdns: undefined });
});

test('a sender that writes the placeholder key gets the same output as with objects', async () => {
  const probe: Record<string, unknown> = {};
  new JsonSplices().insert(probe, 0, Buffer.from('"x":1'));
  const key = Object.keys(probe)[0] as string;
  const setup: Setup = { name: 'hostile', geo: city, intel: addressList, fields: ['source', 'destination'] };
  const enrich = enricher(setup);
  const body = Buffer.from(JSON.stringify([
    { source: { ip: '81.2.69.142', [key]: 0 }, destination: { ip: '89.160.20.112' } },
    { source: { ip: '81.2.69.142' }, destination: { ip: '89.160.20.112' }, note: { [key]: 1 } },
    { source: { ip: '81.2.69.142' }, [`${key}`]: 0 },
  ]));
  for (let round = 0; round < 2; round++) assert.equal(await decoded(enrich, body), reference(setup, body), `round ${round}`);
});
