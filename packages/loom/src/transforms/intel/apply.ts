import { isPlainObject, pathReader, type EcsEvent } from '@loom/ecs';
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

type Reader = (event: EcsEvent) => unknown;

function stringAt(event: Record<string, unknown>, read: Reader): string | undefined {
  const value = read(event as EcsEvent);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const SOURCE_IP = pathReader('source.ip');
const DESTINATION_IP = pathReader('destination.ip');
const fingerprintReaders = (Object.keys(FINGERPRINT_FIELDS) as FingerprintKind[]).map((kind) => ({
  kind,
  fields: FINGERPRINT_FIELDS[kind].map((field) => ({ field, read: pathReader(field) })),
}));

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
export function applyIntel(
  event: Record<string, unknown>,
  index: IntelIndex,
  fields: IntelFields,
  /** index.matchIp, or a cache of its answers per address (they depend on nothing else). */
  matchIp: (ip: string) => readonly IntelMatch[] = (ip) => index.matchIp(ip),
): AppliedIntelMatch[] {
  const matches: AppliedIntelMatch[] = [];
  if (fields.source === true) addIpMatches(matches, event, SOURCE_IP, 'source.ip', matchIp);
  if (fields.destination === true) addIpMatches(matches, event, DESTINATION_IP, 'destination.ip', matchIp);
  // Most deployments load address lists only: then there is nothing to read or look up.
  if (index.hasAnyFingerprints) addFingerprintMatches(matches, event, index);
  if (matches.length > 0) {
    addEnrichments(event, matches);
    addTags(event, matches);
  }
  return matches;
}

function addFingerprintMatches(matches: AppliedIntelMatch[], event: Record<string, unknown>, index: IntelIndex): void {
  for (const { kind, fields: kindFields } of fingerprintReaders) {
    if (!index.hasFingerprints(kind)) continue;
    for (const { field, read } of kindFields) {
      const atomic = stringAt(event, read);
      if (atomic === undefined) continue;
      for (const match of index.matchFingerprint(kind, atomic)) matches.push({ ...match, field, atomic });
      break;
    }
  }
}

function addIpMatches(matches: AppliedIntelMatch[], event: Record<string, unknown>, read: Reader, field: string, matchIp: (ip: string) => readonly IntelMatch[]): void {
  const atomic = stringAt(event, read);
  if (atomic === undefined) return;
  for (const match of matchIp(atomic)) matches.push({ ...match, field, atomic });
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
