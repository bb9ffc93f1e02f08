/**
 * The risk score: weighted rules over what earlier stages found, written to ECS
 * `event.risk_score` (0–100) with machine-readable reasons in `event.risk_reasons`. The
 * rule table is on computeRisk; the defaults reproduce the telemetry-api score.
 */
export { computeRisk, applyRisk, riskReadsAddressEnrichment } from './compute.js';
export type { RiskResult } from './compute.js';
export { riskRulesFrom, DEFAULT_RISK_RULES, DEFAULT_RISK_WEIGHTS, RISK_RULE_NAMES } from './rules.js';
export type { RiskRules, RiskRulesInput, RiskRuleName } from './rules.js';
export { EXPLOIT_PATTERNS, PAYLOAD_FIELDS, MAX_SCANNED_CHARS, exploitPatterns } from './payload.js';
export type { PayloadPattern } from './payload.js';
