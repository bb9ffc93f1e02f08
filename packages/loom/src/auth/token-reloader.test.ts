import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../config/load.js';
import type { Logger } from '../logging.js';
import { Metrics } from '../management/metrics.js';
import { TokenReloader } from './token-reloader.js';
import { TokenStore } from './token-store.js';

test('a trigger during a reload gets a reload of its own afterwards; later ones share it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'loom-reloader-'));
  try {
    const path = join(dir, 'tokens.csv');
    await writeFile(path, 'token-one,sensor-a\n', { mode: 0o600 });
    const { config } = loadConfigText(`[auth]\ntoken_file = ${JSON.stringify(path)}\n`, { env: {} });
    const store = new TokenStore(config.auth.tokens);
    const triggers: string[] = [];
    const logger = {
      info: (fields: { trigger: string }) => triggers.push(fields.trigger),
      warn: () => undefined,
      error: (fields: { error: string }) => assert.fail(fields.error),
    } as unknown as Logger;
    const reloader = new TokenReloader(config, store, new Metrics(), logger, () => undefined);

    // A file replaced (by rename, as deployments do) while a reload may already have read it
    // needs a reload of its own: triggers that arrive during a running reload get one more.
    await writeFile(`${path}.new`, 'token-two,sensor-b\n', { mode: 0o600 });
    await rename(`${path}.new`, path);
    const first = reloader.reload('first');
    const second = reloader.reload('second');
    const third = reloader.reload('third');
    assert.equal(second, third);
    await Promise.all([first, second, third]);

    assert.deepEqual(triggers, ['first', 'second']);
    assert.equal(store.sensorFor('token-two'), 'sensor-b');
    assert.equal(store.sensorFor('token-one'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
