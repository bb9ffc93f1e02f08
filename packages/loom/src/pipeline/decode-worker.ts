import { parentPort, workerData } from 'node:worker_threads';
import { parseBatch, serialiseBatch, type BodyFormat, type DecodeLimits, type DecodeResult } from '../sources/http-ingest/decode.js';
import { Enricher, type EnrichmentData, type EnrichmentSettings } from '../transforms/enricher.js';

/**
 * Runs decoding and enrichment off the main thread, so that parsing, lookups and
 * serialisation never stall accepting requests.
 */

export interface DecodeJob {
  type: 'decode';
  id: number;
  body: Uint8Array;
  format: BodyFormat;
  gzip: boolean;
}

/** Reloaded databases or intel lists, sent to every thread. */
export interface SwapMessage {
  type: 'swap';
  data: EnrichmentData;
}

export interface DecodeWorkerData {
  limits: DecodeLimits;
  enrichment: { settings: EnrichmentSettings; data: EnrichmentData } | undefined;
  statsIntervalMs: number;
}

const { limits, enrichment, statsIntervalMs } = workerData as DecodeWorkerData;
const port = parentPort;
if (port === null) throw new Error('decode-worker must run in a worker thread');
const enricher = enrichment === undefined ? undefined : new Enricher(enrichment.settings, enrichment.data);

if (enricher !== undefined) {
  setInterval(() => port.postMessage({ type: 'stats', stats: enricher.stats() }), statsIntervalMs).unref();
}

port.on('message', (message: DecodeJob | SwapMessage) => {
  if (message.type === 'swap') {
    enricher?.swap(message.data);
    return;
  }
  void decode(message).then((result) => {
    if (result.ok) {
      // The buffer was allocated for this result alone, so it can be moved rather than copied.
      port.postMessage({ type: 'result', id: message.id, result }, [result.ndjson.buffer as ArrayBuffer]);
    } else {
      port.postMessage({ type: 'result', id: message.id, result });
    }
  });
});

async function decode(job: DecodeJob): Promise<DecodeResult> {
  const parsed = parseBatch(job.body, job.format, limits, job.gzip);
  if (!parsed.ok) return parsed;
  if (enricher !== undefined) {
    try {
      await enricher.enrichBatch(parsed.events);
    } catch (error) {
      // A lookup failure must not cost events: they go on with what enrichment managed.
      port?.postMessage({ type: 'warning', message: `enrichment failed for a batch: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return serialiseBatch(parsed.events);
}
