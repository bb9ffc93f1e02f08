// The two things an SSH peer sends in the clear before key exchange (RFC 4253 §4.2 and §7.1):
// its identification line and its SSH_MSG_KEXINIT. Pure functions over bytes; never throw.

export interface SshIdentification {
  /** The whole line without its line ending, e.g. "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5". */
  raw: string;
  /** "2.0", "1.99" (a server that also speaks SSH-1), "1.5", … as sent. */
  protoVersion: string;
  /** "OpenSSH_7.6p1"; "" when the line stops after the protocol version. */
  softwareVersion: string;
  /** Text after the first space following the software version, when there is any. */
  comments: string | undefined;
}

export interface KexInit {
  cookie: Uint8Array;
  /**
   * The ten name-lists in wire order: kex, server host key, encryption c→s, s→c, MAC c→s, s→c,
   * compression c→s, s→c, languages c→s, s→c.
   */
  lists: string[];
  firstKexPacketFollows: boolean;
}

/** RFC 4253 §4.2: at most 255 characters including the CR LF. */
export const MAX_IDENTIFICATION_LINE = 255;
/** Lines a server may send before its identification (RFC 4253 §4.2); more means it is not SSH. */
export const MAX_PREFACE_LINES = 16;
/**
 * RFC 4253 §6.1 requires support for packets of 35000 bytes in total; the packet_length field
 * is held to that, which comfortably fits every KEXINIT seen in practice (a few kilobytes).
 */
export const MAX_PACKET_LENGTH = 35000;

const SSH_MSG_KEXINIT = 20;
const NAME_LISTS = 10;
// message type, cookie, ten empty name-lists, first_kex_packet_follows, reserved uint32
const MIN_KEXINIT_PAYLOAD = 1 + 16 + NAME_LISTS * 4 + 1 + 4;
const LF = 0x0a;
const CR = 0x0d;
const PREFIX = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Finds the identification line at the start of `buf`, skipping up to MAX_PREFACE_LINES text
 * lines that do not start with "SSH-". `length` counts every byte consumed, preface and line
 * ending included, so the binary packet protocol starts at `buf.subarray(length)`. A bare LF
 * ends a line as well as CR LF. 'need-more' while the bytes can still become an identification
 * line; undefined once they cannot (over-long line, binary preface, too many preface lines).
 */
export function parseSshIdentification(buf: Uint8Array): { ident: SshIdentification; length: number } | 'need-more' | undefined {
  let pos = 0;
  for (let lines = 0; ; lines++) {
    const available = Math.min(buf.length - pos, MAX_IDENTIFICATION_LINE);
    let prefixMatched = 0;
    while (prefixMatched < Math.min(4, available) && buf[pos + prefixMatched] === PREFIX[prefixMatched]) prefixMatched++;
    const isIdentification = prefixMatched === 4;
    if (!isIdentification && prefixMatched === available) return 'need-more';
    if (!isIdentification && lines >= MAX_PREFACE_LINES) return undefined;

    let lf = -1;
    for (let i = pos; i < pos + available; i++) {
      const byte = buf[i] ?? 0;
      if (byte === LF) {
        lf = i;
        break;
      }
      // Preface lines are text; binary here means this is some other protocol.
      if (!isIdentification && byte < 0x20 && byte !== 0x09 && byte !== CR) return undefined;
    }
    if (lf < 0) return available < MAX_IDENTIFICATION_LINE ? 'need-more' : undefined;
    if (isIdentification) {
      const end = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      const ident = splitIdentification(utf8.decode(buf.subarray(pos, end)));
      return ident === undefined ? undefined : { ident, length: lf + 1 };
    }
    pos = lf + 1;
  }
}

function splitIdentification(raw: string): SshIdentification | undefined {
  const rest = raw.slice(4);
  const delimiter = rest.search(/[- ]/);
  const protoVersion = delimiter < 0 ? rest : rest.slice(0, delimiter);
  if (protoVersion === '') return undefined;
  if (delimiter < 0 || rest[delimiter] === ' ') {
    const comments = delimiter < 0 ? '' : rest.slice(delimiter + 1);
    return { raw, protoVersion, softwareVersion: '', comments: comments === '' ? undefined : comments };
  }
  const software = rest.slice(delimiter + 1);
  const space = software.indexOf(' ');
  const comments = space < 0 ? '' : software.slice(space + 1);
  return {
    raw,
    protoVersion,
    softwareVersion: space < 0 ? software : software.slice(0, space),
    comments: comments === '' ? undefined : comments,
  };
}

/**
 * Reads one binary packet holding SSH_MSG_KEXINIT from the start of `buf` (the byte after the
 * identification line). Before key exchange there is no MAC and no encryption, so the packet is
 * uint32 packet_length, byte padding_length, payload, padding. Rejects as early as the bytes
 * allow (length out of range, padding too long for a KEXINIT, another message type), so a caller
 * never waits for 35000 bytes of something that is not a KEXINIT. `length` is the whole packet.
 * The padding is not required to be 4 bytes or to align the packet: the list contents are what
 * the fingerprint needs, and clients that get padding wrong are worth fingerprinting too.
 */
export function parseKexInit(buf: Uint8Array): { kexinit: KexInit; length: number } | 'need-more' | { error: string } {
  if (buf.length < 4) return 'need-more';
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const packetLength = view.getUint32(0);
  if (packetLength > MAX_PACKET_LENGTH) return { error: `packet length ${packetLength} exceeds ${MAX_PACKET_LENGTH}` };
  if (packetLength < 1 + MIN_KEXINIT_PAYLOAD) return { error: `packet length ${packetLength} is too short for a KEXINIT` };
  if (buf.length < 5) return 'need-more';
  const paddingLength = view.getUint8(4);
  const payloadLength = packetLength - 1 - paddingLength;
  if (payloadLength < MIN_KEXINIT_PAYLOAD) return { error: `padding length ${paddingLength} leaves ${payloadLength} payload bytes` };
  if (buf.length < 6) return 'need-more';
  if (buf[5] !== SSH_MSG_KEXINIT) return { error: `message type ${buf[5]} is not KEXINIT` };
  if (buf.length < 4 + packetLength) return 'need-more';

  const payloadEnd = 5 + payloadLength;
  let pos = 6;
  const cookie = new Uint8Array(buf.subarray(pos, pos + 16));
  pos += 16;
  const lists: string[] = [];
  for (let i = 0; i < NAME_LISTS; i++) {
    if (pos + 4 > payloadEnd) return { error: `name-list ${i} is truncated` };
    const length = view.getUint32(pos);
    pos += 4;
    if (length > payloadEnd - pos) return { error: `name-list ${i} length ${length} overruns the payload` };
    lists.push(utf8.decode(buf.subarray(pos, pos + length)));
    pos += length;
  }
  if (pos + 5 > payloadEnd) return { error: 'first_kex_packet_follows or reserved field is missing' };
  return { kexinit: { cookie, lists, firstKexPacketFollows: buf[pos] !== 0 }, length: 4 + packetLength };
}
