import { BlockList, isIP } from 'node:net';

/** An allowed network: "10.0.0.0/8", "2001:db8::/32", or one address. */
export interface Network {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses "address/prefix" or a bare address (a /32 or /128); undefined when it is neither. */
export function parseNetwork(text: string): Network | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: bits, family: version === 4 ? 'ipv4' : 'ipv6' };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Which peer addresses an input accepts. Answers are cached: peers are few and send often. */
export class AllowList {
  private readonly list = new BlockList();
  private readonly cache = new Map<string, boolean>();

  /** @param networks already checked by parseNetwork (the config does that, naming the key) */
  constructor(networks: readonly string[]) {
    for (const text of networks) {
      const network = parseNetwork(text);
      if (network !== undefined) this.list.addSubnet(network.address, network.prefix, network.family);
    }
  }

  /** `address` as the socket reports it, with IPv4-mapped IPv6 already turned into IPv4. */
  allows(address: string): boolean {
    let allowed = this.cache.get(address);
    if (allowed !== undefined) return allowed;
    const version = isIP(address);
    allowed = version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    // Spoofed sources could be endless: the cache starts over rather than grow without bound.
    if (this.cache.size >= 4096) this.cache.clear();
    this.cache.set(address, allowed);
    return allowed;
  }
}
