import { crc32 } from './crc32.js';

/**
 * Spool segment layout:
 *
 *   segment = "SPIPSEG1" frame*
 *   frame   = length:u32be  payloadCrc:u32be  headerCrc:u32be  payload[length]
 *
 * payloadCrc is the CRC-32 of the payload (one record: an event, or a batch of them); headerCrc is the
 * CRC-32 of the first eight header bytes. The header's own checksum matters: it tells a
 * damaged length apart from a damaged payload, so that one bad payload costs one record
 * instead of everything after it, and a torn tail is never mistaken for corruption.
 */
// The name comes from the sensor, which used this format first; kept so existing spools still open.
export const SEGMENT_MAGIC = Buffer.from('SPIPSEG1', 'latin1');
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;
export const FRAME_HEADER_BYTES = 12;
/** A length above this is damage, not a record (Loom's largest possible body). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function frameHeader(payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  header.writeUInt32BE(crc32(header.subarray(0, 8)), 8);
  return header;
}

export type FrameRead =
  | { kind: 'ok'; payload: Buffer; end: number }
  /** The buffer ends before the frame does: read `need` bytes from the frame start. */
  | { kind: 'short'; need: number }
  | { kind: 'bad-header' }
  | { kind: 'bad-payload'; end: number };

/** Reads the frame starting at `offset`; the payload is a view into `buf`. */
export function readFrame(buf: Buffer, offset: number): FrameRead {
  if (buf.length - offset < FRAME_HEADER_BYTES) return { kind: 'short', need: FRAME_HEADER_BYTES };
  const length = buf.readUInt32BE(offset);
  if (buf.readUInt32BE(offset + 8) !== crc32(buf.subarray(offset, offset + 8)) || length === 0 || length > MAX_RECORD_BYTES) {
    return { kind: 'bad-header' };
  }
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buf.length) return { kind: 'short', need: FRAME_HEADER_BYTES + length };
  const payload = buf.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(payload) !== buf.readUInt32BE(offset + 4)) return { kind: 'bad-payload', end };
  return { kind: 'ok', payload, end };
}

export interface SegmentScan {
  /** Whether the file starts with the segment magic. */
  magic: boolean;
  /** [start, end) of every intact frame, in order. */
  frames: [number, number][];
  /** Frames whose header was intact but whose payload was not: skipped. */
  corruptRecords: number;
  /** Where an incomplete last write starts: the file should be cut here. */
  tornAt: number | undefined;
  /** A damaged header with data after it: nothing from here on can be framed. */
  unreadableFrom: number | undefined;
}

/**
 * Walks a whole segment file. A crash can leave the last write unfinished (cut short, or
 * a file length extended over zeros): that is a torn tail, cut off without loss of any
 * record that was ever shipped. Anything else that fails a checksum is corruption.
 */
export function scanSegment(buf: Buffer): SegmentScan {
  const scan: SegmentScan = { magic: false, frames: [], corruptRecords: 0, tornAt: undefined, unreadableFrom: undefined };
  if (buf.length < SEGMENT_HEADER_BYTES || !buf.subarray(0, SEGMENT_HEADER_BYTES).equals(SEGMENT_MAGIC)) return scan;
  scan.magic = true;
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < buf.length) {
    const frame = readFrame(buf, offset);
    if (frame.kind === 'ok') {
      scan.frames.push([offset, frame.end]);
      offset = frame.end;
    } else if (frame.kind === 'short' || (frame.kind === 'bad-payload' && frame.end === buf.length) || allZero(buf, offset)) {
      scan.tornAt = offset;
      break;
    } else if (frame.kind === 'bad-payload') {
      scan.corruptRecords++;
      offset = frame.end;
    } else {
      scan.unreadableFrom = offset;
      break;
    }
  }
  return scan;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
