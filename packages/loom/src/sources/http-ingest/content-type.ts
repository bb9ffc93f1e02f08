import type { BodyFormat } from './decode.js';

const formats: ReadonlyMap<string, BodyFormat> = new Map([
  ['application/json', 'json'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
  ['application/x-jsonlines', 'ndjson'],
]);

/**
 * The body format for a Content-Type header, ignoring parameters such as charset
 * (the earlier implementation rejected "application/json; charset=utf-8").
 */
export function bodyFormatFor(contentType: string | undefined): BodyFormat | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return formats.get(mediaType);
}

/** True for the encodings the decoder understands; gzip is also recognised by its magic bytes. */
export function isSupportedEncoding(contentEncoding: string | undefined): boolean {
  if (contentEncoding === undefined) return true;
  const value = contentEncoding.trim().toLowerCase();
  return value === '' || value === 'identity' || value === 'gzip' || value === 'x-gzip';
}

export function isGzip(contentEncoding: string | undefined): boolean {
  const value = contentEncoding?.trim().toLowerCase();
  return value === 'gzip' || value === 'x-gzip';
}
