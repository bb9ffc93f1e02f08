import net from 'node:net';
import { collapsePorts, type PortItem } from './answers.js';

/** One firewall command, with what makes it safe to run again on a host that already has the rules. */
export interface RuleStep {
  args: string[];
  /** Run instead when `args` fails: the chain is left over from an earlier setup and is refilled, not duplicated. */
  orElse?: string[];
  /** When this check succeeds the rule is already in place and `args` is skipped. */
  unlessPresent?: string[];
}

export interface FirewallPlan {
  command: 'iptables' | 'ip6tables';
  apply: RuleStep[];
  undo: RuleStep[];
}

export interface RedirectOptions {
  /** The sensor's listen address decides which address families can reach it. */
  listenAddress: string;
  /** Where every redirected connection goes. */
  port: number;
  /** Every port the sensor listens on itself; these reach it directly and keep their port. */
  sensorPorts: readonly number[];
  /** Never redirected, so the host stays reachable for administration. */
  sshPorts: readonly number[];
}

/** A chain of its own, so setup and undo touch nothing else in the nat table (Docker, Kubernetes, other NAT). */
export const CHAIN = 'SPIP';

/**
 * Only connections addressed to this host are redirected: forwarded traffic (containers, routed
 * networks) passes through PREROUTING too and must not end up at the sensor.
 */
const HOOK = ['-p', 'tcp', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', CHAIN];

/** 4 and/or 6: a wildcard :: socket is dual-stack, 0.0.0.0 and specific addresses take one family. */
export function addressFamilies(listenAddress: string): (4 | 6)[] {
  if (listenAddress === '::') return [4, 6];
  return net.isIPv6(listenAddress) ? [6] : [4];
}

function dport(item: PortItem): string[] {
  return ['--dport', typeof item === 'number' ? String(item) : `${item.from}:${item.to}`];
}

export function redirectPlans(options: RedirectOptions): FirewallPlan[] {
  const nat = (...args: string[]): string[] => ['-t', 'nat', ...args];
  const returns = (ports: readonly number[]): RuleStep[] =>
    collapsePorts(ports).map((item) => ({ args: nat('-A', CHAIN, '-p', 'tcp', ...dport(item), '-j', 'RETURN') }));
  const apply: RuleStep[] = [
    { args: nat('-N', CHAIN), orElse: nat('-F', CHAIN) },
    ...returns(options.sshPorts),
    ...returns(options.sensorPorts),
    { args: nat('-A', CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(options.port)) },
    { args: nat('-A', 'PREROUTING', ...HOOK), unlessPresent: nat('-C', 'PREROUTING', ...HOOK) },
  ];
  const undo: RuleStep[] = [{ args: nat('-D', 'PREROUTING', ...HOOK) }, { args: nat('-F', CHAIN) }, { args: nat('-X', CHAIN) }];
  return addressFamilies(options.listenAddress).map((family) => ({ command: family === 4 ? 'iptables' : 'ip6tables', apply, undo }));
}

/** Shell lines an operator can paste; the `||` forms make re-running them harmless. */
export function shellLines(command: string, steps: readonly RuleStep[]): string[] {
  return steps.map((step) => {
    const line = [command, ...step.args].join(' ');
    if (step.unlessPresent !== undefined) return `${[command, ...step.unlessPresent].join(' ')} 2>/dev/null || ${line}`;
    if (step.orElse !== undefined) return `${line} 2>/dev/null || ${[command, ...step.orElse].join(' ')}`;
    return line;
  });
}

export type RunCommand = (file: string, args: readonly string[]) => Promise<void>;

/** Runs the steps in order with the same fallbacks as the shell lines; throws at the first step that cannot be done. */
export async function applySteps(file: string, steps: readonly RuleStep[], run: RunCommand): Promise<void> {
  for (const step of steps) {
    if (step.unlessPresent !== undefined && (await succeeds(file, step.unlessPresent, run))) continue;
    try {
      await run(file, step.args);
    } catch (error) {
      if (step.orElse === undefined) throw error;
      await run(file, step.orElse);
    }
  }
}

async function succeeds(file: string, args: readonly string[], run: RunCommand): Promise<boolean> {
  try {
    await run(file, args);
    return true;
  } catch {
    return false;
  }
}
