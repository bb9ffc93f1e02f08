import { parentPort, workerData } from 'node:worker_threads';
import type { BodyFormat, DecodeLimits, DecodeResult } from '../sources/http-ingest/decode.js';
import { Enricher, type EnrichmentData, type EnrichmentSettings } from '../transforms/enricher.js';
import { decodeJob } from './decode-job.js';

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

function decode(job: DecodeJob): Promise<DecodeResult> {
  return decodeJob(job.body, job.format, job.gzip, limits, enricher, (message) => port?.postMessage({ type: 'warning', message }));
}
