import { isPlainObject, pathReader, type EcsEvent } from '@loom/ecs';
import { FINGERPRINT_FIELDS } from '../intel/apply.js';
import { exploitPatterns } from './payload.js';
import { resolveRules, type RiskRules, type RiskRulesInput } from './rules.js';

export interface RiskResult {
  /** 0–100. */
  score: number;
  /** Machine-readable, in a fixed rule order; see computeRisk. */
  reasons: string[];
}

/** Lists named in one rule's reasons; more matches still count, they are just not spelled out. */
const MAX_LISTS_PER_RULE = 16;
/** Enrichments examined; an event carrying more is unusual and costs no more than this. */
const MAX_ENRICHMENTS = 256;

/*
 * Each quantity is read from its ECS field first and then from the telemetry-api flow and
 * Zeek names, so records forwarded in that format score exactly as they did there.
 */
const readers = (paths: readonly string[]): ((event: EcsEvent) => unknown)[] => paths.map(pathReader);
const DESTINATION_PORT = readers(['destination.port', 'dst_port', 'id_resp_p', 'id.resp_p']);
const SOURCE_PORT = readers(['source.port', 'src_port', 'id_orig_p', 'id.orig_p']);
const SOURCE_BYTES = readers(['source.bytes', 'orig_bytes']);
const DESTINATION_BYTES = readers(['destination.bytes', 'resp_bytes']);
const TOTAL_BYTES = readers(['network.bytes', 'bytes']);
const SOURCE_ASN = readers(['source.as.number']);
const THREAT_ENRICHMENTS = pathReader('threat.enrichments');

const fingerprintKindOfField = new Map<string, string>();
for (const [kind, fields] of Object.entries(FINGERPRINT_FIELDS)) for (const field of fields) fingerprintKindOfField.set(field, kind);

/** A finite number, or a string of decimal digits (some exporters quote numbers). */
function numberAt(event: Record<string, unknown>, paths: readonly ((event: EcsEvent) => unknown)[]): number | undefined {
  for (const read of paths) {
    const value = read(event as EcsEvent);
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.length > 0 && value.length <= 20 && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Intel matches split by what matched: addresses (and anything else) or client fingerprints; undefined when the event has none. */
function intelReasons(event: Record<string, unknown>): { lists: string[]; fingerprints: string[] } | undefined {
  const value = THREAT_ENRICHMENTS(event as EcsEvent);
  let entries: unknown[];
  if (Array.isArray(value)) entries = value.slice(0, MAX_ENRICHMENTS);
  else if (isPlainObject(value)) entries = [value];
  else return undefined;
  const lists = new Set<string>();
  const fingerprints = new Set<string>();
  for (const entry of entries) {
    if (!isPlainObject(entry)) continue;
    const indicator = isPlainObject(entry.indicator) ? entry.indicator : {};
    const matched = isPlainObject(entry.matched) ? entry.matched : {};
    const feed = isPlainObject(entry.feed) ? entry.feed : {};
    const list = text(feed.name) ?? text(indicator.provider) ?? 'unknown';
    const kind = typeof matched.field === 'string' ? fingerprintKindOfField.get(matched.field) : undefined;
    if (kind === undefined) {
      if (lists.size < MAX_LISTS_PER_RULE) lists.add(`intel_match:${list}`);
    } else if (fingerprints.size < MAX_LISTS_PER_RULE) {
      fingerprints.add(`fingerprint:${kind}:${list}`);
    }
  }
  return { lists: [...lists], fingerprints: [...fingerprints] };
}

/**
 * Scores an event from what earlier stages found. Rules and their reasons, in this order:
 *
 * | rule | when | reasons |
 * | --- | --- | --- |
 * | base | always | (none) |
 * | intel_match | a `threat.enrichments` entry matched on anything but a fingerprint (source/destination IP) | `intel_match:<list>` per list |
 * | bad_fingerprint | an entry matched on tls.client.ja4, tls.client.ja3, ssh.client.hash.hassh or http.request.hash.ja4h | `fingerprint:<kind>:<list>` |
 * | sensitive_port | destination.port is in sensitive_ports | `port:<n>` |
 * | large_transfer | source.port >= 1024 and (source.bytes or the total, network.bytes else source + destination bytes) > large_transfer_bytes | `large_transfer` |
 * | exploit_payload | an EXPLOIT_PATTERNS substring in the URL, body, summary, User-Agent, Referer or a header | `payload:<id>` per pattern |
 * | scanner_asn | source.as.number is in scanner_asns | `scanner_asn:<n>` |
 *
 * A rule with weight 0 is off and gives no reason. Missing or mistyped fields simply do
 * not fire their rule; nothing here throws.
 */
export function computeRisk(event: Record<string, unknown>, rules?: RiskRules | RiskRulesInput): RiskResult {
  const { weights, sensitivePorts, scannerAsns, largeTransferBytes } = resolveRules(rules);
  let score = weights.base;
  const reasons: string[] = [];
  // A rule with weight 0 can add neither score nor reasons, so its fields are not even read.
  if (isPlainObject(event)) {
    if (weights.intel_match !== 0 || weights.bad_fingerprint !== 0) {
      const intel = intelReasons(event);
      if (intel !== undefined) {
        if (weights.intel_match !== 0 && intel.lists.length > 0) {
          score += weights.intel_match;
          reasons.push(...intel.lists);
        }
        if (weights.bad_fingerprint !== 0 && intel.fingerprints.length > 0) {
          score += weights.bad_fingerprint;
          reasons.push(...intel.fingerprints);
        }
      }
    }
    if (weights.sensitive_port !== 0) {
      const port = numberAt(event, DESTINATION_PORT);
      if (port !== undefined && sensitivePorts.has(port)) {
        score += weights.sensitive_port;
        reasons.push(`port:${port}`);
      }
    }
    if (weights.large_transfer !== 0 && (numberAt(event, SOURCE_PORT) ?? 0) >= 1024) {
      const sent = numberAt(event, SOURCE_BYTES) ?? 0;
      const total = numberAt(event, TOTAL_BYTES) || sent + (numberAt(event, DESTINATION_BYTES) ?? 0);
      if (sent > largeTransferBytes || total > largeTransferBytes) {
        score += weights.large_transfer;
        reasons.push('large_transfer');
      }
    }
    if (weights.exploit_payload !== 0) {
      const patterns = exploitPatterns(event);
      if (patterns.length > 0) {
        score += weights.exploit_payload;
        for (const id of patterns) reasons.push(`payload:${id}`);
      }
    }
    if (weights.scanner_asn !== 0 && scannerAsns.size > 0) {
      const asn = numberAt(event, SOURCE_ASN);
      if (asn !== undefined && scannerAsns.has(asn)) {
        score += weights.scanner_asn;
        reasons.push(`scanner_asn:${asn}`);
      }
    }
  }
  return { score: Math.min(100, Math.max(0, score)), reasons };
}

/**
 * Whether scoring with these rules reads a field that GeoIP and ASN enrichment add: the
 * scanner_asn rule reads source.as.number, and only when it has AS numbers to look for.
 */
export function riskReadsAddressEnrichment(rules: RiskRules): boolean {
  return rules.weights.scanner_asn !== 0 && rules.scannerAsns.size > 0;
}

/**
 * Writes the score to ECS `event.risk_score` (float, 0–100) and the reasons to
 * `event.risk_reasons` (keyword array, Loom's own field: ECS has no place for them). A
 * non-object `event` field is left alone rather than replaced; the result is returned either way.
 */
export function applyRisk(event: Record<string, unknown>, rules?: RiskRules | RiskRulesInput): RiskResult {
  const result = computeRisk(event, rules);
  if (!isPlainObject(event)) return result;
  if (event.event === undefined) event.event = {};
  const target = event.event;
  if (isPlainObject(target)) {
    (target as Record<string, unknown>).risk_score = result.score;
    (target as Record<string, unknown>).risk_reasons = result.reasons;
  }
  return result;
}
