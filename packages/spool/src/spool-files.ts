import { copyFile, mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { crc32 } from './crc32.js';

export const SEGMENT_NAME = /^(\d{20})\.seg$/;
export const ACK_FILE = 'ack';
export const QUARANTINE_DIR = 'quarantine';

/** Zero-padded so that names sort in sequence order. */
export function segmentName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

/** ack file: "SPIPACK1" segment:u64be offset:u64be crc32:u32be (of the 24 bytes before it). */
const ACK_MAGIC = Buffer.from('SPIPACK1', 'latin1');
const ACK_BYTES = ACK_MAGIC.length + 8 + 8 + 4;

export function encodeAck(segment: number, offset: number): Buffer {
  const buf = Buffer.alloc(ACK_BYTES);
  ACK_MAGIC.copy(buf, 0);
  buf.writeBigUInt64BE(BigInt(segment), 8);
  buf.writeBigUInt64BE(BigInt(offset), 16);
  buf.writeUInt32BE(crc32(buf.subarray(0, ACK_BYTES - 4)), ACK_BYTES - 4);
  return buf;
}

export function decodeAck(buf: Buffer): { segment: number; offset: number } | undefined {
  const valid = buf.length === ACK_BYTES
    && buf.subarray(0, ACK_MAGIC.length).equals(ACK_MAGIC)
    && buf.readUInt32BE(ACK_BYTES - 4) === crc32(buf.subarray(0, ACK_BYTES - 4));
  return valid ? { segment: Number(buf.readBigUInt64BE(8)), offset: Number(buf.readBigUInt64BE(16)) } : undefined;
}

export async function writeAll(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < buf.length) {
    const { bytesWritten } = await handle.write(buf, written, buf.length - written, position + written);
    written += bytesWritten;
  }
}

/** A new or renamed file survives power loss only once its directory entry is synced. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves or copies a damaged file into <dir>/quarantine/, where nothing reads it again. */
export async function quarantineFile(dir: string, file: string, how: 'move' | 'copy'): Promise<string> {
  const target = join(dir, QUARANTINE_DIR, `${basename(file)}.${Date.now()}`);
  await mkdir(join(dir, QUARANTINE_DIR), { recursive: true });
  if (how === 'move') await rename(file, target);
  else await copyFile(file, target);
  return target;
}

/** Replaces a file's contents atomically: the old or the new version survives a crash, never a mix. */
export async function replaceFile(dir: string, file: string, contents: Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await writeAll(handle, contents, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncDir(dir);
}

export async function closeQuietly(handle: FileHandle | undefined): Promise<void> {
  await handle?.close().catch(() => undefined);
}
