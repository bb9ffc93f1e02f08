/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers") and the keyword names ECS
 * uses in `network.transport`. Only protocols flow exporters commonly report have names;
 * any other number is still accepted and kept in `network.iana_number`.
 */
const keywords: ReadonlyMap<number, string> = new Map([
  [0, 'hopopt'], [1, 'icmp'], [2, 'igmp'], [4, 'ipv4'], [6, 'tcp'], [8, 'egp'], [17, 'udp'],
  [41, 'ipv6'], [43, 'ipv6-route'], [44, 'ipv6-frag'], [46, 'rsvp'], [47, 'gre'], [50, 'esp'],
  [51, 'ah'], [58, 'ipv6-icmp'], [59, 'ipv6-nonxt'], [60, 'ipv6-opts'], [88, 'eigrp'], [89, 'ospf'],
  [103, 'pim'], [112, 'vrrp'], [115, 'l2tp'], [132, 'sctp'], [136, 'udplite'],
]);

const numbers: ReadonlyMap<string, number> = new Map([
  ...[...keywords].map(([number, name]) => [name, number] as const),
  // Spellings other tools use for the same protocols.
  ['icmpv6', 58], ['icmp6', 58], ['ipv6icmp', 58], ['ospfigp', 89], ['ipip', 4], ['ip-in-ip', 4],
]);

/** The ECS `network.transport` keyword for a protocol number, when it has one. */
export function transportName(number: number): string | undefined {
  return keywords.get(number);
}

/** A protocol number from a number, a decimal string or a name ("tcp", "UDP", "icmpv6"). */
export function protocolNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d{1,3}$/.test(text)) return protocolNumber(Number(text));
  return numbers.get(text);
}
