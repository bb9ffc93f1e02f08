/**
 * Which addresses are worth a public lookup (reverse DNS, and anything else that asks the
 * internet about an address). A PTR for a private or special-purpose address is meaningless
 * at best, and at worst it asks an internal resolver for internal host names and writes them
 * into events. The lists follow the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (RFC 6890 and later updates).
 *
 * Not public, IPv4:
 *   0.0.0.0/8        "this network"                 RFC 791
 *   10.0.0.0/8       private                        RFC 1918
 *   100.64.0.0/10    carrier-grade NAT              RFC 6598
 *   127.0.0.0/8      loopback                       RFC 1122
 *   169.254.0.0/16   link-local                     RFC 3927
 *   172.16.0.0/12    private                        RFC 1918
 *   192.0.0.0/24     IETF protocol assignments      RFC 6890
 *   192.0.2.0/24     documentation (TEST-NET-1)     RFC 5737
 *   192.88.99.0/24   6to4 relay anycast, retired    RFC 7526
 *   192.168.0.0/16   private                        RFC 1918
 *   198.18.0.0/15    benchmarking                   RFC 2544
 *   198.51.100.0/24  documentation (TEST-NET-2)     RFC 5737
 *   203.0.113.0/24   documentation (TEST-NET-3)     RFC 5737
 *   224.0.0.0/4      multicast                      RFC 5771
 *   240.0.0.0/4      reserved, and 255.255.255.255 broadcast   RFC 1112, RFC 919
 *
 * IPv6 is public only inside 2000::/3, the global unicast space: that one rule excludes
 * ::/128 unspecified, ::1/128 loopback, 64:ff9b::/96 and 64:ff9b:1::/48 NAT64 (the real peer
 * is the embedded IPv4 address, whose name ip6.arpa does not know), 100::/64 discard-only,
 * 5f00::/16 SRv6, fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local and
 * ff00::/8 multicast. Inside 2000::/3, not public:
 *   2001::/23        IETF protocol assignments (Teredo, ORCHID, benchmarking …)   RFC 2928
 *   2001:db8::/32    documentation                  RFC 3849
 *   3fff::/20        documentation                  RFC 9637
 * IPv4-mapped addresses (::ffff:0:0/96) are judged by the IPv4 address they carry.
 */
import { parseAddress } from './address.js';

/** True for a syntactically valid address outside every range listed above. */
export function isPublicAddress(ip: string): boolean {
  const address = parseAddress(ip);
  return address !== undefined && isPublic(address);
}

/** The same test on the bytes from parseAddress (4 or 16 of them). */
export function isPublic(address: Uint8Array): boolean {
  if (address.length === 4) return !IPV4_SPECIAL.some((range) => inRange(address, range));
  if (!inRange(address, GLOBAL_UNICAST)) return false;
  return !IPV6_SPECIAL.some((range) => inRange(address, range));
}

interface Range {
  bytes: Uint8Array;
  bits: number;
}

function range(prefix: string, bits: number): Range {
  const bytes = parseAddress(prefix);
  if (bytes === undefined) throw new Error(`bad prefix ${prefix}`);
  return { bytes, bits };
}

function inRange(address: Uint8Array, { bytes, bits }: Range): boolean {
  if (address.length !== bytes.length) return false;
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== bytes[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[whole] ?? 0) & mask) === ((bytes[whole] ?? 0) & mask);
}

const IPV4_SPECIAL: Range[] = [
  range('0.0.0.0', 8),
  range('10.0.0.0', 8),
  range('100.64.0.0', 10),
  range('127.0.0.0', 8),
  range('169.254.0.0', 16),
  range('172.16.0.0', 12),
  range('192.0.0.0', 24),
  range('192.0.2.0', 24),
  range('192.88.99.0', 24),
  range('192.168.0.0', 16),
  range('198.18.0.0', 15),
  range('198.51.100.0', 24),
  range('203.0.113.0', 24),
  range('224.0.0.0', 4),
  range('240.0.0.0', 4),
];

const GLOBAL_UNICAST = range('2000::', 3);

const IPV6_SPECIAL: Range[] = [
  range('2001::', 23),
  range('2001:db8::', 32),
  range('3fff::', 20),
];
