import { describeValidationError, SERVER_FIELDS, type MessageSchema } from './message-schema.js';

/**
 * Deepest nesting of objects and arrays a message may have. JSON.parse handles any depth,
 * but serialising a value nested thousands deep overflows the stack, and a message that
 * made the logfile formatter or the outputs throw would fail the whole batch it came in.
 */
export const MAX_DEPTH = 64;

export type CheckResult =
  | {
      ok: true;
      /** The message's JSON text from its "{" to its "}", exactly as sent. */
      body: string;
      /** Whether the object has at least one field. */
      hasFields: boolean;
    }
  | { ok: false; reason: string };

/**
 * Decides whether one message is acceptable: a JSON object, not nested deeper than
 * MAX_DEPTH, without the server's fields, and valid against the operator's schema.
 * The reason of a refusal is what the client is told.
 */
export class MessageChecker {
  constructor(private readonly schema: MessageSchema) {}

  check(text: string): CheckResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, reason: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, reason: `not a JSON object: got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}` };
    }
    if (mayBeTooDeep(text) && tooDeep(text)) return { ok: false, reason: `nested deeper than ${MAX_DEPTH} levels` };
    for (const field of SERVER_FIELDS) {
      if (Object.hasOwn(value, field)) return { ok: false, reason: `field "${field}" is set by the server; send the client's value under another name` };
    }
    if (!this.schema.validate(value)) return { ok: false, reason: `validation failed: ${describeValidationError(this.schema.validate.errors?.[0] ?? undefined)}` };
    let hasFields = false;
    for (const _ in value) {
      hasFields = true;
      break;
    }
    return { ok: true, body: text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1), hasFields };
  }
}

/**
 * Nesting deeper than MAX_DEPTH needs more than MAX_DEPTH opening brackets. Counting them
 * with indexOf (native, fast) spares almost every message the character-by-character scan.
 */
function mayBeTooDeep(text: string): boolean {
  if (text.length <= 2 * MAX_DEPTH) return false;
  let brackets = 0;
  for (let at = text.indexOf('{'); at >= 0; at = text.indexOf('{', at + 1)) if (++brackets > MAX_DEPTH) return true;
  for (let at = text.indexOf('['); at >= 0; at = text.indexOf('[', at + 1)) if (++brackets > MAX_DEPTH) return true;
  return false;
}

function tooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * The logfile record: the server's timestamp and source_ip first, then the message's own
 * fields spliced in as sent, so that nothing (a 64-bit integer, a number's spelling) is
 * changed by parsing and serialising again. timestampJson and addressJson are JSON strings.
 */
export function logRecord(timestampJson: string, addressJson: string, body: string, hasFields: boolean): string {
  return `{"timestamp":${timestampJson},"source_ip":${addressJson}${hasFields ? `,${body.slice(1)}` : '}'}`;
}

/**
 * The ECS event Loom's pipeline gets for a forwarded message: the server fields become
 * @timestamp and source.ip/port, and the message itself goes under tcp_json, so that its
 * field names can never collide with ECS fields or enrichment.
 */
export function ecsEvent(timestampJson: string, addressJson: string, port: number, body: string): string {
  return `{"@timestamp":${timestampJson},"event":{"kind":"event","dataset":"tcp_json"},"network":{"transport":"tcp"},"source":{"ip":${addressJson},"port":${port}},"tcp_json":${body}}`;
}
