// JA3 TLS client fingerprint (Salesforce, BSD-3-Clause): the decimal
// ClientHello version, ciphers, extension types, supported groups and EC
// point formats, GREASE removed, joined as "v,c-c,e-e,g-g,p-p", then MD5.
import { hash } from 'node:crypto';
import type { ClientHello } from '../protocols/tls/client-hello.js';
import { withoutGrease } from './grease.js';

export function ja3(hello: ClientHello): { ja3: string; ja3_hash: string } {
  const fields = [
    String(hello.legacyVersion),
    withoutGrease(hello.ciphers).join('-'),
    withoutGrease(hello.extensions).join('-'),
    withoutGrease(hello.supportedGroups).join('-'),
    hello.ecPointFormats.join('-'),
  ];
  const ja3String = fields.join(',');
  return { ja3: ja3String, ja3_hash: hash('md5', ja3String, 'hex') };
}
