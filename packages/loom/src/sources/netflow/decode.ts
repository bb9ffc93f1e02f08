import { ipv4Text } from './address.js';
import { Flow, uptimeToUnix, type DecodeResult, type ExportPacket } from './flow.js';
import { finishIcmp, readDataRecord, readOptionsRecord, type ExporterOptions, type RecordContext } from './records.js';
import { readTemplateSet, TemplateCache, type TemplateLimits } from './templates.js';

/** Most flow and options records taken from one packet; a packet claiming more is malformed. */
export const MAX_RECORDS = 4096;

const V5_HEADER = 24;
const V5_RECORD = 48;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;

/**
 * Decodes NetFlow v5, v9 and IPFIX packets into flows, keeping the templates v9 and IPFIX
 * need between packets. Pure apart from that state: no I/O, and the caller passes the clock.
 * Never throws on any input: every length and offset is checked before it is used, every
 * loop advances by at least one octet, and what one packet can add is capped.
 */
export class NetflowDecoder {
  readonly templates: TemplateCache;

  constructor(limits: TemplateLimits) {
    this.templates = new TemplateCache(limits);
  }

  /**
   * @param exporter the sender's address as text: templates are scoped by it
   * @param now the current time in ms, for template expiry
   */
  decode(buf: Buffer, exporter: string, now: number): DecodeResult {
    if (buf.length < 4) return { ok: false, error: `packet of ${buf.length} octets is too short for any header` };
    const version = buf.readUInt16BE(0);
    if (version === 5) return decodeV5(buf);
    if (version === 9) return this.decodeV9(buf, exporter, now);
    if (version === 10) return this.decodeIpfix(buf, exporter, now);
    return { ok: false, error: `version ${version} is not NetFlow v5, v9 or IPFIX (10)` };
  }

  private decodeV9(buf: Buffer, exporter: string, now: number): DecodeResult {
    if (buf.length < V9_HEADER) return { ok: false, error: `v9 packet of ${buf.length} octets is shorter than its header` };
    const sourceId = buf.readUInt32BE(16);
    const packet = newPacket(9, buf.readUInt32BE(8) * 1000, buf.readUInt32BE(4), buf.readUInt32BE(12), sourceId);
    const error = this.readSets(buf, V9_HEADER, buf.length, false, `9|${exporter}|${sourceId}`, packet, now);
    return error === undefined ? { ok: true, packet } : { ok: false, error };
  }

  private decodeIpfix(buf: Buffer, exporter: string, now: number): DecodeResult {
    if (buf.length < IPFIX_HEADER) return { ok: false, error: `IPFIX message of ${buf.length} octets is shorter than its header` };
    const length = buf.readUInt16BE(2);
    if (length < IPFIX_HEADER || length > buf.length) return { ok: false, error: `IPFIX message length ${length} does not fit the ${buf.length}-octet datagram` };
    const domainId = buf.readUInt32BE(12);
    const packet = newPacket(10, buf.readUInt32BE(4) * 1000, undefined, buf.readUInt32BE(8), domainId);
    const error = this.readSets(buf, IPFIX_HEADER, length, true, `10|${exporter}|${domainId}`, packet, now);
    return error === undefined ? { ok: true, packet } : { ok: false, error };
  }

  /** The sets (v9 FlowSets) between `at` and `end`; an error message if one is malformed. */
  private readSets(buf: Buffer, at: number, end: number, ipfix: boolean, domain: string, packet: ExportPacket, now: number): string | undefined {
    const templateSet = ipfix ? 2 : 0;
    const optionsSet = ipfix ? 3 : 1;
    let records = 0;
    const options: ExporterOptions = { systemInitMs: undefined };
    // Anything after the last set shorter than a set header is padding.
    while (end - at >= 4) {
      const id = buf.readUInt16BE(at);
      const length = buf.readUInt16BE(at + 2);
      if (length < 4) return `set ${id} has length ${length}, less than its own header`;
      if (length > end - at) return `set ${id} of ${length} octets runs past the end of the packet`;
      const setEnd = at + length;
      let next = at + 4;
      if (id === templateSet || id === optionsSet) {
        const result = readTemplateSet(buf, next, setEnd, ipfix, id === optionsSet, domain, this.templates, now);
        packet.refusedTemplates += result.refused;
        if (result.error !== undefined) return result.error;
      } else if (id >= 256) {
        const template = this.templates.get(domain, id, now);
        if (template === undefined) {
          packet.missingTemplates++;
        } else if (template.options) {
          while (setEnd - next >= template.minRecordLength) {
            if (++records > MAX_RECORDS) return `more than ${MAX_RECORDS} records`;
            options.systemInitMs = undefined;
            next = readOptionsRecord(template, buf, next, setEnd, options);
            if (next < 0) return `options record of template ${id} runs past the end of its set`;
            if (options.systemInitMs !== undefined) this.templates.setSystemInit(domain, options.systemInitMs);
          }
        } else {
          const context: RecordContext = { exportMs: packet.exportMs, uptimeMs: packet.uptimeMs, systemInitMs: this.templates.systemInit(domain) };
          while (setEnd - next >= template.minRecordLength) {
            if (++records > MAX_RECORDS) return `more than ${MAX_RECORDS} records`;
            const flow = new Flow();
            next = readDataRecord(template, buf, next, setEnd, context, flow);
            if (next < 0) return `record of template ${id} runs past the end of its set`;
            packet.flows.push(flow);
          }
        }
      }
      // Set ids 2–255 (v9) and 0, 1, 4–255 (IPFIX) are reserved: skipped whole.
      at = setEnd;
    }
    return undefined;
  }
}

function newPacket(version: 5 | 9 | 10, exportMs: number, uptimeMs: number | undefined, sequence: number, sourceId: number | undefined): ExportPacket {
  return { version, exportMs, uptimeMs, sequence, sourceId, flows: [], missingTemplates: 0, refusedTemplates: 0 };
}

/** Cisco NetFlow v5: a 24-octet header and up to `count` fixed 48-octet records. */
function decodeV5(buf: Buffer): DecodeResult {
  if (buf.length < V5_HEADER) return { ok: false, error: `v5 packet of ${buf.length} octets is shorter than its header` };
  const count = buf.readUInt16BE(2);
  if (count > MAX_RECORDS) return { ok: false, error: `v5 header claims ${count} records` };
  if (buf.length < V5_HEADER + count * V5_RECORD) return { ok: false, error: `v5 header claims ${count} records but the packet holds ${Math.floor((buf.length - V5_HEADER) / V5_RECORD)}` };
  const uptime = buf.readUInt32BE(4);
  const exportMs = buf.readUInt32BE(8) * 1000 + Math.floor(buf.readUInt32BE(12) / 1_000_000);
  const packet = newPacket(5, exportMs, uptime, buf.readUInt32BE(16), undefined);
  const engineType = buf[20] as number;
  const engineId = buf[21] as number;
  const sampling = buf.readUInt16BE(22);
  for (let i = 0; i < count; i++) {
    const r = V5_HEADER + i * V5_RECORD;
    const flow = new Flow();
    flow.sourceIp = ipv4Text(buf, r);
    flow.destinationIp = ipv4Text(buf, r + 4);
    flow.packets = buf.readUInt32BE(r + 16);
    flow.bytes = buf.readUInt32BE(r + 20);
    flow.startMs = uptimeToUnix(exportMs, uptime, buf.readUInt32BE(r + 24));
    flow.endMs = uptimeToUnix(exportMs, uptime, buf.readUInt32BE(r + 28));
    flow.sourcePort = buf.readUInt16BE(r + 32);
    flow.destinationPort = buf.readUInt16BE(r + 34);
    flow.protocol = buf[r + 38];
    flow.fields.push(
      'ip_next_hop_ipv4_address', ipv4Text(buf, r + 8),
      'ingress_interface', buf.readUInt16BE(r + 12),
      'egress_interface', buf.readUInt16BE(r + 14),
      'tcp_control_bits', buf[r + 37] as number,
      'ip_class_of_service', buf[r + 39] as number,
      'bgp_source_as_number', buf.readUInt16BE(r + 40),
      'bgp_destination_as_number', buf.readUInt16BE(r + 42),
      'source_ipv4_prefix_length', buf[r + 44] as number,
      'destination_ipv4_prefix_length', buf[r + 45] as number,
      'engine_type', engineType,
      'engine_id', engineId,
    );
    // Two bits of sampling mode, fourteen of interval; all zero means unsampled.
    if (sampling !== 0) flow.fields.push('sampling_algorithm', sampling >> 14, 'sampling_interval', sampling & 0x3fff);
    finishIcmp(flow);
    packet.flows.push(flow);
  }
  return { ok: true, packet };
}
