/** Database records to ECS fields. Every field is optional and only set when it has content. */
import { CONTINENT_NAMES, continentOf, countryName, isCountryCode } from './countries.js';
import type { EcsAs, EcsGeo, RecordShape } from './types.js';

type Fields = Record<string, unknown>;

function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function englishName(record: Fields | undefined): string | undefined {
  return text(fields(record?.names)?.en);
}

/** Five decimals (about 1 m) keep what the data holds and drop the noise of float32 coordinates. */
function coordinate(value: unknown, limit: number): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > limit) return undefined;
  return Math.round(value * 1e5) / 1e5;
}

/** 0/0 is what the data holds when it has no location, not a point in the Gulf of Guinea. */
function location(latitude: unknown, longitude: unknown): EcsGeo['location'] {
  const lat = coordinate(latitude, 90);
  const lon = coordinate(longitude, 180);
  if (lat === undefined || lon === undefined || (lat === 0 && lon === 0)) return undefined;
  return { lat, lon };
}

function setCountry(geo: EcsGeo, code: string, name: string | undefined): void {
  geo.country_iso_code = code;
  const resolved = name ?? countryName(code);
  if (resolved !== undefined) geo.country_name = resolved;
}

function setContinent(geo: EcsGeo, code: string | undefined, name: string | undefined): void {
  if (code === undefined) return;
  geo.continent_code = code;
  const resolved = name ?? CONTINENT_NAMES[code];
  if (resolved !== undefined) geo.continent_name = resolved;
}

function finish(geo: EcsGeo): EcsGeo | undefined {
  for (const key in geo) if (Object.hasOwn(geo, key)) return geo;
  return undefined;
}

/**
 * GeoIP2/GeoLite2 City and Country. The region is the first (largest) subdivision, as the
 * Go implementation chose and as the flat layout's `state1` is.
 */
function fromGeoIp2(record: Fields): EcsGeo | undefined {
  const geo: EcsGeo = {};
  const country = fields(record.country);
  const code = isCountryCode(country?.iso_code) ? country.iso_code : undefined;
  if (code !== undefined) setCountry(geo, code, englishName(country));
  const continent = fields(record.continent);
  const continentCode = text(continent?.code);
  if (continentCode !== undefined && /^[A-Z]{2}$/.test(continentCode)) {
    setContinent(geo, continentCode, englishName(continent));
  } else if (code !== undefined) {
    setContinent(geo, continentOf(code), undefined);
  }
  const subdivisions = record.subdivisions;
  const region = Array.isArray(subdivisions) ? fields(subdivisions[0]) : undefined;
  const regionName = englishName(region);
  if (regionName !== undefined) geo.region_name = regionName;
  const regionCode = text(region?.iso_code);
  if (code !== undefined && regionCode !== undefined) geo.region_iso_code = `${code}-${regionCode}`;
  const city = englishName(fields(record.city));
  if (city !== undefined) geo.city_name = city;
  const postal = text(fields(record.postal)?.code);
  if (postal !== undefined) geo.postal_code = postal;
  const loc = fields(record.location);
  const timezone = text(loc?.time_zone);
  if (timezone !== undefined) geo.timezone = timezone;
  const point = location(loc?.latitude, loc?.longitude);
  if (point !== undefined) geo.location = point;
  return finish(geo);
}

/** ip-location-db / DB-IP lite: only a country code, so names and continent are derived. */
function fromFlat(record: Fields): EcsGeo | undefined {
  const geo: EcsGeo = {};
  const code = isCountryCode(record.country_code) ? record.country_code : undefined;
  if (code !== undefined) {
    setCountry(geo, code, undefined);
    setContinent(geo, continentOf(code), undefined);
  }
  const region = text(record.state1);
  if (region !== undefined) geo.region_name = region;
  const city = text(record.city);
  if (city !== undefined) geo.city_name = city;
  const postal = text(record.postcode);
  if (postal !== undefined) geo.postal_code = postal;
  const timezone = text(record.timezone);
  if (timezone !== undefined) geo.timezone = timezone;
  const point = location(record.latitude, record.longitude);
  if (point !== undefined) geo.location = point;
  return finish(geo);
}

export function geoFromRecord(shape: RecordShape, record: unknown): EcsGeo | undefined {
  const f = fields(record);
  if (f === undefined) return undefined;
  return shape === 'flat' ? fromFlat(f) : shape === 'geoip2' ? fromGeoIp2(f) : undefined;
}

/** AS 0 means "no AS" (RFC 7607), so it yields nothing rather than `as.number: 0`. */
export function makeAs(asn: unknown, organization: unknown): EcsAs | undefined {
  if (typeof asn !== 'number' || !Number.isInteger(asn) || asn <= 0 || asn > 0xffffffff) return undefined;
  const name = text(organization);
  return name === undefined ? { number: asn } : { number: asn, organization: { name } };
}

export function asFromRecord(record: unknown): EcsAs | undefined {
  const f = fields(record);
  return f === undefined ? undefined : makeAs(f.autonomous_system_number, f.autonomous_system_organization);
}

/** The layout a record has, or undefined when it is none Loom reads. */
export function shapeOf(record: unknown): RecordShape | undefined {
  const f = fields(record);
  if (f === undefined) return undefined;
  if (typeof f.autonomous_system_number === 'number') return 'asn';
  if (
    fields(f.country) ||
    fields(f.continent) ||
    fields(f.city) ||
    fields(f.location) ||
    fields(f.registered_country) ||
    Array.isArray(f.subdivisions)
  ) {
    return 'geoip2';
  }
  if (typeof f.country_code === 'string') return 'flat';
  return undefined;
}
