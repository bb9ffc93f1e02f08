import type { BodyFormat } from '../http-ingest/decode.js';
import { mapZeekRecord } from '../zeek/map.js';
import { isZeekLog, zeekLogs, type ZeekLog } from '../zeek/logs.js';
import { mapFlowRecord, show, type MapResult } from './map.js';
import { eventLine, ndjsonOf, type EventLine } from './ndjson.js';
import { InputRefusal, InvalidRecordsError, type RecordProblem } from './refusal.js';
import { readRecords, type RecordsBody } from './records-body.js';

/** What a body holds: flow records, lines of one Zeek log, or Zeek lines naming their log in `_path`. */
export type RecordKind = { kind: 'flows' } | { kind: 'zeek'; log: ZeekLog | undefined };

export interface MapLimits {
  max_body_size_bytes: number;
  max_events_per_batch: number;
  max_event_size_bytes: number;
}

/** ECS events as NDJSON, ready for the pipeline. */
export interface MappedBatch {
  count: number;
  ndjson: Uint8Array;
}

/**
 * A request body of records turned into ECS events, or an InputRefusal saying why not. Pure
 * apart from inflating gzip, so that it can run on any thread.
 */
export async function mapBody(what: RecordKind, body: Uint8Array, format: BodyFormat, gzip: boolean, sensor: string, limits: MapLimits): Promise<MappedBatch> {
  const { records, envelope } = await readRecords(body, format, gzip, limits);
  if (what.kind === 'flows') {
    const collectorId = envelopeOrigin(envelope);
    return mapBatch(records, limits, (record) => mapFlowRecord(record, { sensor, collectorId }));
  }
  const fixed = what.log;
  return mapBatch(records, limits, (record) => {
    if (fixed !== undefined) return mapZeekRecord(fixed, record, { sensor });
    const log = record !== null && typeof record === 'object' ? (record as { _path?: unknown })._path : undefined;
    if (!isZeekLog(log)) {
      const why = log === undefined ? 'has no "_path" naming its log' : `names log ${show(log)} in "_path"`;
      return { ok: false, problems: [{ field: '_path', message: `${why}; Loom maps ${zeekLogs.join(', ')}` }] };
    }
    return mapZeekRecord(log, record, { sensor });
  });
}

/**
 * Maps every record of a batch, all or nothing: one bad record refuses the batch with every
 * problem listed, so that a 2xx always means every record was delivered and a sender never has
 * to work out which part of a batch to send again.
 */
function mapBatch(records: readonly unknown[], limits: MapLimits, mapOne: (record: unknown) => MapResult): MappedBatch {
  const problems: RecordProblem[] = [];
  const lines: EventLine[] = [];
  let oversized: string | undefined;
  for (let index = 0; index < records.length; index++) {
    const result = mapOne(records[index]);
    if (!result.ok) {
      for (const problem of result.problems) problems.push({ index, ...problem });
      continue;
    }
    const line = eventLine(result.event);
    if (line.bytes > limits.max_event_size_bytes) {
      oversized ??= `record ${index} is ${line.bytes} bytes as an ECS event; limits.max_event_size_bytes is ${limits.max_event_size_bytes}`;
      continue;
    }
    lines.push(line);
  }
  if (problems.length > 0) throw new InvalidRecordsError(problems);
  if (oversized !== undefined) throw new InputRefusal('event_too_large', 'event_too_large', oversized);
  return { count: lines.length, ndjson: ndjsonOf(lines) };
}

/** The telemetry-api envelope: `format` must be flows.v1 when given; `collector_id` is kept as a label. */
function envelopeOrigin(envelope: RecordsBody['envelope']): string | undefined {
  if (envelope === undefined) return undefined;
  const format = envelope.format ?? envelope.type;
  if (format !== undefined && format !== 'flows.v1') {
    throw new InputRefusal('invalid_request', 'invalid_request', `format ${show(format)} is not supported here: flow records are "flows.v1"; Zeek logs go to /api/v1/zeek/<log>`);
  }
  const collector = envelope.collector_id;
  return typeof collector === 'string' && collector !== '' ? collector : undefined;
}
