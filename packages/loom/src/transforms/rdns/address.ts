/**
 * IP address text → bytes, and bytes → the reverse-lookup name. Written out rather than
 * leaning on net.isIP so that every spelling of one address (zero-compressed or not,
 * upper- or lower-case hex, IPv4-mapped) ends up as the same bytes and so the same cache key.
 */

/**
 * The 4 or 16 bytes of an IPv4 or IPv6 address, or undefined if `text` is not one.
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.1, as dual-stack sockets report IPv4 peers)
 * comes back as its 4 IPv4 bytes: that is the host it names. Zone ids (fe80::1%eth0) and
 * IPv4 octets with leading zeros (ambiguous: some parsers read them as octal) are rejected.
 */
export function parseAddress(text: string): Uint8Array | undefined {
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    if (bytes !== undefined && isIPv4Mapped(bytes)) return bytes.slice(12);
    return bytes;
  }
  return parseIPv4(text);
}

/** The PTR query name: 1.2.0.192.in-addr.arpa, or 32 reversed nibbles under ip6.arpa. */
export function reverseName(address: Uint8Array): string {
  const labels: string[] = [];
  if (address.length === 4) {
    for (let i = 3; i >= 0; i--) labels.push(String(address[i]));
    labels.push('in-addr.arpa');
  } else {
    for (let i = 15; i >= 0; i--) {
      const byte = address[i] ?? 0;
      labels.push((byte & 0x0f).toString(16), (byte >> 4).toString(16));
    }
    labels.push('ip6.arpa');
  }
  return labels.join('.');
}

function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    if (!IPV4_OCTET.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | undefined {
  // A dotted IPv4 tail (::ffff:192.0.2.1, 64:ff9b::198.51.100.7) stands for the last two
  // groups: parse it apart and let two zero groups hold its place.
  let v4: Uint8Array | undefined;
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':');
    v4 = parseIPv4(text.slice(cut + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, cut + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const written = head.length + tail.length;
  // "::" stands for at least one zero group; without it all eight must be written.
  if (halves.length === 2 ? written > 7 : written !== 8) return undefined;

  const bytes = new Uint8Array(16);
  const put = (word: number, index: number): void => {
    bytes[2 * index] = word >> 8;
    bytes[2 * index + 1] = word & 0xff;
  };
  head.forEach((word, i) => put(word, i));
  tail.forEach((word, i) => put(word, 8 - tail.length + i));
  if (v4 !== undefined) bytes.set(v4, 12);
  return bytes;
}

/** The 16-bit groups of one side of "::"; an empty side is no groups, an empty group is an error. */
function groups(text: string): number[] | undefined {
  if (text === '') return [];
  const words: number[] = [];
  for (const group of text.split(':')) {
    if (!IPV6_GROUP.test(group)) return undefined;
    words.push(parseInt(group, 16));
  }
  return words;
}
