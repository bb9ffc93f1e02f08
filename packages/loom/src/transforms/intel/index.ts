/**
 * Threat-intel matching: lists of IPs/CIDRs and client fingerprints, loaded into one index
 * that worker threads share, and the ECS fields a match adds to an event.
 *
 * Lists. `plain`: one indicator per line, `#` or `;` comment lines, anything after the
 * indicator ignored (FireHOL .netset/.ipset, Spamhaus DROP "1.2.3.0/24 ; SBL123", IPv4 and
 * IPv6). `threats-csv`: the telemetry-api `ip_or_cidr,category,confidence` file, whose
 * per-row category and confidence override the list's. Kind `auto` (default) classifies
 * each line: IP/CIDR, JA4, JA4H, or a 32-hex MD5 that is checked as both JA3 and HASSH.
 * Bad lines are counted and the first five quoted as file:line; they never fail a load.
 *
 * Matching. All lists that contain an address are reported, each with its most specific
 * CIDR, most specific first. IPv4-mapped IPv6 is treated as the IPv4 address it carries.
 * Fingerprints match exactly, ignoring case.
 *
 * Sharing. loadIntelLists returns IntelHandles: the CIDR tables in SharedArrayBuffers plus
 * small plain metadata. Post the handles to a worker and `new IntelIndex(handles)` there;
 * the tables are mapped, not copied. To reload, load again and swap the handles.
 */
export { loadIntelLists, buildIntelIndex } from './load.js';
export type { IntelListConfig, IntelListStats, IntelLoadResult, IntelListData, IntelIndicatorInput } from './load.js';
export type { IntelHandles, IntelLabel } from './collector.js';
export type { RangeTableData } from './ranges.js';
export { IntelIndex } from './intel-index.js';
export type { IntelMatch, IntelIndexSize } from './intel-index.js';
export { applyIntel, confidenceLevel, FINGERPRINT_FIELDS } from './apply.js';
export type { AppliedIntelMatch, IntelFields } from './apply.js';
export type { FingerprintKind, IndicatorKind, ListKind, StoredFingerprintKind } from './indicator.js';
