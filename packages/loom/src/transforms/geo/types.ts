/** ECS `*.geo` fields Loom sets. Absent fields are omitted, never empty strings. */
export interface EcsGeo {
  country_iso_code?: string;
  country_name?: string;
  continent_code?: string;
  continent_name?: string;
  region_name?: string;
  /** ISO 3166-2 form: country code, '-', subdivision code (`SE-E`). */
  region_iso_code?: string;
  city_name?: string;
  postal_code?: string;
  timezone?: string;
  location?: { lat: number; lon: number };
}

/** ECS `*.as` fields. `number` is never 0. */
export interface EcsAs {
  number: number;
  organization?: { name: string };
}

export interface GeoAsnResult {
  geo?: EcsGeo;
  as?: EcsAs;
}

export type DatabaseKind = 'geoip' | 'asn';
export type AddressFamily = 4 | 6;

/** What one loaded file is, for metrics and startup logs. */
export interface GeoDatabaseInfo {
  kind: DatabaseKind;
  path: string;
  /** The MaxMind `database_type` metadata, or 'csv' for a range file. */
  type: string;
  /** Seconds since the epoch: `build_epoch` of an .mmdb; for a CSV the date in the bundled package's version or the file's modification time. */
  buildEpoch: number | undefined;
  /** The `ip_version` of an .mmdb (6 may also hold IPv4); for a CSV 6 when it holds any IPv6 range. */
  ipVersion: AddressFamily;
  /** The address families this file answers, after choosing one file per family. */
  families: AddressFamily[];
  bundled: boolean;
}

/** How the records of an .mmdb are laid out. */
export type RecordShape =
  /** GeoIP2/GeoLite2 City or Country: nested `country`, `city`, `location`, `subdivisions`, names per language. */
  | 'geoip2'
  /** ip-location-db / DB-IP lite: `{ city, country_code, latitude, longitude, postcode, state1, state2, timezone }`. */
  | 'flat'
  /** GeoLite2-ASN and alike: `{ autonomous_system_number, autonomous_system_organization }`. */
  | 'asn';

export interface MmdbHandle extends GeoDatabaseInfo {
  format: 'mmdb';
  shape: RecordShape;
  /** The whole file. */
  data: SharedArrayBuffer;
}

/**
 * Sorted, non-overlapping inclusive ranges of one address family. IPv4 bounds are one
 * uint32 each, IPv6 bounds four big-endian uint32 words each.
 */
export interface RangeTableHandle {
  count: number;
  starts: SharedArrayBuffer;
  ends: SharedArrayBuffer;
  asns: SharedArrayBuffer;
  /** Index into the organisation table; 0 means no organisation. */
  orgs: SharedArrayBuffer;
}

export interface RangeHandle extends GeoDatabaseInfo {
  format: 'csv';
  v4: RangeTableHandle;
  v6: RangeTableHandle;
  /** UTF-8 organisation names back to back; name i spans orgOffsets[i]..orgOffsets[i+1]. */
  orgText: SharedArrayBuffer;
  orgOffsets: SharedArrayBuffer;
}

export type SourceHandle = MmdbHandle | RangeHandle;

/**
 * Everything the lookups need, in shared memory. A plain structured-cloneable object:
 * post it to worker threads and every thread reads the same bytes.
 */
export interface GeoDataHandles {
  sources: SourceHandle[];
}

/** A database that cannot be used; the message starts with the file it is about. */
export class GeoDataError extends Error {
  override name = 'GeoDataError';
  constructor(
    readonly path: string,
    message: string,
    /** 1-based line of a CSV file, when the problem is on one line. */
    readonly line?: number,
  ) {
    super(line === undefined ? `${path}: ${message}` : `${path}:${line}: ${message}`);
  }
}
