import { ApiError, type ApiErrorCode } from '../../errors.js';

/** Why an input refused records, as in `loom_input_rejected_total{reason}`. */
export type RejectReason =
  | 'invalid_json'
  | 'invalid_record'
  | 'unknown_log'
  | 'batch_too_large'
  | 'event_too_large'
  | 'payload_too_large'
  | 'invalid_request';

/** An error response that also says which metric reason it counts under. */
export class InputRefusal extends ApiError {
  constructor(code: ApiErrorCode, readonly reason: RejectReason, message: string) {
    super(code, message);
  }
}

/** One record that cannot be used, and the field at fault. */
export interface RecordProblem {
  /** Position in the batch, from 0. */
  index: number;
  /** The record's own field name, as sent; absent when the record as a whole is wrong. */
  field?: string;
  message: string;
}

/** Most problems listed in one response: enough to fix a sender, bounded for a huge bad batch. */
const listed = 20;

/**
 * A batch refused because of its records. The message names the first one; the body also
 * lists up to 20 as `records: [{index, field, message}]` for programs.
 */
export class InvalidRecordsError extends InputRefusal {
  constructor(readonly problems: readonly RecordProblem[], reason: RejectReason = 'invalid_record') {
    const first = problems[0];
    const head = first === undefined ? 'invalid records' : describeProblem(first);
    const records = new Set(problems.map((problem) => problem.index)).size;
    const summary = problems.length === 1 ? '' : ` (${problems.length} problems in ${records} record${records === 1 ? '' : 's'}, listed in "records")`;
    super('invalid_request', reason, `${head}${summary}; nothing of this batch was delivered`);
  }

  override body(): string {
    return JSON.stringify({ error: this.code, message: this.message, records: this.problems.slice(0, listed) });
  }
}

function describeProblem(problem: RecordProblem): string {
  return `record ${problem.index}: ${problem.message}`;
}
