/**
 * Writes small MaxMind DB files at test time with MaxMind's own writer, the Perl module
 * MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl), which also produces MaxMind's
 * official test databases.
 */
import { spawnSync } from 'node:child_process';

/** A MaxMind DB type name for each map key, as the writer needs: 'utf8_string', 'double', 'map', ['array', 'map'], … */
export type MmdbTypes = Record<string, string | [string, string]>;

export interface MmdbSpec {
  file: string;
  ipVersion: 4 | 6;
  databaseType: string;
  recordSize?: 24 | 28 | 32;
  types: MmdbTypes;
  /** CIDR and record, inserted in order (later ones win where they overlap). */
  networks: [string, Record<string, unknown>][];
  aliasIpv6ToIpv4?: boolean;
}

const SCRIPT = String.raw`
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;
local $/;
my $specs = JSON::PP->new->utf8->decode(<STDIN>);
for my $spec (@$specs) {
  my $types = $spec->{types};
  my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => $spec->{ipVersion},
    record_size => $spec->{recordSize} // 28,
    database_type => $spec->{databaseType},
    languages => ['en'],
    description => { en => 'Loom test database' },
    map_key_type_callback => sub { $types->{ $_[0] } // die "no type for key $_[0]\n" },
    alias_ipv6_to_ipv4 => ($spec->{aliasIpv6ToIpv4} ? 1 : 0),
    remove_reserved_networks => 0,
  );
  $tree->insert_network($_->[0], $_->[1]) for @{ $spec->{networks} };
  open my $fh, '>:raw', $spec->{file} or die "$spec->{file}: $!\n";
  $tree->write_tree($fh);
  close $fh or die "$spec->{file}: $!\n";
}
`;

const MISSING = 'MaxMind::DB::Writer is not installed: apt-get install libmaxmind-db-writer-perl';

export function writeMmdbFiles(specs: MmdbSpec[]): void {
  const run = spawnSync('perl', ['-e', SCRIPT], { input: JSON.stringify(specs), encoding: 'utf8' });
  if (run.error !== undefined) throw new Error(`cannot run perl: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(run.stderr.includes('MaxMind/DB/Writer') ? MISSING : `mmdb writer failed: ${run.stderr}`);
  }
}

/** Key types of the flat ip-location-db / DB-IP lite layout (coordinates are floats there). */
export const FLAT_TYPES: MmdbTypes = {
  city: 'utf8_string',
  country_code: 'utf8_string',
  latitude: 'float',
  longitude: 'float',
  postcode: 'utf8_string',
  state1: 'utf8_string',
  state2: 'utf8_string',
  timezone: 'utf8_string',
};

export const ASN_TYPES: MmdbTypes = {
  autonomous_system_number: 'uint32',
  autonomous_system_organization: 'utf8_string',
};

export const GEOIP2_TYPES: MmdbTypes = {
  city: 'map',
  continent: 'map',
  country: 'map',
  location: 'map',
  postal: 'map',
  registered_country: 'map',
  subdivisions: ['array', 'map'],
  names: 'map',
  en: 'utf8_string',
  code: 'utf8_string',
  iso_code: 'utf8_string',
  geoname_id: 'uint32',
  latitude: 'double',
  longitude: 'double',
  accuracy_radius: 'uint16',
  time_zone: 'utf8_string',
};
