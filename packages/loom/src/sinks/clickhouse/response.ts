import { parseRetryAfter } from '../delivery.js';
import { excerpt, type HttpResponse } from '../http-target.js';

/**
 * What a ClickHouse HTTP answer means for the rows that were sent. ClickHouse reports an
 * error as an exception code and text in the body (newer servers also in the
 * X-ClickHouse-Exception-Code header); the HTTP status alone is not enough, because old
 * servers answer 500 to some errors in the data (18.16: "Too large value for FixedString").
 */

export type InsertOutcome =
  | { kind: 'delivered' }
  /** The rows themselves are at fault: split them to find the bad ones, or reject a single one. */
  | { kind: 'bad_rows'; message: string }
  /** Nothing in the rows is at fault: retry them all later. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number };

/**
 * Exception codes that blame the data of some row, not the table, the query or the server:
 * parse failures of every kind, values that do not fit their column, violated CHECKs.
 */
const ROW_ERROR_CODES: ReadonlySet<number> = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING ("Cannot parse JSON string")
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
  676, // CANNOT_PARSE_IPV4
  677, // CANNOT_PARSE_IPV6
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

const AUTH_CODES: ReadonlySet<number> = new Set([
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  516, // AUTHENTICATION_FAILED
]);
const ACCESS_DENIED = 497;
const UNKNOWN_TABLE = 60;
const UNKNOWN_DATABASE = 81;
const UNKNOWN_SETTING = 115;

export interface ClickHouseException {
  code: number | undefined;
  /** One line, without the parts that repeat on every error ("e.what() = DB::Exception", the server version). */
  message: string;
}

/** The exception in an error answer, from the header if present, else from the body text. */
export function parseException(body: string, headerCode?: string | string[]): ClickHouseException {
  const header = Array.isArray(headerCode) ? headerCode[0] : headerCode;
  const fromBody = /Code:\s*(\d+)/.exec(body);
  const codeText = header !== undefined && /^\d+$/.test(header) ? header : fromBody?.[1];
  const message = body
    .replace(/e\.displayText\(\) = /g, '')
    // Row numbers count within one request, which means nothing once rows were split apart.
    .replace(/:?\s*\(at row \d+\)/g, '')
    .replace(/,\s*e\.what\(\) = [\w:]+\s*$/, '')
    .replace(/\s*\(version [\d.]+(?: \([^)]*\))?\)\s*$/, '');
  return { code: codeText === undefined ? undefined : Number(codeText), message: excerpt(message) };
}

export interface ResponseContext {
  /** The server, for reasons: `http://ch:8123`. */
  display: string;
  /** `database.table`, for the hint when it is missing. */
  table: string;
}

export function classifyInsert(response: HttpResponse, context: ResponseContext): InsertOutcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const exception = parseException(response.body, response.headers['x-clickhouse-exception-code']);
  // A proxy's "request entity too large" is about the size of the batch: halves may pass.
  if (status === 413) {
    return { kind: 'bad_rows', message: `ClickHouse 413 from ${context.display}: request too large${exception.message === '' ? '' : `: ${exception.message}`}` };
  }
  if (exception.code !== undefined && ROW_ERROR_CODES.has(exception.code) && status !== 401 && status !== 403) {
    return { kind: 'bad_rows', message: `ClickHouse ${status}: ${exception.message}` };
  }
  const outcome: InsertOutcome = { kind: 'retry', reason: failureReason(status, exception, context) };
  const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']));
  if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  return outcome;
}

/** Why a request other than an insert (version, probe) failed, in the same words as for inserts. */
export function failureReason(status: number, exception: ClickHouseException, context: ResponseContext): string {
  const prefix = `ClickHouse ${status} from ${context.display}`;
  const text = exception.message === '' ? '(empty body)' : exception.message;
  const code = exception.code;
  if (code === ACCESS_DENIED) return `${prefix}: permission denied for this user: ${text}`;
  if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
    return `${prefix}: authentication failed (check the ClickHouse user and password): ${text}`;
  }
  if (code === UNKNOWN_TABLE || code === UNKNOWN_DATABASE) {
    return `${prefix}: ${text} (create ${context.table} first, e.g. from docs/clickhouse/schema.sql)`;
  }
  if (code === UNKNOWN_SETTING && text.includes('insert_deduplication_token')) {
    return `${prefix}: ${text} (this server predates insert_deduplication_token; set the dedup token option to "auto" or "off")`;
  }
  return `${prefix}: ${text}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
