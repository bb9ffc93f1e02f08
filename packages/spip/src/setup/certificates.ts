import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function opensslAvailable(): Promise<boolean> {
  try {
    await run('openssl', ['version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** openssl -subj treats / and + as separators and \ as an escape, so a name containing them must be escaped to stay one CN. */
export function subjectForName(name: string): string {
  return `/CN=${name.replace(/[\\/+]/g, '\\$&')}`;
}

/** Writes cert.pem and key.pem (P-256, 365 days, CN = name) into dir; the key is readable by its owner only. */
export async function generateSelfSigned(dir: string, name: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await run(
    'openssl',
    ['req', '-x509', '-utf8', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365', '-subj', subjectForName(name), '-keyout', keyPath, '-out', certPath],
    { timeout: 30_000 },
  );
  await chmod(keyPath, 0o600);
  return { certPath, keyPath };
}

/** Why the sensor could not use this certificate and key, or undefined when they load and belong together. */
export function certificateProblem(certPath: string, keyPath: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certPath));
  } catch (error) {
    return `certificate ${certPath}: ${(error as Error).message}`;
  }
  try {
    const key = createPrivateKey(readFileSync(keyPath));
    if (!cert.checkPrivateKey(key)) return `${keyPath} is not the private key of ${certPath}`;
  } catch (error) {
    return `private key ${keyPath}: ${(error as Error).message}`;
  }
  return undefined;
}
