import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, type Response } from 'mmdb-lib';
import { ASN_TYPES, FLAT_TYPES, GEOIP2_TYPES, writeMmdbFiles } from '../../../test/helpers/mmdb-writer.js';
import { GeoAsnLookup, GeoDataError, openGeoData } from './index.js';

/** Databases in the ip-location-db / DB-IP lite layout and edge cases, written by MaxMind's Perl writer. */
const dir = mkdtempSync(join(tmpdir(), 'loom-geo-flat-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pair = join(dir, 'pair');
mkdirSync(pair);

const empty = { city: '', country_code: '', latitude: 0, longitude: 0, postcode: '', state1: '', state2: '', timezone: '' };
const mountainView = { ...empty, city: 'Mountain View', country_code: 'US', latitude: 37.422, longitude: -122.085, postcode: '94043', state1: 'California', timezone: 'America/Los_Angeles' };
const linkoping = { ...empty, city: 'Linköping', country_code: 'SE', latitude: 58.4167, longitude: 15.6167, state1: 'Östergötland' };

writeMmdbFiles([
  {
    file: join(pair, 'dbip-city-ipv4.mmdb'),
    ipVersion: 4,
    databaseType: 'city ipv4',
    recordSize: 24,
    types: FLAT_TYPES,
    networks: [
      ['8.8.8.0/24', mountainView],
      ['32.0.0.0/8', { ...empty, country_code: 'US' }],
      ['10.0.0.0/8', mountainView],
      ['1.2.3.0/24', { ...empty, country_code: 'ZZ' }],
      ['5.6.7.0/24', linkoping],
    ],
  },
  {
    file: join(pair, 'dbip-city-ipv6.mmdb'),
    ipVersion: 6,
    databaseType: 'city ipv6',
    types: FLAT_TYPES,
    networks: [
      ['2001:4860::/32', { ...empty, city: 'Montreal', country_code: 'CA', latitude: 45.5019, longitude: -73.5674, state1: 'Quebec' }],
      ['fd00::/8', mountainView],
    ],
  },
  {
    file: join(dir, 'asn.mmdb'),
    ipVersion: 6,
    databaseType: 'Loom-ASN',
    recordSize: 32,
    aliasIpv6ToIpv4: true,
    types: ASN_TYPES,
    networks: [
      ['8.8.8.0/24', { autonomous_system_number: 15169, autonomous_system_organization: 'Google LLC' }],
      ['9.9.9.0/24', { autonomous_system_number: 0, autonomous_system_organization: 'Nobody' }],
      ['2001:4860::/32', { autonomous_system_number: 15169, autonomous_system_organization: '' }],
    ],
  },
  {
    file: join(dir, 'geoip2-edges.mmdb'),
    ipVersion: 6,
    databaseType: 'GeoIP2-City',
    types: GEOIP2_TYPES,
    networks: [
      ['8.8.8.0/24', { country: { iso_code: 'US' }, subdivisions: [{ iso_code: 'CA', names: { en: '' } }], location: { latitude: 0, longitude: 0, time_zone: '' } }],
      ['9.9.9.0/24', { continent: { code: 'EU', names: { en: 'Europe' } } }],
      ['7.7.7.0/24', { city: { names: { en: '' } }, country: { iso_code: 'ZZ' } }],
      ['6.6.6.0/24', { country: { iso_code: 'CD' }, location: { latitude: 95, longitude: 10 } }],
    ],
  },
  {
    file: join(dir, 'unknown.mmdb'),
    ipVersion: 4,
    databaseType: 'Custom',
    types: { foo: 'utf8_string' },
    networks: [['8.8.8.0/24', { foo: 'bar' }]],
  },
]);

const ipv4File = join(pair, 'dbip-city-ipv4.mmdb');
const ipv6File = join(pair, 'dbip-city-ipv6.mmdb');

test('the flat layout is recognised from metadata and records, fields map to ECS', async () => {
  const handles = await openGeoData({ geoipPath: ipv4File, asnPath: '' });
  assert.equal(handles.sources[0]?.format === 'mmdb' && handles.sources[0].shape, 'flat');
  const lookup = new GeoAsnLookup(handles);
  assert.deepEqual(lookup.describe(), [
    { kind: 'geoip', path: ipv4File, type: 'city ipv4', buildEpoch: lookup.describe()[0]?.buildEpoch, ipVersion: 4, families: [4], bundled: false },
  ]);
  assert.deepEqual(lookup.lookup('8.8.8.8'), {
    geo: {
      country_iso_code: 'US',
      country_name: 'United States',
      continent_code: 'NA',
      continent_name: 'North America',
      region_name: 'California',
      city_name: 'Mountain View',
      postal_code: '94043',
      timezone: 'America/Los_Angeles',
      location: { lat: 37.422, lon: -122.085 },
    },
  });
  assert.deepEqual(lookup.lookup('5.6.7.8').geo, {
    country_iso_code: 'SE',
    country_name: 'Sweden',
    continent_code: 'EU',
    continent_name: 'Europe',
    region_name: 'Östergötland',
    city_name: 'Linköping',
    location: { lat: 58.4167, lon: 15.6167 },
  });
});

test('Go quirks fixed: no empty strings, no 0/0 location, no empty geo object', async () => {
  const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: ipv4File, asnPath: '' }));
  assert.deepEqual(lookup.lookup('32.1.2.3'), {
    geo: { country_iso_code: 'US', country_name: 'United States', continent_code: 'NA', continent_name: 'North America' },
  });
  assert.deepEqual(lookup.lookup('1.2.3.4'), {}, 'ZZ and nothing else is no geo at all');
  assert.deepEqual(lookup.lookup('9.9.9.9'), {});
});

test('reserved addresses never reach the database', async () => {
  const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: pair, asnPath: '' }));
  const raw4 = new Reader<Response>(readFileSync(ipv4File));
  const raw6 = new Reader<Response>(readFileSync(ipv6File));
  assert.notEqual(raw4.get('10.1.2.3'), null, 'the file has a record for 10/8');
  assert.notEqual(raw6.get('fd00::1'), null, 'and one for fd00::/8');
  for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::1', '127.0.0.1', '::1', '192.168.1.1', '169.254.1.1', '224.0.0.1']) {
    assert.deepEqual(lookup.lookup(ip), {}, ip);
  }
});

test('an IPv4-only file is never asked about IPv6 addresses, where it would answer garbage', async () => {
  const raw = new Reader<Response>(readFileSync(ipv4File));
  assert.deepEqual(raw.get('2001:4860:4860::8888'), { ...empty, country_code: 'US' }, 'mmdb-lib reads the first 32 bits as 32.1.72.96');
  const only4 = new GeoAsnLookup(await openGeoData({ geoipPath: ipv4File, asnPath: '' }));
  assert.deepEqual(only4.lookup('2001:4860:4860::8888'), {});
  const both = new GeoAsnLookup(await openGeoData({ geoipPath: pair, asnPath: '' }));
  assert.equal(both.lookup('2001:4860:4860::8888').geo?.city_name, 'Montreal');
  assert.equal(both.lookup('8.8.8.8').geo?.city_name, 'Mountain View');
  assert.deepEqual(
    both.describe().map((i) => [i.path, i.ipVersion, i.families]),
    [
      [ipv4File, 4, [4]],
      [ipv6File, 6, [6]],
    ],
  );
  const only6 = new GeoAsnLookup(await openGeoData({ geoipPath: ipv6File, asnPath: '' }));
  assert.deepEqual(only6.lookup('8.8.8.8'), {}, 'the IPv6 file has no IPv4 data');
  assert.equal(only6.lookup('2001:4860::1').geo?.country_iso_code, 'CA');
});

test('an ASN database of another writer: AS 0 and empty organisations are left out', async () => {
  const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: '', asnPath: join(dir, 'asn.mmdb') }));
  assert.deepEqual(lookup.lookup('8.8.8.8'), { as: { number: 15169, organization: { name: 'Google LLC' } } });
  assert.deepEqual(lookup.lookup('9.9.9.9'), {});
  assert.deepEqual(lookup.lookup('2001:4860::1'), { as: { number: 15169 } });
  assert.equal(lookup.describe()[0]?.type, 'Loom-ASN');
});

test('GeoIP2 records with empty names, odd codes and impossible coordinates', async () => {
  const lookup = new GeoAsnLookup(await openGeoData({ geoipPath: join(dir, 'geoip2-edges.mmdb'), asnPath: '' }));
  assert.deepEqual(lookup.lookup('8.8.8.8').geo, {
    country_iso_code: 'US',
    country_name: 'United States',
    continent_code: 'NA',
    continent_name: 'North America',
    region_iso_code: 'US-CA',
  });
  assert.deepEqual(lookup.lookup('9.9.9.9').geo, { continent_code: 'EU', continent_name: 'Europe' });
  assert.deepEqual(lookup.lookup('7.7.7.7'), {});
  assert.deepEqual(lookup.lookup('6.6.6.6').geo, { country_iso_code: 'CD', country_name: 'DR Congo', continent_code: 'AF', continent_name: 'Africa' });
});

test('a database of no known layout is refused with its keys', async () => {
  const path = join(dir, 'unknown.mmdb');
  await assert.rejects(openGeoData({ geoipPath: path, asnPath: '' }), (error: unknown) => {
    assert.ok(error instanceof GeoDataError);
    assert.equal(error.message, `${path}: records are neither GeoIP2/GeoLite2, DB-IP/ip-location-db nor ASN data (keys: foo)`);
    return true;
  });
});
