import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskSpool, LogFn } from '@loom/spool';
import { encodeRecord } from './record.js';

/** The earlier version's spool files: <20-digit unix ns>-<6-digit seq>.ndjson, one raw event per line. */
const LEGACY_NAME = /^\d{20}-\d{6}\.ndjson$/;

/**
 * Takes over what the earlier version left in its outbox directory: each `*.ndjson` file
 * becomes one record of the new outbox (appended and synced first, then the old file is
 * deleted), so upgrading in place loses nothing. A file that cannot be read is left where
 * it is and reported, not deleted as the earlier version did.
 */
export async function importLegacySpool(dir: string, spool: DiskSpool, log: LogFn): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => LEGACY_NAME.test(name)).sort();
  } catch {
    return;
  }
  let files = 0;
  let events = 0;
  for (const name of names) {
    const file = join(dir, name);
    try {
      const text = await readFile(file, 'utf8');
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      if (lines.length > 0) {
        const ndjson = Buffer.from(`${lines.join('\n')}\n`);
        const receivedAt = Math.floor(Number(name.slice(0, 20)) / 1e6) || Date.now();
        await spool.appendDurable([encodeRecord({ id: `legacy-${name.slice(0, 27)}`, source: 'legacy-outbox', sensorId: '', receivedAt, count: lines.length, ndjson })]);
      }
      await unlink(file);
      files++;
      events += lines.length;
    } catch (error) {
      log('error', 'could not take over a file of the earlier outbox; left in place', { file, error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (files > 0) log('info', 'took over the earlier version\'s outbox files', { dir, files, events });
}
