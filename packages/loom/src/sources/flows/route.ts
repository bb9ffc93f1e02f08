import type { LimitsConfig } from '../../config/types.js';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../management/metrics.js';
import type { BodyFormat } from '../http-ingest/decode.js';
import type { MappedBatch, RecordKind } from './map-body.js';
import { MapPool } from './map-pool.js';
import { InputRefusal } from './refusal.js';

/**
 * An ingest server endpoint for records that are mapped to ECS before they enter the
 * pipeline (flow records, Zeek logs). The server authenticates, rate-limits and reads the
 * body as for the ingest API; the records then count as the input named here.
 */
export interface RecordRoute {
  /** As in metrics: "flows", "zeek". */
  readonly input: string;
  readonly what: RecordKind;
}

/** Paths for flow records: Loom's own, and the telemetry-api's for its existing senders. */
export const flowPaths: ReadonlySet<string> = new Set(['/api/v1/flows', '/v1/ingest', '/v1/ingest/bulk']);

export const flowRoute: RecordRoute = { input: 'flows', what: { kind: 'flows' } };

/** Maps posted records on the mapping threads and counts every refusal by its reason. */
export class RecordMapper {
  private readonly pool: MapPool;

  constructor(limits: Pick<LimitsConfig, 'max_body_size_bytes' | 'max_events_per_batch' | 'max_event_size_bytes'>, threads: number, private readonly metrics: Metrics, logger: Logger) {
    this.pool = new MapPool(threads, { max_body_size_bytes: limits.max_body_size_bytes, max_events_per_batch: limits.max_events_per_batch, max_event_size_bytes: limits.max_event_size_bytes }, logger);
  }

  async map(route: RecordRoute, body: Uint8Array, format: BodyFormat, gzip: boolean, sensor: string): Promise<MappedBatch> {
    try {
      return await this.pool.map(route.what, body, format, gzip, sensor);
    } catch (error) {
      if (error instanceof InputRefusal) this.metrics.inputRejected.inc({ input: route.input, reason: error.reason });
      throw error;
    }
  }
}
