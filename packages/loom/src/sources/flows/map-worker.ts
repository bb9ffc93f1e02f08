import { parentPort, workerData } from 'node:worker_threads';
import type { BodyFormat } from '../http-ingest/decode.js';
import { mapBody, type MapLimits, type RecordKind } from './map-body.js';
import { InputRefusal, InvalidRecordsError } from './refusal.js';
import type { MapReply } from './map-pool.js';

/** Parses and maps posted records off the main thread (see map-pool.ts). */
export interface MapJob {
  id: number;
  what: RecordKind;
  body: Uint8Array;
  format: BodyFormat;
  gzip: boolean;
  sensor: string;
}

const limits = workerData as MapLimits;
const port = parentPort;
if (port === null) throw new Error('map-worker must run in a worker thread');

port.on('message', (job: MapJob) => {
  void mapBody(job.what, job.body, job.format, job.gzip, job.sensor, limits).then(
    (batch) => port.postMessage({ id: job.id, ok: true, ...batch } satisfies MapReply, [batch.ndjson.buffer as ArrayBuffer]),
    (error: unknown) => {
      const reply: MapReply = error instanceof InputRefusal
        ? { id: job.id, ok: false, code: error.code, reason: error.reason, message: error.message, problems: error instanceof InvalidRecordsError ? error.problems : undefined }
        : { id: job.id, ok: false, code: 'internal_error', reason: undefined, message: error instanceof Error ? error.message : String(error), problems: undefined };
      port.postMessage(reply);
    },
  );
});
