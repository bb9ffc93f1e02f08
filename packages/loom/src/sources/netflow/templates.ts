import { elementKind, Kind } from './elements.js';

/** Field length meaning "variable": the record carries the length before the value (IPFIX only). */
export const VARIABLE = 0xffff;
/** Most fields a template may have. Real templates have tens; this bounds the memory one can take. */
export const MAX_FIELDS = 512;

/** A template compiled for decoding its data records. */
export interface Template {
  readonly id: number;
  /** Options templates describe the exporter (sampling, system init time), not flows. */
  readonly options: boolean;
  /** Element number of each field, 0 for fields that are skipped (enterprise-specific, not in the registry, v9 scope types, repeats). */
  readonly elements: Uint16Array;
  /** Length of each field in octets, or VARIABLE. */
  readonly lengths: Uint16Array;
  /** Fixed lengths plus one length octet per variable field: never 0, so decoding always advances. */
  readonly minRecordLength: number;
  /** The definition as received, to tell a refresh (same bytes) from a redefinition. */
  readonly definition: Buffer;
  lastSeen: number;
}

export interface TemplateLimits {
  /** Templates kept over all exporters. */
  maxTemplates: number;
  /** Templates kept per exporter address and source id (observation domain). */
  maxPerExporter: number;
  /** A template not refreshed for this long is forgotten (RFC 7011 §8.4: UDP has no withdrawal). */
  timeoutMs: number;
}

interface Domain {
  templates: Map<number, Template>;
  /** IPFIX systemInitTimeMilliseconds from an options record: the base of flowStart/EndSysUpTime. */
  systemInitMs: number | undefined;
}

/**
 * Templates per exporter: keyed by export version, exporter address and source id (v9) or
 * observation domain (IPFIX), as RFC 3954 §5.1 and RFC 7011 §3.1 scope template ids. Bounded in
 * count per exporter and overall, so a flood of template definitions cannot exhaust memory.
 */
export class TemplateCache {
  private readonly domains = new Map<string, Domain>();
  private total = 0;

  constructor(private readonly limits: TemplateLimits) {}

  /** Templates currently known, over all exporters. */
  get size(): number {
    return this.total;
  }

  get(domain: string, id: number, now: number): Template | undefined {
    const template = this.domains.get(domain)?.templates.get(id);
    if (template === undefined) return undefined;
    if (now - template.lastSeen > this.limits.timeoutMs) {
      this.remove(domain, id);
      return undefined;
    }
    return template;
  }

  /** True when the same definition is already known: only its age is reset. */
  refresh(domain: string, id: number, options: boolean, definition: Uint8Array, now: number): boolean {
    const known = this.domains.get(domain)?.templates.get(id);
    if (known === undefined || known.options !== options || !known.definition.equals(definition)) return false;
    known.lastSeen = now;
    return true;
  }

  /** Stores a new or redefined template; false when a limit refused it. */
  store(domain: string, template: Template): boolean {
    let entry = this.domains.get(domain);
    const replacing = entry?.templates.has(template.id) === true;
    if (!replacing) {
      if (this.total >= this.limits.maxTemplates) return false;
      if (entry !== undefined && entry.templates.size >= this.limits.maxPerExporter) return false;
    }
    if (entry === undefined) {
      entry = { templates: new Map(), systemInitMs: undefined };
      this.domains.set(domain, entry);
    }
    entry.templates.set(template.id, template);
    if (!replacing) this.total++;
    return true;
  }

  remove(domain: string, id: number): void {
    const entry = this.domains.get(domain);
    if (entry === undefined || !entry.templates.delete(id)) return;
    this.total--;
    if (entry.templates.size === 0) this.domains.delete(domain);
  }

  /** IPFIX "withdraw all": every data template, or every options template, of the domain. */
  removeAll(domain: string, options: boolean): void {
    const entry = this.domains.get(domain);
    if (entry === undefined) return;
    for (const [id, template] of entry.templates) if (template.options === options) this.remove(domain, id);
  }

  systemInit(domain: string): number | undefined {
    return this.domains.get(domain)?.systemInitMs;
  }

  setSystemInit(domain: string, ms: number): void {
    const entry = this.domains.get(domain);
    if (entry !== undefined) entry.systemInitMs = ms;
  }

  /** Forgets templates older than the timeout; returns how many. */
  expire(now: number): number {
    let removed = 0;
    for (const [key, entry] of this.domains) {
      for (const [id, template] of entry.templates) {
        if (now - template.lastSeen <= this.limits.timeoutMs) continue;
        this.remove(key, id);
        removed++;
      }
    }
    return removed;
  }
}

export interface TemplateSetResult {
  error: string | undefined;
  /** Templates a limit refused. */
  refused: number;
}

/**
 * Reads the template records of one template or options template set (v9 FlowSet 0/1, IPFIX
 * Set 2/3) between `at` and `end` and stores them. IPFIX withdrawals (field count 0) remove
 * templates. Stops at the first malformed record: what follows cannot be located reliably.
 */
export function readTemplateSet(
  buf: Buffer,
  at: number,
  end: number,
  ipfix: boolean,
  options: boolean,
  domain: string,
  cache: TemplateCache,
  now: number,
): TemplateSetResult {
  let refused = 0;
  while (end - at >= 4) {
    const start = at;
    const id = buf.readUInt16BE(at);
    const second = buf.readUInt16BE(at + 2);
    if (id === 0 && second === 0 && allZero(buf, at, end)) break;
    if (ipfix && second === 0) {
      if (id === (options ? 3 : 2)) cache.removeAll(domain, options);
      else if (id >= 256) cache.remove(domain, id);
      else return { error: `withdrawal of template id ${id}`, refused };
      at += 4;
      continue;
    }
    if (id < 256) return { error: `template id ${id} is below 256`, refused };
    let count: number;
    let scopeCount = 0;
    if (!ipfix && options) {
      // v9 options template: lengths in octets of the scope and option field lists.
      if (end - at < 6) return { error: 'options template header is truncated', refused };
      const scopeLength = second;
      const optionLength = buf.readUInt16BE(at + 4);
      if (scopeLength % 4 !== 0 || optionLength % 4 !== 0) return { error: `options template ${id} has field lists of ${scopeLength} and ${optionLength} octets, not multiples of 4`, refused };
      scopeCount = scopeLength / 4;
      count = scopeCount + optionLength / 4;
      at += 6;
    } else if (options) {
      if (end - at < 6) return { error: 'options template header is truncated', refused };
      count = second;
      scopeCount = buf.readUInt16BE(at + 4);
      if (scopeCount === 0 || scopeCount > count) return { error: `options template ${id} has ${scopeCount} scope fields of ${count}`, refused };
      at += 6;
    } else {
      count = second;
      at += 4;
    }
    if (count === 0) return { error: `template ${id} has no fields`, refused };
    if (count > MAX_FIELDS) return { error: `template ${id} has ${count} fields; at most ${MAX_FIELDS} are accepted`, refused };
    generation = generation === 0xffffffff ? 1 : generation + 1;
    if (generation === 1) seen.fill(0);
    const elements = new Uint16Array(count);
    const lengths = new Uint16Array(count);
    let minRecordLength = 0;
    for (let i = 0; i < count; i++) {
      if (end - at < 4) return { error: `template ${id} is truncated`, refused };
      let element = buf.readUInt16BE(at);
      const length = buf.readUInt16BE(at + 2);
      at += 4;
      if (ipfix && element & 0x8000) {
        // Enterprise-specific: the enterprise number follows. Its meaning is the vendor's, so it is skipped.
        if (end - at < 4) return { error: `template ${id} is truncated`, refused };
        at += 4;
        element = 0;
      }
      if (!ipfix && length === VARIABLE) return { error: `template ${id} field ${i + 1} has length 65535, which NetFlow v9 does not allow`, refused };
      if ((!ipfix && i < scopeCount) || elementKind[element] === Kind.Skip) element = 0;
      // An element repeated within a template keeps its first value: one key per name in the event.
      if (element !== 0) {
        if (seen[element] === generation) element = 0;
        else seen[element] = generation;
      }
      elements[i] = element;
      lengths[i] = length;
      minRecordLength += length === VARIABLE ? 1 : length;
    }
    if (minRecordLength === 0) return { error: `template ${id} describes empty records`, refused };
    const definition = buf.subarray(start, at);
    if (!cache.refresh(domain, id, options, definition, now)) {
      // Its own memory: a slice of Node's shared pool would keep a whole pool chunk alive with it.
      const copy = Buffer.allocUnsafeSlow(definition.length);
      definition.copy(copy);
      const template: Template = { id, options, elements, lengths, minRecordLength, definition: copy, lastSeen: now };
      if (!cache.store(domain, template)) refused++;
    }
  }
  return { error: undefined, refused };
}

// Marks elements already seen in the template being read (seen[element] === generation), so that
// finding repeats costs one lookup per field rather than a scan.
const seen = new Uint32Array(65536);
let generation = 0;

function allZero(buf: Buffer, at: number, end: number): boolean {
  for (let i = at; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
