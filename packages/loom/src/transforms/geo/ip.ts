/**
 * Strict IP address parsing into numbers, and the special-purpose ranges that no database is
 * asked about. Parses a slice of a string so the CSV loader can use it without copying.
 */

const groups = new Uint16Array(8);

/**
 * Parses s[start, end) as an IP address. IPv4 leaves the address in out[0]; IPv6 leaves four
 * big-endian 32-bit words in out[0..3]. Returns 4, 6, or 0 for anything that isn't an address
 * (leading zeros in IPv4 parts, brackets, ports and whitespace included).
 */
export function parseIp(s: string, start: number, end: number, out: Uint32Array): 0 | 4 | 6 {
  for (let i = start; i < end; i++) {
    if (s.charCodeAt(i) === 58 /* : */) return parseIpv6(s, start, end, out);
  }
  const v4 = parseIpv4(s, start, end);
  if (v4 < 0) return 0;
  out[0] = v4;
  return 4;
}

/** The address as an unsigned 32-bit number, or -1. */
function parseIpv4(s: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let part = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part > 255 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIpv6(s: string, start: number, endWithZone: number, out: Uint32Array): 0 | 6 {
  let end = endWithZone;
  for (let i = start; i < endWithZone; i++) {
    if (s.charCodeAt(i) === 37 /* % */) {
      if (i === endWithZone - 1) return 0;
      end = i;
      break;
    }
  }
  let count = 0;
  let gap = -1;
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return 0;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      if (count > 6) return 0;
      const v4 = parseIpv4(s, groupStart, end);
      if (v4 < 0) return 0;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return 0;
    groups[count++] = value;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return 0;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return 0;
      gap = count;
      i++;
    } else if (i === end) {
      return 0;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return 0;
  const missing = 8 - count;
  for (let w = 0; w < 4; w++) {
    const hi = wordAt(2 * w, gap, missing);
    const lo = wordAt(2 * w + 1, gap, missing);
    out[w] = ((hi << 16) | lo) >>> 0;
  }
  return 6;
}

/** Group k of the expanded address, where `missing` zero groups stand at the `::`. */
function wordAt(k: number, gap: number, missing: number): number {
  if (gap < 0 || k < gap) return groups[k] ?? 0;
  if (k < gap + missing) return 0;
  return groups[k - missing] ?? 0;
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), the NAT64
 * well-known prefix (64:ff9b::/96) and 6to4 (2002::/16), or -1. A peer seen through any of
 * them is the IPv4 host, which is what the databases know about.
 */
export function embeddedIpv4(w: Uint32Array): number {
  const w0 = w[0] ?? 0;
  const w1 = w[1] ?? 0;
  const w2 = w[2] ?? 0;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return w[3] ?? 0;
  if (w0 === 0x0064ff9b && w1 === 0 && w2 === 0) return w[3] ?? 0;
  if (w0 >>> 16 === 0x2002) return (((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0;
  return -1;
}

/**
 * Addresses that are never a peer on the internet (RFC 6890 registry entries that are not
 * globally reachable, multicast, and the reserved 240/4): private, shared, loopback,
 * link-local, documentation, benchmarking and "this network".
 */
export function isReservedIpv4(a: number): boolean {
  const octet = a >>> 24;
  switch (octet) {
    case 0:
    case 10:
    case 127:
      return true;
    case 100:
      return a >>> 22 === (0x64400000 >>> 22);
    case 169:
      return a >>> 16 === 0xa9fe;
    case 172:
      return a >>> 20 === 0xac1;
    case 192:
      return a >>> 8 === 0xc00000 || a >>> 8 === 0xc00002 || a >>> 16 === 0xc0a8;
    case 198:
      return a >>> 17 === (0xc6120000 >>> 17) || a >>> 8 === 0xc63364;
    case 203:
      return a >>> 8 === 0xcb0071;
    default:
      return octet >= 224;
  }
}

/**
 * Everything outside 2000::/3, the only block with global unicast allocations (loopback,
 * unspecified, ULA, link-local, multicast, discard), plus documentation (2001:db8::/32,
 * 3fff::/20), benchmarking (2001:2::/48) and ORCHID (2001:10::/28, 2001:20::/28).
 */
export function isReservedIpv6(w: Uint32Array): boolean {
  const w0 = w[0] ?? 0;
  if (w0 >>> 29 !== 1) return true;
  if (w0 === 0x20010db8 || w0 >>> 12 === 0x3fff0) return true;
  if (w0 === 0x20010002 && (w[1] ?? 0) >>> 16 === 0) return true;
  const orchid = w0 >>> 4;
  return orchid === 0x2001001 || orchid === 0x2001002;
}

export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Uncompressed form, which every reader parses the same way. */
export function formatIpv6(w: Uint32Array): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const word = w[i] ?? 0;
    s += `${i === 0 ? '' : ':'}${(word >>> 16).toString(16)}:${(word & 0xffff).toString(16)}`;
  }
  return s;
}
