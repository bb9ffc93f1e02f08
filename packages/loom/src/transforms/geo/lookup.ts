import { Reader, type Response } from 'mmdb-lib';
import { embeddedIpv4, formatIpv4, formatIpv6, isReservedIpv4, isReservedIpv6, parseIp } from './ip.js';
import { RangeReader } from './ranges.js';
import { asFromRecord, geoFromRecord, makeAs } from './records.js';
import type {
  AddressFamily,
  EcsAs,
  EcsGeo,
  GeoAsnResult,
  GeoDataHandles,
  GeoDatabaseInfo,
  MmdbHandle,
  RangeHandle,
  SourceHandle,
} from './types.js';

type ReaderCache = NonNullable<ConstructorParameters<typeof Reader>[1]>['cache'];

/**
 * mmdb-lib decodes a record from scratch on every lookup unless given a cache. Caching whole
 * records would duplicate the caller's result cache, but the strings records share (map keys,
 * common names) are few and re-decoding them is a good part of the cost: a bounded, fill-once
 * cache of strings only gives about a fifth more lookups per second for a few hundred KB.
 */
function sharedStringCache(limit: number): ReaderCache {
  const entries = new Map<string | number, unknown>();
  return {
    get: (key: string | number) => entries.get(key),
    set: (key: string | number, cursor: { value?: unknown }) => {
      if (entries.size < limit && typeof cursor.value === 'string') entries.set(key, cursor);
    },
  };
}

/** An address in the forms the two kinds of database are searched by; reused across lookups. */
class Address {
  readonly words = new Uint32Array(4);
  family: AddressFamily = 4;
  v4 = 0;
  private input = '';
  private textForm = '';

  reset(input: string, family: AddressFamily, v4: number): void {
    this.input = input;
    this.family = family;
    this.v4 = v4;
    this.textForm = '';
  }

  /** The text mmdb-lib parses; canonical, since mmdb-lib does not validate what it is given. */
  text(): string {
    if (this.textForm === '') this.textForm = this.family === 6 ? formatIpv6(this.words) : this.input;
    return this.textForm;
  }
}

interface Backend {
  geo(address: Address): EcsGeo | undefined;
  as(address: Address): EcsAs | undefined;
}

class MmdbBackend implements Backend {
  private readonly reader: Reader<Response>;

  constructor(private readonly handle: MmdbHandle) {
    this.reader = new Reader<Response>(Buffer.from(handle.data), { cache: sharedStringCache(4096) });
  }

  geo(address: Address): EcsGeo | undefined {
    return geoFromRecord(this.handle.shape, this.reader.get(address.text()));
  }

  as(address: Address): EcsAs | undefined {
    return asFromRecord(this.reader.get(address.text()));
  }
}

class RangeBackend implements Backend {
  private readonly ranges: RangeReader;

  constructor(handle: RangeHandle) {
    this.ranges = new RangeReader(handle);
  }

  geo(): undefined {
    return undefined;
  }

  as(address: Address): EcsAs | undefined {
    const hit = address.family === 4 ? this.ranges.findV4(address.v4) : this.ranges.findV6(address.words);
    return hit === undefined ? undefined : makeAs(hit.asn, hit.org);
  }
}

/**
 * GeoIP and ASN lookups over the shared buffers of `openGeoData`. Construct one per thread;
 * construction only builds views over the shared memory.
 */
export class GeoAsnLookup {
  private readonly geo4: Backend | undefined;
  private readonly geo6: Backend | undefined;
  private readonly as4: Backend | undefined;
  private readonly as6: Backend | undefined;
  private readonly info: GeoDatabaseInfo[];
  private readonly address = new Address();
  private failures = 0;

  constructor(handles: GeoDataHandles) {
    const slots: Record<string, Backend> = {};
    for (const source of handles.sources) {
      const backend = source.format === 'mmdb' ? new MmdbBackend(source) : new RangeBackend(source);
      for (const family of source.families) slots[`${source.kind}${family}`] = backend;
    }
    this.geo4 = slots.geoip4;
    this.geo6 = slots.geoip6;
    this.as4 = slots.asn4;
    this.as6 = slots.asn6;
    this.info = handles.sources.map(describeSource);
  }

  /**
   * ECS `geo` and `as` for an address; {} for anything that isn't a public address or that no
   * database knows. Never throws: a record that fails to decode counts in `failedLookups`.
   */
  lookup(ip: string): GeoAsnResult {
    if (typeof ip !== 'string' || ip.length > 64) return {};
    const a = this.address;
    const family = parseIp(ip, 0, ip.length, a.words);
    if (family === 0) return {};
    const v4 = family === 4 ? (a.words[0] ?? 0) : embeddedIpv4(a.words);
    if (v4 >= 0) {
      if (isReservedIpv4(v4)) return {};
      a.reset(family === 4 ? ip : formatIpv4(v4), 4, v4);
    } else {
      if (isReservedIpv6(a.words)) return {};
      a.reset(ip, 6, -1);
    }
    const result: GeoAsnResult = {};
    const geoBackend = a.family === 4 ? this.geo4 : this.geo6;
    const asBackend = a.family === 4 ? this.as4 : this.as6;
    if (geoBackend !== undefined) {
      const geo = this.guard(() => geoBackend.geo(a));
      if (geo !== undefined) result.geo = geo;
    }
    if (asBackend !== undefined) {
      const as = this.guard(() => asBackend.as(a));
      if (as !== undefined) result.as = as;
    }
    return result;
  }

  /** The loaded files: kind, path, database type and build time, for metrics and logs. */
  describe(): GeoDatabaseInfo[] {
    return this.info.map((i) => ({ ...i, families: [...i.families] }));
  }

  /** Lookups whose record could not be decoded (a corrupt part of a file). */
  get failedLookups(): number {
    return this.failures;
  }

  private guard<T>(fn: () => T | undefined): T | undefined {
    try {
      return fn();
    } catch {
      this.failures++;
      return undefined;
    }
  }
}

function describeSource(s: SourceHandle): GeoDatabaseInfo {
  return {
    kind: s.kind,
    path: s.path,
    type: s.type,
    buildEpoch: s.buildEpoch,
    ipVersion: s.ipVersion,
    families: [...s.families],
    bundled: s.bundled,
  };
}

/** Whole days since a build time (seconds since the epoch), for "database is N days old" warnings. */
export function ageDays(buildEpoch: number | undefined, now: number = Date.now()): number | undefined {
  if (buildEpoch === undefined || !Number.isFinite(buildEpoch)) return undefined;
  return Math.max(0, Math.floor((now / 1000 - buildEpoch) / 86_400));
}
