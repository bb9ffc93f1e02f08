import { parsePrefix, type ParsedPrefix } from './address.js';

export type FingerprintKind = 'ja4' | 'ja3' | 'hassh' | 'ja4h';
export type IndicatorKind = 'ip' | FingerprintKind;
export type ListKind = IndicatorKind | 'auto';

/**
 * How a fingerprint is stored. `md5` is a 32-hex value from a list of kind `auto`: JA3 and
 * HASSH are both MD5 digests and cannot be told apart by their text, so such a value is
 * checked against both fields. The inputs hashed differ (a TLS ClientHello, an SSH KEXINIT),
 * so a value from one cannot turn up in the other by accident.
 */
export type StoredFingerprintKind = FingerprintKind | 'md5';

export type Classified = { kind: 'ip' } | { kind: StoredFingerprintKind; value: string } | { error: string };

function isLowerHex(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isLowerAlnum(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** "<a>_<12 hex>_<12 hex>…" with part a of `headLength` lowercase letters and digits. */
function hasFoxIoShape(value: string, headLength: number, hashes: number): boolean {
  if (value.length !== headLength + hashes * 13) return false;
  if (!isLowerAlnum(value, 0, headLength)) return false;
  for (let k = 0; k < hashes; k++) {
    const at = headLength + k * 13;
    if (value.charCodeAt(at) !== 95 || !isLowerHex(value, at + 1, at + 13)) return false;
  }
  return true;
}

/** JA4 (TLS client): 10 characters of part a, then two 12-hex hashes. */
export function isJa4(value: string): boolean {
  return hasFoxIoShape(value, 10, 2);
}

/** JA4H (HTTP client): 12 characters of part a, then three 12-hex hashes. */
export function isJa4h(value: string): boolean {
  return hasFoxIoShape(value, 12, 3);
}

export function isMd5(value: string): boolean {
  return value.length === 32 && isLowerHex(value, 0, 32);
}

const describeKind: Record<IndicatorKind, string> = {
  ip: 'an IP address or CIDR',
  ja4: 'a JA4 fingerprint',
  ja3: 'a JA3 fingerprint (32 hex digits)',
  hassh: 'a HASSH fingerprint (32 hex digits)',
  ja4h: 'a JA4H fingerprint',
};

/**
 * Decides what one indicator token is, for a list of kind `listKind`. Fingerprints are
 * compared in lower case, the form every tool prints them in. IP tokens leave the parsed
 * prefix in `prefix`.
 */
export function classify(token: string, listKind: ListKind, prefix: ParsedPrefix): Classified {
  if (listKind === 'ip' || (listKind === 'auto' && (token.includes('.') || token.includes(':')))) {
    if (parsePrefix(token, prefix)) return { kind: 'ip' };
    return { error: `not ${describeKind.ip}` };
  }
  const value = token.toLowerCase();
  switch (listKind) {
    case 'ja3':
    case 'hassh':
      return isMd5(value) ? { kind: listKind, value } : { error: `not ${describeKind[listKind]}` };
    case 'ja4':
      return isJa4(value) ? { kind: 'ja4', value } : { error: `not ${describeKind.ja4}` };
    case 'ja4h':
      return isJa4h(value) ? { kind: 'ja4h', value } : { error: `not ${describeKind.ja4h}` };
    default:
      if (isMd5(value)) return { kind: 'md5', value };
      if (isJa4(value)) return { kind: 'ja4', value };
      if (isJa4h(value)) return { kind: 'ja4h', value };
      return { error: 'not an IP address, CIDR, JA4, JA4H or 32-hex JA3/HASSH fingerprint' };
  }
}
