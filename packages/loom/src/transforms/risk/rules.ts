/**
 * The weighted rules behind event.risk_score. Every rule adds its weight at most once; the
 * sum is clamped to 0–100. The defaults give exactly the earlier telemetry-api score for
 * flow records (base 10, +60 on a threat-intel match, +10 for destination port 3389 or 445,
 * +10 for more than 1,000,000 bytes from an unprivileged source port) and add honeypot
 * signals on top, which that formula never saw.
 */
export const RISK_RULE_NAMES = ['base', 'intel_match', 'sensitive_port', 'large_transfer', 'bad_fingerprint', 'exploit_payload', 'scanner_asn'] as const;

export type RiskRuleName = (typeof RISK_RULE_NAMES)[number];

export const DEFAULT_RISK_WEIGHTS: Readonly<Record<RiskRuleName, number>> = Object.freeze({
  base: 10,
  intel_match: 60,
  sensitive_port: 10,
  large_transfer: 10,
  bad_fingerprint: 20,
  exploit_payload: 20,
  scanner_asn: 5,
});

/**
 * The operator's settings, shaped like the `[enrichment.risk]` TOML table: rule names map to
 * weights, lists are plain arrays. Anything left out keeps its default.
 */
export interface RiskRulesInput {
  weights?: Readonly<Record<string, number>>;
  /** Destination ports that add `sensitive_port`; default [3389, 445]. */
  sensitive_ports?: readonly number[];
  /** Source AS numbers that add `scanner_asn`; default none. */
  scanner_asns?: readonly number[];
  /** A transfer above this many bytes adds `large_transfer`; default 1,000,000. */
  large_transfer_bytes?: number;
}

/** Rules ready for scoring, built once by riskRulesFrom. */
export interface RiskRules {
  readonly weights: Readonly<Record<RiskRuleName, number>>;
  readonly sensitivePorts: ReadonlySet<number>;
  readonly scannerAsns: ReadonlySet<number>;
  readonly largeTransferBytes: number;
}

const built = new WeakSet<RiskRules>();

/** Validates and freezes the settings; an unknown rule name or a non-finite number is an error naming it. */
export function riskRulesFrom(input: RiskRulesInput = {}): RiskRules {
  const weights: Record<RiskRuleName, number> = { ...DEFAULT_RISK_WEIGHTS };
  for (const [name, weight] of Object.entries(input.weights ?? {})) {
    if (!(RISK_RULE_NAMES as readonly string[]).includes(name)) throw new Error(`risk weight ${JSON.stringify(name)}: no such rule (rules: ${RISK_RULE_NAMES.join(', ')})`);
    if (typeof weight !== 'number' || !Number.isFinite(weight)) throw new Error(`risk weight ${name}: expected a number, got ${String(weight)}`);
    weights[name as RiskRuleName] = weight;
  }
  const largeTransferBytes = input.large_transfer_bytes ?? 1_000_000;
  if (!Number.isFinite(largeTransferBytes) || largeTransferBytes < 0) throw new Error(`large_transfer_bytes: expected a number >= 0, got ${largeTransferBytes}`);
  const rules: RiskRules = Object.freeze({
    weights: Object.freeze(weights),
    sensitivePorts: new Set(input.sensitive_ports ?? [3389, 445]),
    scannerAsns: new Set(input.scanner_asns ?? []),
    largeTransferBytes,
  });
  built.add(rules);
  return rules;
}

export const DEFAULT_RISK_RULES: RiskRules = riskRulesFrom();

const fromInput = new WeakMap<RiskRulesInput, RiskRules>();

/** Accepts built rules as they are and builds (once per object) from TOML-shaped settings. */
export function resolveRules(rules: RiskRules | RiskRulesInput | undefined): RiskRules {
  if (rules === undefined) return DEFAULT_RISK_RULES;
  if (built.has(rules as RiskRules)) return rules as RiskRules;
  const input = rules as RiskRulesInput;
  let resolved = fromInput.get(input);
  if (resolved === undefined) {
    resolved = riskRulesFrom(input);
    fromInput.set(input, resolved);
  }
  return resolved;
}
