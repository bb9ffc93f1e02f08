// Builds SSH_MSG_KEXINIT binary packets from algorithm lists, for tests, fuzzing and load
// generators that need a specific HASSH on the wire without an SSH library choosing the bytes.

export interface KexInitSpec {
  /** Up to ten name-lists in wire order; missing ones are sent empty. */
  lists: string[];
  cookie?: Uint8Array;
  firstKexPacketFollows?: boolean;
  /** Padding bytes; by default the fewest (≥ 4) that make the packet a multiple of 8. */
  padding?: number;
}

export function buildKexInitPacket(spec: KexInitSpec): Uint8Array {
  const parts: number[] = [20, ...(spec.cookie ?? new Uint8Array(16))];
  for (let i = 0; i < 10; i++) {
    const list = Buffer.from(spec.lists[i] ?? '', 'utf8');
    parts.push(...u32(list.length), ...list);
  }
  parts.push(spec.firstKexPacketFollows === true ? 1 : 0, ...u32(0));
  let padding = spec.padding;
  if (padding === undefined) {
    padding = 4;
    while ((4 + 1 + parts.length + padding) % 8 !== 0) padding++;
  }
  const packetLength = 1 + parts.length + padding;
  return Uint8Array.from([...u32(packetLength), padding, ...parts, ...new Array<number>(padding).fill(0)]);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
