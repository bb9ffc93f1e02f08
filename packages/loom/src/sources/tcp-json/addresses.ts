import { BlockList, isIP } from 'node:net';

/**
 * The client address as the protocol reports and tracks it: an IPv4 client of a dual-stack
 * listener arrives as "::ffff:192.0.2.1" and is the same client as "192.0.2.1", so it is
 * written, rate limited and blacklisted as the latter. IPv6 addresses are lower-cased.
 */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && (address.charCodeAt(0) === 0x3a || address.charCodeAt(0) === 0x30)) {
    const lower = address.toLowerCase();
    const mapped = /^(?:(?:0{1,4}:){5}|::(?:0{1,4}:){0,4})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
    if (mapped?.[1] !== undefined && isIP(mapped[1]) === 4) return mapped[1];
    return lower;
  }
  return address.includes(':') ? address.toLowerCase() : address;
}

/** The pre-configured blacklist: single addresses and CIDR ranges, IPv4 and IPv6. */
export class AddressList {
  private readonly list = new BlockList();
  private entries = 0;

  /** Adds "192.0.2.1", "2001:db8::1", "198.51.100.0/24" or "2001:db8::/32"; returns a problem or undefined. */
  add(entry: string): string | undefined {
    const slash = entry.indexOf('/');
    const address = normalizeAddress(slash < 0 ? entry.trim() : entry.slice(0, slash).trim());
    const family = isIP(address);
    if (family === 0) return `${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR range`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      this.list.addAddress(address, type);
    } else {
      const prefixText = entry.slice(slash + 1).trim();
      const prefix = Number(prefixText);
      const max = family === 4 ? 32 : 128;
      if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `${JSON.stringify(entry)}: the prefix length must be 0 to ${max}`;
      this.list.addSubnet(address, prefix, type);
    }
    this.entries++;
    return undefined;
  }

  get size(): number {
    return this.entries;
  }

  /** address must already be normalised. */
  has(address: string): boolean {
    if (this.entries === 0) return false;
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
