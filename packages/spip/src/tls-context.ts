import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { SpipConfig } from './config/types.js';

const run = promisify(execFile);

/**
 * The certificate the sensor terminates TLS with: the configured files, or, with
 * tls_self_signed, a fresh P-256 certificate made by openssl at startup (kept in memory only).
 * Without either, TLS clients are fingerprinted from their ClientHello and not answered.
 * Versions down to TLS 1.0 are accepted on purpose: old scanners are what a honeypot wants to see.
 */
export async function loadSecureContext(config: SpipConfig): Promise<tls.SecureContext | undefined> {
  let cert: Buffer;
  let key: Buffer;
  if (config.cert_path !== '') {
    try {
      [cert, key] = await Promise.all([readFile(config.cert_path), readFile(config.key_path)]);
    } catch (error) {
      throw new Error(`Failed to initialize TLS: ${(error as Error).message}`, { cause: error });
    }
  } else if (config.tls_self_signed) {
    ({ cert, key } = await selfSigned(config.name));
  } else {
    return undefined;
  }
  try {
    return tls.createSecureContext({ cert, key, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  } catch (error) {
    throw new Error(`Failed to initialize TLS: cert_path/key_path: ${(error as Error).message}`, { cause: error });
  }
}

async function selfSigned(name: string): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'spip-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    const subject = `/CN=${name.replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost'}`;
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365', '-subj', subject, '-keyout', keyPath, '-out', certPath], { timeout: 20_000 });
    return { cert: await readFile(certPath), key: await readFile(keyPath) };
  } catch (error) {
    throw new Error(`Failed to initialize TLS: tls_self_signed needs the openssl command: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
