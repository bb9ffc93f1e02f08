import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** The records (each one event as JSON) as a JSON array, built without parsing them again. */
export function jsonArray(records: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [OPEN];
  let length = 2;
  records.forEach((record, i) => {
    if (i > 0) {
      parts.push(COMMA);
      length++;
    }
    parts.push(record);
    length += record.length;
  });
  parts.push(CLOSE);
  return Buffer.concat(parts, length);
}

/** Compression runs on the libuv thread pool, off the event loop that accepts connections. */
export async function encodeBody(records: readonly Buffer[], compress: boolean): Promise<Buffer> {
  const json = jsonArray(records);
  return compress ? gzip(json) : json;
}
