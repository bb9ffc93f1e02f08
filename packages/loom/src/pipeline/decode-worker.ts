import { parentPort, workerData } from 'node:worker_threads';
import { decodeBatch, type BodyFormat, type DecodeLimits } from '../sources/http-ingest/decode.js';

/** Runs decodeBatch off the main thread, so parsing never stalls accepting requests. */

export interface DecodeJob {
  id: number;
  body: Uint8Array;
  format: BodyFormat;
  gzip: boolean;
}

const limits = workerData as DecodeLimits;
const port = parentPort;
if (port === null) throw new Error('decode-worker must run in a worker thread');

port.on('message', (job: DecodeJob) => {
  const result = decodeBatch(job.body, job.format, limits, job.gzip);
  if (result.ok) {
    // The encoder gave this array its own ArrayBuffer, so it can be moved rather than copied.
    port.postMessage({ id: job.id, result }, [result.ndjson.buffer as ArrayBuffer]);
  } else {
    port.postMessage({ id: job.id, result });
  }
});
