import { JsonSplices } from '../json/splices.js';
import { parseBatch, serialiseBatch, type BodyFormat, type DecodeLimits, type DecodeResult } from '../sources/http-ingest/decode.js';
import type { Enricher } from '../transforms/enricher.js';

/**
 * What a decode thread does with one request body: parse, enrich, serialise to NDJSON. Apart
 * from the thread, so that the enrichment benchmark measures exactly this.
 */
export async function decodeJob(
  body: Uint8Array,
  format: BodyFormat,
  gzip: boolean,
  limits: DecodeLimits,
  enricher: Enricher | undefined,
  warn: (message: string) => void,
): Promise<DecodeResult> {
  const parsed = parseBatch(body, format, limits, gzip);
  if (!parsed.ok) return parsed;
  if (enricher === undefined) return serialiseBatch(parsed.events);
  // Cached enrichment results that serialisation copies into the events as JSON text.
  const splices = new JsonSplices();
  try {
    await enricher.enrichBatch(parsed.events, splices);
  } catch (error) {
    // A lookup failure must not cost events: they go on with what enrichment managed.
    warn(`enrichment failed for a batch: ${error instanceof Error ? error.message : String(error)}`);
  }
  return serialiseBatch(parsed.events, splices);
}
