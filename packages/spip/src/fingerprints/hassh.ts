import { hash } from 'node:crypto';
import type { KexInit } from '../protocols/ssh/ssh.js';

/**
 * HASSH (salesforce/hassh): md5 of the client's "kex;encryption;mac;compression" name-lists,
 * client-to-server direction, each list exactly as sent. Host key algorithms are not part of it.
 */
export function hassh(kexinit: KexInit): { hassh: string; hasshAlgorithms: string } {
  const hasshAlgorithms = pick(kexinit, [0, 2, 4, 6]);
  return { hassh: md5(hasshAlgorithms), hasshAlgorithms };
}

/** HASSHServer: the same over a server's KEXINIT, server-to-client lists. */
export function hasshServer(kexinit: KexInit): { hasshServer: string; hasshServerAlgorithms: string } {
  const hasshServerAlgorithms = pick(kexinit, [0, 3, 5, 7]);
  return { hasshServer: md5(hasshServerAlgorithms), hasshServerAlgorithms };
}

function pick(kexinit: KexInit, indexes: number[]): string {
  return indexes.map((i) => kexinit.lists[i] ?? '').join(';');
}

function md5(text: string): string {
  return hash('md5', text, 'hex');
}
