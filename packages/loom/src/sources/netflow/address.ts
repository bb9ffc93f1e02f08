import { ipv6GroupsText } from '../../net/ipv6-text.js';

/** Address text of the bytes in flow records: IPv4 dotted quads, RFC 5952 IPv6, colon-separated MACs. */

export function ipv4Text(buf: Uint8Array, at: number): string {
  return `${buf[at] as number}.${buf[at + 1] as number}.${buf[at + 2] as number}.${buf[at + 3] as number}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function ipv6Text(buf: Uint8Array, at: number): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = ((buf[at + i * 2] as number) << 8) | (buf[at + i * 2 + 1] as number);
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${ipv4Text(buf, at + 12)}`;
  }
  return ipv6GroupsText(groups);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function macText(buf: Uint8Array, at: number): string {
  return `${HEX[buf[at] as number]}:${HEX[buf[at + 1] as number]}:${HEX[buf[at + 2] as number]}:${HEX[buf[at + 3] as number]}:${HEX[buf[at + 4] as number]}:${HEX[buf[at + 5] as number]}`;
}
