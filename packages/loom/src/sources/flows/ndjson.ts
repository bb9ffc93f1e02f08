/** One compact JSON line per event, with its byte length for the batch and size checks. */
export interface EventLine {
  text: string;
  bytes: number;
}

export function eventLine(event: object): EventLine {
  const text = JSON.stringify(event);
  return { text, bytes: Buffer.byteLength(text) };
}

/**
 * The lines as one NDJSON buffer that owns its memory, so that the decode threads can take
 * it over without a copy. A fresh buffer every call: one handed over is gone.
 */
export function ndjsonOf(lines: readonly EventLine[]): Uint8Array {
  let total = 0;
  for (const line of lines) total += line.bytes + 1;
  const buffer = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const line of lines) {
    offset += buffer.write(line.text, offset, line.bytes, 'utf8');
    buffer[offset++] = 0x0a;
  }
  return buffer;
}
