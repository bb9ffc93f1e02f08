/**
 * Reading MaxMind DB files into shared memory and checking them before use. mmdb-lib trusts
 * the file: a bad node count or pointer makes it throw on some lookups or return garbage on
 * others. So a file is checked once when it is opened — the search tree fits, and the first
 * records in tree order decode with the sizes the format requires — and rejected with its
 * path if not. Lookups stay guarded too, since only a sample of a large file is checked.
 */
import { open } from 'node:fs/promises';
import { Reader, type Response } from 'mmdb-lib';
import { parseMetadata, type Metadata } from 'mmdb-lib/lib/metadata.js';
import { formatIpv4, formatIpv6 } from './ip.js';
import { shapeOf } from './records.js';
import { GeoDataError, type AddressFamily, type RecordShape } from './types.js';

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** The format caps metadata at 128 KiB. */
const METADATA_MAX = 128 * 1024;
const DATA_SEPARATOR = 16;
const READ_CHUNK = 16 << 20;
/** Enough to cover MaxMind's test databases whole, and to sample a real one in a few milliseconds. */
const SAMPLE_NODES = 16_384;
const SAMPLE_RECORDS = 256;
const SHAPE_RECORDS = 64;

export interface MmdbMetadata {
  databaseType: string;
  ipVersion: AddressFamily;
  /** Seconds since the epoch. */
  buildEpoch: number | undefined;
}

export function fsErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

/** Opens a database for reading; a failure names the file. */
async function openReadable(path: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new GeoDataError(path, `not readable: ${fsErrorText(error)}`);
  }
}

/** The whole file in a SharedArrayBuffer, read in chunks on the thread pool. */
export async function readShared(path: string): Promise<SharedArrayBuffer> {
  const handle = await openReadable(path);
  try {
    const { size } = await handle.stat();
    const data = new SharedArrayBuffer(size);
    const view = new Uint8Array(data);
    let position = 0;
    while (position < size) {
      const { bytesRead } = await handle.read(view, position, Math.min(READ_CHUNK, size - position), position);
      if (bytesRead === 0) throw new GeoDataError(path, 'file shrank while being read');
      position += bytesRead;
    }
    return data;
  } catch (error) {
    if (error instanceof GeoDataError) throw error;
    throw new GeoDataError(path, `not readable: ${fsErrorText(error)}`);
  } finally {
    await handle.close();
  }
}

function metadataOf(m: Metadata, path: string): MmdbMetadata {
  if (m.binaryFormatMajorVersion !== 2) throw new GeoDataError(path, `unsupported MaxMind DB format version ${m.binaryFormatMajorVersion}`);
  if (m.ipVersion !== 4 && m.ipVersion !== 6) throw new GeoDataError(path, `metadata ip_version is ${m.ipVersion}, not 4 or 6`);
  if (!Number.isInteger(m.nodeCount) || m.nodeCount <= 0) throw new GeoDataError(path, `metadata node_count is ${m.nodeCount}`);
  const epoch = m.buildEpoch.getTime() / 1000;
  return {
    databaseType: typeof m.databaseType === 'string' ? m.databaseType : '',
    ipVersion: m.ipVersion,
    buildEpoch: Number.isFinite(epoch) && epoch > 0 ? epoch : undefined,
  };
}

function unreadable(path: string, error: unknown): GeoDataError {
  return new GeoDataError(path, `unreadable MaxMind DB metadata: ${error instanceof Error ? error.message : String(error)}`);
}

/** Metadata from the end of the file only, to pick files in a directory without reading them whole. */
export async function peekMetadata(path: string): Promise<MmdbMetadata> {
  const handle = await openReadable(path);
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, METADATA_MAX + METADATA_MARKER.length);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    const marker = tail.lastIndexOf(METADATA_MARKER);
    if (marker < 0) throw new GeoDataError(path, 'not a MaxMind DB file (no metadata section)');
    // The metadata holds no pointers into the data section, so the tail decodes on its own.
    let metadata: Metadata;
    try {
      metadata = parseMetadata(tail.subarray(marker));
    } catch (error) {
      throw unreadable(path, error);
    }
    return metadataOf(metadata, path);
  } catch (error) {
    if (error instanceof GeoDataError) throw error;
    throw new GeoDataError(path, `not readable: ${fsErrorText(error)}`);
  } finally {
    await handle.close();
  }
}

export interface CheckedMmdb extends MmdbMetadata {
  shape: RecordShape;
}

/** Checks structure and record layout of a whole file; throws GeoDataError naming it. */
export function checkMmdb(data: SharedArrayBuffer, path: string): CheckedMmdb {
  const db = Buffer.from(data);
  const dataEnd = db.lastIndexOf(METADATA_MARKER);
  if (dataEnd < 0) throw new GeoDataError(path, 'not a MaxMind DB file (no metadata section)');
  let raw: Metadata;
  try {
    raw = parseMetadata(db.subarray(dataEnd));
  } catch (error) {
    throw unreadable(path, error);
  }
  const metadata = metadataOf(raw, path);
  const { nodeCount, recordSize } = raw;
  const treeSize = (nodeCount * recordSize) / 4;
  if (treeSize + DATA_SEPARATOR > dataEnd) {
    throw new GeoDataError(path, `corrupt: a search tree of ${nodeCount} nodes does not fit in the file`);
  }
  for (let i = treeSize; i < treeSize + DATA_SEPARATOR; i++) {
    if (db[i] !== 0) throw new GeoDataError(path, 'corrupt: no data section separator after the search tree');
  }
  const dataStart = treeSize + DATA_SEPARATOR;
  let samples: Sample[];
  let reader: Reader<Response>;
  try {
    samples = sampleRecords(db, nodeCount, recordSize, metadata.ipVersion, dataStart, dataEnd);
    const checker = new DataChecker(db, dataStart, dataEnd);
    for (const sample of samples) checker.value(sample.offset, 0);
    reader = new Reader<Response>(db);
  } catch (error) {
    throw new GeoDataError(path, `corrupt: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ...metadata, shape: detectShape(reader, samples, path) };
}

function detectShape(reader: Reader<Response>, samples: Sample[], path: string): RecordShape {
  const shapes = new Set<RecordShape>();
  let firstKeys = '';
  for (const sample of samples.slice(0, SHAPE_RECORDS)) {
    let record: unknown;
    try {
      record = reader.get(sample.ip);
    } catch (error) {
      throw new GeoDataError(path, `corrupt: record for ${sample.ip} does not decode: ${error instanceof Error ? error.message : String(error)}`);
    }
    const shape = shapeOf(record);
    if (shape !== undefined) shapes.add(shape);
    else if (firstKeys === '' && typeof record === 'object' && record !== null) firstKeys = Object.keys(record).join(', ');
  }
  const [shape, other] = [...shapes];
  if (shape === undefined) {
    throw new GeoDataError(path, `records are neither GeoIP2/GeoLite2, DB-IP/ip-location-db nor ASN data (keys: ${firstKeys || 'none'})`);
  }
  if (other !== undefined) throw new GeoDataError(path, `records of different layouts (${shape} and ${other})`);
  return shape;
}

interface Sample {
  /** File offset of the record. */
  offset: number;
  /** The first address of a network that maps to it. */
  ip: string;
}

function recordReader(db: Buffer, recordSize: number): (node: number, right: boolean) => number {
  const bytes = recordSize / 4;
  switch (recordSize) {
    case 24:
      return (node, right) => db.readUIntBE(node * bytes + (right ? 3 : 0), 3);
    case 28:
      return (node, right) => {
        const at = node * bytes;
        const middle = db[at + 3] ?? 0;
        return right
          ? ((middle & 0x0f) * 0x1000000 + db.readUIntBE(at + 4, 3))
          : ((middle >>> 4) * 0x1000000 + db.readUIntBE(at, 3));
      };
    default:
      return (node, right) => db.readUInt32BE(node * bytes + (right ? 4 : 0));
  }
}

/**
 * Walks the search tree depth first, left before right, collecting the distinct records it
 * reaches with the address of each, and checks every record value it reads on the way.
 */
function sampleRecords(
  db: Buffer,
  nodeCount: number,
  recordSize: number,
  ipVersion: AddressFamily,
  dataStart: number,
  dataEnd: number,
): Sample[] {
  const bits = ipVersion === 4 ? 32 : 128;
  const read = recordReader(db, recordSize);
  const samples: Sample[] = [];
  const seen = new Set<number>();
  const stack: { node: number; depth: number; path: Uint8Array }[] = [{ node: 0, depth: 0, path: new Uint8Array(16) }];
  let visited = 0;
  while (stack.length > 0 && visited < SAMPLE_NODES && samples.length < SAMPLE_RECORDS) {
    const top = stack.pop();
    if (top === undefined) break;
    const { node, depth, path } = top;
    visited++;
    for (const right of [true, false]) {
      const value = read(node, right);
      const childPath = right ? withBit(path, depth) : path;
      if (value < nodeCount) {
        if (depth + 1 >= bits) throw new Error(`search tree is deeper than ${bits} bits`);
        stack.push({ node: value, depth: depth + 1, path: childPath });
      } else if (value > nodeCount) {
        const offset = dataStart + value - nodeCount - DATA_SEPARATOR;
        if (offset < dataStart || offset >= dataEnd) throw new Error(`search tree points outside the data section (record ${value})`);
        if (seen.has(offset)) continue;
        seen.add(offset);
        samples.push({ offset, ip: formatPath(childPath, bits) });
      }
    }
  }
  return samples;
}

function withBit(path: Uint8Array, bit: number): Uint8Array {
  const copy = path.slice();
  copy[bit >>> 3] = (copy[bit >>> 3] ?? 0) | (0x80 >>> (bit & 7));
  return copy;
}

function formatPath(path: Uint8Array, bits: number): string {
  const words = new Uint32Array(4);
  const view = new DataView(path.buffer, path.byteOffset, 16);
  for (let w = 0; w < 4; w++) words[w] = view.getUint32(w * 4);
  return bits === 32 ? formatIpv4(words[0] ?? 0) : formatIpv6(words);
}

/** Walks a data value as the format defines it, following pointers, without building it. */
class DataChecker {
  private readonly checked = new Set<number>();
  private steps = 0;

  constructor(
    private readonly db: Buffer,
    private readonly dataStart: number,
    private readonly dataEnd: number,
  ) {}

  /** Returns the offset just past the value. */
  value(offset: number, depth: number): number {
    if (depth > 64 || ++this.steps > 2_000_000) throw new Error('data nested too deeply');
    if (offset >= this.dataEnd) throw new Error(`value at offset ${offset} is past the data section`);
    const db = this.db;
    const control = this.byte(offset);
    let at = offset + 1;
    let type = control >>> 5;
    if (type === 1) {
      const size = (control >>> 3) & 3;
      this.need(at, size + 1);
      const low = control & 7;
      let pointer: number;
      if (size === 0) pointer = low * 0x100 + this.byte(at);
      else if (size === 1) pointer = low * 0x10000 + db.readUInt16BE(at) + 2048;
      else if (size === 2) pointer = low * 0x1000000 + db.readUIntBE(at, 3) + 526336;
      else pointer = db.readUInt32BE(at);
      const target = this.dataStart + pointer;
      if (target >= this.dataEnd) throw new Error(`pointer at offset ${offset} leads outside the data section`);
      if (this.byte(target) >>> 5 === 1) throw new Error(`pointer at offset ${offset} leads to another pointer`);
      if (!this.checked.has(target)) {
        this.checked.add(target);
        this.value(target, depth + 1);
      }
      return at + size + 1;
    }
    if (type === 0) {
      type = 7 + this.byte(at++);
      if (type < 8 || type > 15) throw new Error(`unknown data type at offset ${offset}`);
    }
    let size = control & 0x1f;
    if (size === 29) size = 29 + this.byte(at++);
    else if (size === 30) {
      this.need(at, 2);
      size = 285 + db.readUInt16BE(at);
      at += 2;
    } else if (size === 31) {
      this.need(at, 3);
      size = 65821 + db.readUIntBE(at, 3);
      at += 3;
    }
    switch (type) {
      case 2:
      case 4:
        return this.need(at, size);
      case 3:
        if (size !== 8) throw new Error(`double of ${size} bytes at offset ${offset}`);
        return this.need(at, size);
      case 15:
        if (size !== 4) throw new Error(`float of ${size} bytes at offset ${offset}`);
        return this.need(at, size);
      case 5:
        return this.sized(at, size, 2, offset);
      case 6:
      case 8:
        return this.sized(at, size, 4, offset);
      case 9:
        return this.sized(at, size, 8, offset);
      case 10:
        return this.sized(at, size, 16, offset);
      case 14:
        if (size > 1) throw new Error(`boolean of value ${size} at offset ${offset}`);
        return at;
      case 7:
        for (let i = 0; i < size; i++) {
          at = this.key(at, depth + 1);
          at = this.value(at, depth + 1);
        }
        return at;
      case 11:
        for (let i = 0; i < size; i++) at = this.value(at, depth + 1);
        return at;
      default:
        throw new Error(`unexpected data type ${type} at offset ${offset}`);
    }
  }

  /** Map keys are strings, stored in place or behind a pointer. */
  private key(offset: number, depth: number): number {
    const type = this.byte(offset) >>> 5;
    if (type !== 1 && type !== 2) throw new Error(`map key at offset ${offset} is not a string`);
    return this.value(offset, depth);
  }

  private sized(at: number, size: number, max: number, offset: number): number {
    if (size > max) throw new Error(`${size}-byte integer at offset ${offset} where at most ${max} fit`);
    return this.need(at, size);
  }

  private byte(at: number): number {
    if (at >= this.dataEnd) throw new Error(`value at offset ${at} is past the data section`);
    return this.db[at] ?? 0;
  }

  private need(at: number, length: number): number {
    if (at + length > this.dataEnd) throw new Error(`value at offset ${at} runs past the data section`);
    return at + length;
  }
}
