import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { generateSelfSigned } from './certificates.js';

/** Copies an existing file to `<path>.bak` with the same mode; undefined when there was nothing to keep. */
export async function backup(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const copy = `${path}.bak`;
  await copyFile(path, copy);
  await chmod(copy, mode);
  return copy;
}

/**
 * Writes through a temporary file in the same directory and renames it into place, so a reader
 * (or a crash) never sees half a file, and a secret is never readable under a wider mode.
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, data, { mode, flag: 'wx' });
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Generates the certificate in a scratch directory first, so a failing openssl leaves any earlier
 * certificate untouched; earlier files are kept as .bak. Returns the backups made.
 */
export async function installSelfSigned(certPath: string, keyPath: string, name: string): Promise<string[]> {
  await mkdir(dirname(certPath), { recursive: true });
  const scratch = await mkdtemp(join(dirname(certPath), '.spip-setup-'));
  try {
    const generated = await generateSelfSigned(scratch, name);
    const backups: string[] = [];
    for (const path of [certPath, keyPath]) {
      const copy = await backup(path);
      if (copy !== undefined) backups.push(copy);
    }
    await rename(generated.keyPath, keyPath);
    await rename(generated.certPath, certPath);
    return backups;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
