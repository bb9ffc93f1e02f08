import { getPath, isPlainObject, type EcsEvent } from '@loom/ecs';
import type { FingerprintKind } from './indicator.js';
import type { IntelIndex, IntelMatch } from './intel-index.js';

/** Which address fields to look up; fingerprints are always looked up. */
export interface IntelFields {
  source?: boolean;
  destination?: boolean;
}

/** A match together with the event field and value it came from. */
export interface AppliedIntelMatch extends IntelMatch {
  /** ECS field that matched, e.g. "source.ip", "tls.client.ja4". */
  field: string;
  /** The event's value in that field. */
  atomic: string;
}

/**
 * Event fields holding each fingerprint, in order of preference. JA4 is read from the
 * community placement first and from the earlier sensor's `tls.client.hash.ja4` otherwise.
 */
export const FINGERPRINT_FIELDS: Readonly<Record<FingerprintKind, readonly string[]>> = {
  ja4: ['tls.client.ja4', 'tls.client.hash.ja4'],
  ja3: ['tls.client.ja3'],
  hassh: ['ssh.client.hash.hassh'],
  ja4h: ['http.request.hash.ja4h'],
};

const fingerprintNames: Record<FingerprintKind, string> = {
  ja4: 'JA4 TLS client fingerprint',
  ja3: 'JA3 TLS client fingerprint',
  hassh: 'HASSH SSH client fingerprint',
  ja4h: 'JA4H HTTP client fingerprint',
};

/** The STIX 2.1 Appendix A None/Low/Med/High scale that ECS `indicator.confidence` uses. */
export function confidenceLevel(confidence: number): 'None' | 'Low' | 'Medium' | 'High' {
  if (confidence >= 70) return 'High';
  if (confidence >= 30) return 'Medium';
  if (confidence >= 1) return 'Low';
  return 'None';
}

function stringAt(event: Record<string, unknown>, path: string): string | undefined {
  const value = getPath(event as EcsEvent, path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Looks up the event's addresses and fingerprints and records every match:
 *
 * - `threat.enrichments[]`, one entry per match (ECS): `indicator.type` is `ipv4-addr` /
 *   `ipv6-addr` for CIDR matches and `software` for fingerprints (they identify the client
 *   implementation; ECS has no fingerprint type and `software` is one of its expected
 *   values), `indicator.description` names the fingerprint kind, category, list and 0–100 confidence,
 *   `indicator.name` the CIDR or value, `indicator.ip` the address for single-address
 *   indicators, `indicator.provider` and `feed.name` the list (the latter is where Elastic
 *   Security shows an enrichment's feed), `indicator.confidence` the list's 0–100
 *   confidence on the ECS None/Low/Medium/High scale, and `matched.{atomic, field, type}`.
 * - `tags`: `intel:<list>` and `intel_category:<category>`, each at most once, after any tags
 *   the event already had.
 *
 * Re-applying to the same event adds nothing twice. Values of the wrong type are left
 * alone: a non-object `threat` or a non-array, non-string `tags` is never overwritten.
 */
export function applyIntel(event: Record<string, unknown>, index: IntelIndex, fields: IntelFields): AppliedIntelMatch[] {
  const matches: AppliedIntelMatch[] = [];
  const addresses: string[] = [];
  if (fields.source === true) addresses.push('source.ip');
  if (fields.destination === true) addresses.push('destination.ip');
  for (const field of addresses) {
    const atomic = stringAt(event, field);
    if (atomic === undefined) continue;
    for (const match of index.matchIp(atomic)) matches.push({ ...match, field, atomic });
  }
  for (const kind of Object.keys(FINGERPRINT_FIELDS) as FingerprintKind[]) {
    for (const field of FINGERPRINT_FIELDS[kind]) {
      const atomic = stringAt(event, field);
      if (atomic === undefined) continue;
      for (const match of index.matchFingerprint(kind, atomic)) matches.push({ ...match, field, atomic });
      break;
    }
  }
  if (matches.length > 0) {
    addEnrichments(event, matches);
    addTags(event, matches);
  }
  return matches;
}

function enrichment(match: AppliedIntelMatch): Record<string, unknown> {
  const indicator: Record<string, unknown> = {};
  if (match.kind === 'ip') {
    indicator.type = match.indicator.includes(':') ? 'ipv6-addr' : 'ipv4-addr';
    if (!match.indicator.includes('/')) indicator.ip = match.indicator;
    indicator.description = `${match.category} (list ${match.list}, confidence ${match.confidence})`;
  } else {
    indicator.type = 'software';
    indicator.description = `${fingerprintNames[match.kind]}: ${match.category} (list ${match.list}, confidence ${match.confidence})`;
  }
  indicator.name = match.indicator;
  indicator.provider = match.list;
  indicator.confidence = confidenceLevel(match.confidence);
  return {
    indicator,
    matched: { atomic: match.atomic, field: match.field, type: 'indicator_match_rule' },
    feed: { name: match.list },
  };
}

function enrichmentKey(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const { indicator, matched } = value;
  if (!isPlainObject(indicator) || !isPlainObject(matched)) return undefined;
  return JSON.stringify([indicator.provider, indicator.name, matched.field, matched.atomic]);
}

function addEnrichments(event: Record<string, unknown>, matches: AppliedIntelMatch[]): void {
  if (event.threat === undefined) event.threat = {};
  const threat = event.threat;
  if (!isPlainObject(threat)) return;
  const existing = threat.enrichments;
  let list: unknown[];
  if (existing === undefined) list = [];
  else if (Array.isArray(existing)) list = existing;
  else if (isPlainObject(existing)) list = [existing];
  else return;
  const keys = new Set(list.map(enrichmentKey));
  for (const match of matches) {
    const entry = enrichment(match);
    const key = enrichmentKey(entry);
    if (keys.has(key)) continue;
    keys.add(key);
    list.push(entry);
  }
  (threat as Record<string, unknown>).enrichments = list;
}

function addTags(event: Record<string, unknown>, matches: AppliedIntelMatch[]): void {
  const existing = event.tags;
  let tags: unknown[];
  if (existing === undefined) tags = [];
  else if (Array.isArray(existing)) tags = existing;
  else if (typeof existing === 'string') tags = [existing];
  else return;
  const present = new Set(tags.filter((tag): tag is string => typeof tag === 'string'));
  for (const match of matches) {
    for (const tag of [`intel:${match.list}`, `intel_category:${match.category}`]) {
      if (present.has(tag)) continue;
      present.add(tag);
      tags.push(tag);
    }
  }
  event.tags = tags;
}
