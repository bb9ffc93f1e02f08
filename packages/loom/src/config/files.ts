import { constants, accessSync, statSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/**
 * The reason part of a file-system error ("no such file or directory"), without the
 * "ENOENT: …, open '/path'" decoration: messages already name the path once.
 */
export function describeFsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^[A-Z]+: (.*?), [a-z]+(?: '.*')?$/s.exec(error.message);
  return match?.[1] ?? error.message;
}

/** Why `path` cannot be opened for reading, or undefined when it can. */
export async function unreadableReason(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isDirectory() ? 'is a directory' : undefined;
  } catch (error) {
    return describeFsError(error);
  }
}

/** The same check, synchronously, for the pure loader used at startup and in tests. */
export function unreadableReasonSync(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isDirectory() ? 'is a directory' : undefined;
  } catch (error) {
    return describeFsError(error);
  }
}
