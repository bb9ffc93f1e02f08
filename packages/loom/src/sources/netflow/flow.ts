/** A value of an element that goes under netflow.*, already in the form the event carries. */
export type FieldValue = string | number | boolean;

/** One flow record: what ECS has fields for, plus every other element the record carried. */
export class Flow {
  sourceIp: string | undefined = undefined;
  destinationIp: string | undefined = undefined;
  sourcePort: number | undefined = undefined;
  destinationPort: number | undefined = undefined;
  /** IANA protocol number. */
  protocol: number | undefined = undefined;
  bytes: number | undefined = undefined;
  packets: number | undefined = undefined;
  /** Unix milliseconds of the flow's first and last packet, when the record tells. */
  startMs: number | undefined = undefined;
  endMs: number | undefined = undefined;
  icmpType: number | undefined = undefined;
  icmpCode: number | undefined = undefined;
  /** Other elements, flattened: name, value, name, value, … (names as under netflow.*). */
  readonly fields: FieldValue[] = [];
}

/** One export packet (a NetFlow v5/v9 packet or an IPFIX message) and the flows it carried. */
export interface ExportPacket {
  version: 5 | 9 | 10;
  /** The header's export time, Unix milliseconds. */
  exportMs: number;
  /** v5 and v9: the exporter's uptime at export, in milliseconds. */
  uptimeMs: number | undefined;
  sequence: number;
  /** v9 source id or IPFIX observation domain id; undefined for v5. */
  sourceId: number | undefined;
  flows: Flow[];
  /** Data sets skipped because their template is unknown (not received yet, expired or withdrawn). */
  missingTemplates: number;
  /** Template definitions not stored because a limit (max_templates, max_templates_per_exporter) was reached. */
  refusedTemplates: number;
}

export type DecodeResult = { ok: true; packet: ExportPacket } | { ok: false; error: string };

/** Latest instant a Date renders as a four-digit-year ISO string (9999-12-31T23:59:59.999Z). */
const MAX_TIME_MS = 253_402_300_799_999;

/** Milliseconds that make a valid ISO timestamp, or undefined (a garbled clock must not break the event). */
export function validTime(ms: number): number | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS ? Math.floor(ms) : undefined;
}

/**
 * Unix time of an exporter uptime value (v5/v9 first/last switched), given the uptime and
 * Unix time at export. Uptime is a 32-bit millisecond counter that wraps after 49.7 days, so
 * the difference is taken modulo 2^32; a value slightly after the export uptime (clock
 * jitter) comes out as a small negative difference rather than 49 days.
 */
export function uptimeToUnix(exportMs: number, uptimeAtExport: number, uptime: number): number | undefined {
  let before = (uptimeAtExport - uptime) >>> 0;
  if (before >= 0x80000000) before -= 0x100000000;
  return validTime(exportMs - before);
}

/** NTP-format timestamp (RFC 7011 dateTimeMicroseconds/Nanoseconds: seconds since 1900, 2^-32 fraction) in Unix ms. */
export function ntpToUnix(seconds: number, fraction: number): number | undefined {
  return validTime((seconds - 2_208_988_800) * 1000 + (fraction / 0x100000000) * 1000);
}
