import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from './helpers/http.js';
import { baseToml, startLoom } from './helpers/loom-process.js';

test('a sensor flooding far beyond its rate limit does not take the other sensors\' share', async () => {
  const loom = await startLoom({
    toml: baseToml({ limits: 'per_sensor_rps = 20\nper_sensor_burst = 20' }),
    env: { LOOM_SENSOR_flood: 'token-of-the-flooding-sensor', LOOM_SENSOR_calm: 'token-of-the-calm-sensor' },
  });
  try {
    const url = `http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`;
    const send = (token: string) => request(url, '[{"event":{"kind":"event"}}]', { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    let flooding = true;
    const flood: Record<number, number> = {};
    // Sixteen connections post as fast as they can for the whole test.
    const flooders = Array.from({ length: 16 }, async () => {
      while (flooding) {
        const status = (await send('token-of-the-flooding-sensor')).status;
        flood[status] = (flood[status] ?? 0) + 1;
      }
    });
    const calm: number[] = [];
    for (let i = 0; i < 15; i++) {
      calm.push((await send('token-of-the-calm-sensor')).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    flooding = false;
    await Promise.all(flooders);
    assert.deepEqual(calm, new Array(15).fill(204), 'every batch of the calm sensor is accepted');
    assert.ok((flood[429] ?? 0) > 10 * (flood[204] ?? 0), `the flood is mostly refused: ${JSON.stringify(flood)}`);
    assert.ok((flood[204] ?? 0) >= 20, `the flooding sensor still gets its own share: ${JSON.stringify(flood)}`);
    assert.deepEqual(Object.keys(flood).sort(), ['204', '429'], 'nothing but accepted or rate-limited');
  } finally {
    await loom.stop();
  }
});
