import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GeoAsnLookup, GeoDataError, openGeoData, type EcsGeo, type MmdbHandle } from './index.js';

/** MaxMind's official test databases and the JSON they are built from (MaxMind-DB repository, MIT or Apache-2.0). */
const fixtures = fileURLToPath(new URL('../../../../test/fixtures/mmdb/', import.meta.url));
const fixture = (name: string): string => join(fixtures, name);

async function open(geoip: string, asn = ''): Promise<GeoAsnLookup> {
  return new GeoAsnLookup(await openGeoData({ geoipPath: geoip === '' ? '' : fixture(geoip), asnPath: asn === '' ? '' : fixture(asn) }));
}

test('GeoIP2 City test database: London, Linköping with its region code, Japan over IPv6', async () => {
  const lookup = await open('GeoIP2-City-Test.mmdb');
  assert.deepEqual(lookup.lookup('81.2.69.142'), {
    geo: {
      country_iso_code: 'GB',
      country_name: 'United Kingdom',
      continent_code: 'EU',
      continent_name: 'Europe',
      region_name: 'England',
      region_iso_code: 'GB-ENG',
      city_name: 'London',
      timezone: 'Europe/London',
      location: { lat: 51.5142, lon: -0.0931 },
    },
  });
  assert.deepEqual(lookup.lookup('89.160.20.112').geo, {
    country_iso_code: 'SE',
    country_name: 'Sweden',
    continent_code: 'EU',
    continent_name: 'Europe',
    region_name: 'Östergötland County',
    region_iso_code: 'SE-E',
    city_name: 'Linköping',
    timezone: 'Europe/Stockholm',
    location: { lat: 58.4167, lon: 15.6167 },
  });
  assert.deepEqual(lookup.lookup('2001:218::1').geo, {
    country_iso_code: 'JP',
    country_name: 'Japan',
    continent_code: 'AS',
    continent_name: 'Asia',
    timezone: 'Asia/Tokyo',
    location: { lat: 35.68536, lon: 139.75309 },
  });
  assert.deepEqual(lookup.lookup('2.125.160.216').geo?.postal_code, 'OX1');
  assert.deepEqual(lookup.lookup('::ffff:81.2.69.142'), lookup.lookup('81.2.69.142'), 'IPv4-mapped is IPv4');
  assert.deepEqual(lookup.lookup('8.8.8.8'), {}, 'not in the test data: no empty geo object');
  const [info] = lookup.describe();
  assert.deepEqual(info, {
    kind: 'geoip',
    path: fixture('GeoIP2-City-Test.mmdb'),
    type: 'GeoIP2-City',
    buildEpoch: info?.buildEpoch,
    ipVersion: 6,
    families: [4, 6],
    bundled: false,
  });
  assert.ok((info?.buildEpoch ?? 0) > Date.UTC(2020, 0, 1) / 1000);
});

interface CityRecord {
  country?: { iso_code?: string; names?: { en?: string } };
  city?: { names?: { en?: string } };
  subdivisions?: { iso_code?: string; names?: { en?: string } }[];
  postal?: { code?: string };
  location?: { latitude?: number; longitude?: number; time_zone?: string };
}

/** The first address of a network in the JSON source; IPv4 networks are written as ::a.b.c.d/n there. */
function firstAddress(network: string): string {
  const [address = ''] = network.split('/');
  return address.startsWith('::') && address.includes('.') ? address.slice(2) : address.endsWith('::') ? `${address}1` : address;
}

test('every network of the GeoIP2 City JSON source looks up to its record', async () => {
  const lookup = await open('GeoIP2-City-Test.mmdb');
  const source = JSON.parse(readFileSync(fixture('GeoIP2-City-Test.json'), 'utf8')) as Record<string, CityRecord>[];
  const records = new Map<string, CityRecord>();
  for (const entry of source) for (const [network, record] of Object.entries(entry)) records.set(network, record);
  assert.ok(records.size > 200);
  for (const [network, record] of records) {
    const geo = lookup.lookup(firstAddress(network)).geo ?? {};
    const expected: EcsGeo = {};
    const code = record.country?.iso_code;
    if (code !== undefined) expected.country_iso_code = code;
    if (record.city?.names?.en !== undefined) expected.city_name = record.city.names.en;
    const region = record.subdivisions?.[0];
    if (region?.names?.en !== undefined) expected.region_name = region.names.en;
    if (code !== undefined && region?.iso_code !== undefined) expected.region_iso_code = `${code}-${region.iso_code}`;
    if (record.postal?.code !== undefined) expected.postal_code = record.postal.code;
    if (record.location?.time_zone !== undefined) expected.timezone = record.location.time_zone;
    const { latitude, longitude } = record.location ?? {};
    if (latitude !== undefined && longitude !== undefined) expected.location = { lat: latitude, lon: longitude };
    const actual = {
      country_iso_code: geo.country_iso_code,
      city_name: geo.city_name,
      region_name: geo.region_name,
      region_iso_code: geo.region_iso_code,
      postal_code: geo.postal_code,
      timezone: geo.timezone,
      location: geo.location,
    };
    for (const key of Object.keys(actual) as (keyof typeof actual)[]) if (actual[key] === undefined) delete actual[key];
    assert.deepEqual(actual, expected, network);
  }
});

test('GeoLite2 City test database', async () => {
  const lookup = await open('GeoLite2-City-Test.mmdb');
  assert.equal(lookup.lookup('81.2.69.142').geo?.city_name, 'London');
  assert.equal(lookup.lookup('89.160.20.112').geo?.region_iso_code, 'SE-E');
  assert.equal(lookup.lookup('2001:218::1').geo?.country_iso_code, 'JP');
  assert.equal(lookup.describe()[0]?.type, 'GeoLite2-City');
});

test('Country test databases give country and continent only', async () => {
  for (const name of ['GeoLite2-Country-Test.mmdb', 'GeoIP2-Country-Test.mmdb']) {
    const lookup = await open(name);
    assert.deepEqual(lookup.lookup('81.2.69.142').geo, {
      country_iso_code: 'GB',
      country_name: 'United Kingdom',
      continent_code: 'EU',
      continent_name: 'Europe',
    }, name);
    assert.equal(lookup.lookup('2001:218::1').geo?.country_iso_code, 'JP', name);
  }
});

test('GeoLite2 ASN test database, and its JSON source in full', async () => {
  const lookup = await open('', 'GeoLite2-ASN-Test.mmdb');
  const telstra = { number: 1221, organization: { name: 'Telstra Pty Ltd' } };
  assert.deepEqual(lookup.lookup('1.128.0.0'), { as: telstra });
  assert.deepEqual(lookup.lookup('1.159.255.255').as, telstra);
  assert.notDeepEqual(lookup.lookup('1.160.0.0').as, telstra);
  assert.deepEqual(lookup.lookup('12.81.96.1').as, { number: 7018 }, 'no organisation in the record');
  assert.equal(lookup.describe()[0]?.type, 'GeoLite2-ASN');
  const source = JSON.parse(readFileSync(fixture('GeoLite2-ASN-Test.json'), 'utf8')) as Record<string, { autonomous_system_number: number; autonomous_system_organization?: string }>[];
  let checked = 0;
  for (const entry of source) {
    for (const [network, record] of Object.entries(entry)) {
      const org = record.autonomous_system_organization;
      const expected = org === undefined ? { number: record.autonomous_system_number } : { number: record.autonomous_system_number, organization: { name: org } };
      assert.deepEqual(lookup.lookup(firstAddress(network)).as, expected, network);
      checked++;
    }
  }
  assert.ok(checked > 700);
});

test('City and ASN together fill both field sets', async () => {
  const lookup = await open('GeoIP2-City-Test.mmdb', 'GeoLite2-ASN-Test.mmdb');
  const result = lookup.lookup('89.160.20.112');
  assert.equal(result.geo?.city_name, 'Linköping');
  assert.deepEqual(result.as, { number: 29518, organization: { name: 'Bredband2 AB' } });
});

test('broken and foreign files fail with an error naming the file', async () => {
  const cases: [string, RegExp][] = [
    ['GeoIP2-City-Test-Invalid-Node-Count.mmdb', /corrupt: a search tree of 100000 nodes does not fit in the file/],
    ['GeoIP2-City-Test-Broken-Double-Format.mmdb', /corrupt: double of 5 bytes/],
    ['MaxMind-DB-test-broken-pointers-24.mmdb', /corrupt: search tree points outside the data section/],
    ['GeoIP2-City-Test.json', /not a MaxMind DB file/],
    ['LICENSE-MIT', /not a MaxMind DB file/],
    ['does-not-exist.mmdb', /not readable: no such file or directory/],
    ['GeoLite2-ASN-Test.mmdb', /holds ASN records, not GeoIP ones/],
  ];
  for (const [name, expected] of cases) {
    await assert.rejects(open(name), (error: unknown) => {
      assert.ok(error instanceof GeoDataError, name);
      assert.equal(error.path, fixture(name));
      assert.ok(error.message.startsWith(`${fixture(name)}: `), error.message);
      assert.match(error.message, expected);
      return true;
    });
  }
  await assert.rejects(open('', 'GeoIP2-City-Test.mmdb'), /GeoIP2-City-Test\.mmdb: holds GeoIP records, not ASN ones/);
});

test('a record that fails to decode at lookup time counts as a failure, not an exception', async () => {
  const good = await openGeoData({ geoipPath: fixture('GeoIP2-City-Test.mmdb'), asnPath: '' });
  const handle = good.sources[0] as MmdbHandle;
  const broken = readFileSync(fixture('MaxMind-DB-test-broken-pointers-24.mmdb'));
  const data = new SharedArrayBuffer(broken.length);
  new Uint8Array(data).set(broken);
  // Bypasses the check at open, as a corrupt part of a large file that the sample missed would.
  const lookup = new GeoAsnLookup({ sources: [{ ...handle, ipVersion: 4, families: [4], data }] });
  assert.deepEqual(lookup.lookup('1.1.1.16'), {});
  assert.deepEqual(lookup.lookup('1.1.1.32'), {});
  assert.equal(lookup.failedLookups, 2);
});

test('a directory of MaxMind databases: City beats Country, ASN goes to ASN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-geo-maxmind-'));
  try {
    for (const name of ['GeoLite2-City-Test.mmdb', 'GeoLite2-Country-Test.mmdb', 'GeoLite2-ASN-Test.mmdb']) copyFileSync(fixture(name), join(dir, name));
    const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: dir, asnPath: dir }));
    assert.deepEqual(
      lookup.describe().map((i) => [i.kind, i.type, i.families]),
      [
        ['geoip', 'GeoLite2-City', [4, 6]],
        ['asn', 'GeoLite2-ASN', [4, 6]],
      ],
    );
    const result = lookup.lookup('89.160.20.112');
    assert.equal(result.geo?.city_name, 'Linköping');
    assert.equal(result.as?.number, 29518);
    copyFileSync(fixture('GeoIP2-City-Test.mmdb'), join(dir, 'GeoIP2-City-Test.mmdb'));
    await assert.rejects(openGeoData({ geoipPath: dir, asnPath: '' }), /both GeoIP2-City-Test\.mmdb and GeoLite2-City-Test\.mmdb answer IPv4 lookups/);
    const empty = mkdtempSync(join(tmpdir(), 'loom-geo-empty-'));
    await assert.rejects(openGeoData({ geoipPath: empty, asnPath: '' }), /no GeoIP City or Country \.mmdb files in this directory/);
    rmSync(empty, { recursive: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('empty paths disable lookups', async () => {
  const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: '', asnPath: '' }));
  assert.deepEqual(lookup.lookup('8.8.8.8'), {});
  assert.deepEqual(lookup.describe(), []);
});
