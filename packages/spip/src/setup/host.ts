import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

export function shortHostname(): string {
  return hostname().split('.')[0] || 'spip-agent';
}

export interface AddressHint {
  address: string;
  interfaceName: string;
}

/** Addresses worth listening on; link-local IPv6 is left out because it needs a scope id to bind. */
export function listenAddressHints(): AddressHint[] {
  const hints: AddressHint[] = [];
  for (const [interfaceName, addresses] of Object.entries(networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.internal || (info.family === 'IPv6' && /^fe80:/i.test(info.address))) continue;
      hints.push({ address: info.address, interfaceName });
    }
  }
  return hints;
}

/** The `Port` lines of an sshd_config text; sshd listens on all of them. */
export function sshPortsFromConfig(text: string): number[] {
  const ports: number[] = [];
  for (const line of text.split('\n')) {
    // Port is not allowed inside Match blocks, and nothing after the first Match applies globally.
    if (/^\s*match\s/i.test(line)) break;
    const match = /^\s*port\s+(\d{1,5})\s*(?:#.*)?$/i.exec(line);
    const port = Number(match?.[1]);
    if (port >= 1 && port <= 65535 && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** The ports sshd listens on according to its configuration (drop-in files included), else 22. */
export function detectSshPorts(dir = '/etc/ssh'): number[] {
  const texts: string[] = [];
  const read = (path: string): void => {
    try {
      texts.push(readFileSync(path, 'utf8'));
    } catch {
      // an unreadable or missing file says nothing about the port
    }
  };
  read(join(dir, 'sshd_config'));
  try {
    for (const name of readdirSync(join(dir, 'sshd_config.d')).filter((n) => n.endsWith('.conf')).sort()) read(join(dir, 'sshd_config.d', name));
  } catch {
    // no drop-in directory
  }
  const ports = [...new Set(texts.flatMap(sshPortsFromConfig))];
  return ports.length > 0 ? ports : [22];
}

/** The executable `name` resolves to on PATH, as a shell would run it. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
