import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GeoAsnLookup, ageDays, openGeoData, type GeoAsnResult } from './index.js';

const handles = await openGeoData({ geoipPath: undefined, asnPath: undefined });
const lookup = new GeoAsnLookup(handles);

test('without configured paths the bundled DB-IP lite City and ip-location-db ASN data are used', () => {
  const info = lookup.describe();
  assert.deepEqual(
    info.map((i) => [i.kind, i.type, i.ipVersion, i.families, i.bundled]),
    [
      ['geoip', 'city ipv4', 4, [4], true],
      ['geoip', 'city ipv6', 6, [6], true],
      ['asn', 'csv', 4, [4], true],
      ['asn', 'csv', 6, [6], true],
    ],
  );
  assert.match(info[0]?.path ?? '', /@ip-location-db\/dbip-city-mmdb\/dbip-city-ipv4\.mmdb$/);
  assert.match(info[2]?.path ?? '', /@ip-location-db\/asn\/asn-ipv4\.csv$/);
  for (const i of info) {
    assert.ok((i.buildEpoch ?? 0) > Date.UTC(2024, 0, 1) / 1000, `${i.path} has a build time`);
    assert.equal(typeof ageDays(i.buildEpoch), 'number');
  }
});

test('well-known public resolvers', () => {
  const google = lookup.lookup('8.8.8.8');
  assert.equal(google.geo?.country_iso_code, 'US');
  assert.equal(google.geo?.country_name, 'United States');
  assert.equal(google.as?.number, 15169);
  assert.match(google.as?.organization?.name ?? '', /Google/);
  const cloudflare = lookup.lookup('1.1.1.1');
  assert.equal(cloudflare.as?.number, 13335);
  assert.match(cloudflare.geo?.country_iso_code ?? '', /^[A-Z]{2}$/);
  const google6 = lookup.lookup('2001:4860:4860::8888');
  assert.equal(google6.as?.number, 15169);
  assert.match(google6.geo?.country_iso_code ?? '', /^[A-Z]{2}$/);
  assert.deepEqual(lookup.lookup('::ffff:8.8.8.8'), google);
});

test('private, loopback and other reserved addresses give nothing', () => {
  for (const ip of ['10.1.2.3', '192.168.1.1', '127.0.0.1', '::1', '172.16.5.4', '100.64.0.1', '169.254.169.254', 'fe80::1', 'fd00::1', '::', '0.0.0.0', '255.255.255.255', '2001:db8::1', '192.0.2.1']) {
    assert.deepEqual(lookup.lookup(ip), {}, ip);
  }
  for (const junk of ['', 'not-an-ip', '8.8.8.8:53', '[2001:4860::8888]', ' 8.8.8.8', '8.8.8.8\n', 'x'.repeat(1000)]) {
    assert.deepEqual(lookup.lookup(junk), {}, JSON.stringify(junk));
  }
  assert.deepEqual(lookup.lookup(42 as unknown as string), {});
});

/** A fixed pseudo-random sequence, so a failure names an address that fails again. */
function* addresses(count: number, seed: number): Generator<string> {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
  for (let i = 0; i < count; i++) {
    const a = next();
    const b = next();
    yield i % 4 === 3
      ? `2${((a >>> 20) & 0xfff).toString(16).padStart(3, '0')}:${(a & 0xffff).toString(16)}:${(b >>> 16).toString(16)}::${(b & 0xffff).toString(16)}`
      : `${a >>> 24}.${(a >>> 16) & 0xff}.${b >>> 24}.${(b >>> 16) & 0xff}`;
  }
}

function assertWellFormed(ip: string, result: GeoAsnResult): void {
  if (result.as !== undefined) {
    assert.ok(Number.isInteger(result.as.number) && result.as.number > 0, `${ip}: as.number ${result.as.number}`);
    if (result.as.organization !== undefined) assert.notEqual(result.as.organization.name, '', ip);
  }
  if (result.geo !== undefined) {
    assert.ok(Object.keys(result.geo).length > 0, `${ip}: empty geo`);
    for (const [key, value] of Object.entries(result.geo)) if (typeof value === 'string') assert.notEqual(value.trim(), '', `${ip}: ${key}`);
    const loc = result.geo.location;
    if (loc !== undefined) assert.ok(!(loc.lat === 0 && loc.lon === 0) && Math.abs(loc.lat) <= 90 && Math.abs(loc.lon) <= 180, `${ip}: location`);
    if (result.geo.country_iso_code !== undefined) assert.match(result.geo.country_iso_code, /^[A-Z]{2}$/, ip);
  }
}

test('thousands of addresses: never as.number 0, empty strings, empty geo or 0/0', () => {
  let withGeo = 0;
  let withAs = 0;
  for (const ip of addresses(20_000, 7)) {
    const result = lookup.lookup(ip);
    assertWellFormed(ip, result);
    if (result.geo !== undefined) withGeo++;
    if (result.as !== undefined) withAs++;
  }
  assert.ok(withGeo > 10_000 && withAs > 10_000, `${withGeo} with geo, ${withAs} with AS`);
  assert.equal(lookup.failedLookups, 0);
});

test('ageDays counts whole days since a build time', () => {
  const now = Date.UTC(2026, 5, 20, 12);
  assert.equal(ageDays(Date.UTC(2026, 5, 10, 13) / 1000, now), 9);
  assert.equal(ageDays(Date.UTC(2026, 5, 21) / 1000, now), 0, 'a clock behind the build is not negative age');
  assert.equal(ageDays(undefined, now), undefined);
});
