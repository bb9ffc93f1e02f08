import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { IntelIndex, buildIntelIndex, type IntelMatch } from './index.js';

/*
 * The worker imports the compiled module itself and builds its IntelIndex from the handles
 * it was posted, as the decode workers do; it answers with its matches and whether the CIDR
 * tables arrived as shared memory.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then(({ IntelIndex }) => {
  parentPort.once('message', ({ handles, ips, fingerprints }) => {
    const index = new IntelIndex(handles);
    parentPort.postMessage({
      shared: handles.ipv4.starts instanceof SharedArrayBuffer && handles.ipv6.entries instanceof SharedArrayBuffer,
      ips: ips.map((ip) => index.matchIp(ip)),
      fingerprints: fingerprints.map(([kind, value]) => index.matchFingerprint(kind, value)),
    });
  });
});
`;

test('a worker thread given the posted handles answers exactly as the main thread', async () => {
  const handles = await buildIntelIndex([
    { name: 'a', category: 'scanner', confidence: 80, indicators: ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', 't13d1516h2_8daaf6152771_b186095e22b6'] },
    { name: 'b', category: 'botnet', confidence: 50, indicators: ['10.1.2.3', '::ffff:192.0.2.0/120', 'e7d705a3286e19ea42f587b344ee6865'] },
  ]);
  const ips = ['10.0.0.1', '10.1.2.3', '10.1.2.4', '11.0.0.0', '::ffff:192.0.2.9', '192.0.2.200', '2001:db8::1', '2001:db9::', 'nonsense'];
  const fingerprints: [string, string][] = [
    ['ja4', 't13d1516h2_8daaf6152771_b186095e22b6'],
    ['ja3', 'E7D705A3286E19EA42F587B344EE6865'],
    ['hassh', 'e7d705a3286e19ea42f587b344ee6865'],
    ['ja4h', 'nothing'],
  ];
  const local = new IntelIndex(handles);
  const expected = {
    shared: true,
    ips: ips.map((ip) => local.matchIp(ip)),
    fingerprints: fingerprints.map(([kind, value]) => local.matchFingerprint(kind as 'ja4', value)),
  };
  assert.ok(expected.ips.some((m) => m.length === 2), 'the probe set includes overlapping matches');

  const worker = new Worker(workerSource, { eval: true, workerData: { module: new URL('./index.js', import.meta.url).href } });
  try {
    worker.postMessage({ handles, ips, fingerprints });
    const [answer] = (await once(worker, 'message')) as [{ shared: boolean; ips: IntelMatch[][]; fingerprints: IntelMatch[][] }];
    assert.deepEqual(answer, expected);
  } finally {
    await worker.terminate();
  }
});

test('the handles survive structured cloning with the CIDR memory shared, not copied', async () => {
  const handles = await buildIntelIndex([{ name: 'a', category: 'c', confidence: 1, indicators: ['10.0.0.0/8'] }]);
  const clone = structuredClone(handles);
  const original = new Uint32Array(handles.ipv4.starts);
  const cloned = new Uint32Array(clone.ipv4.starts);
  assert.ok(clone.ipv4.starts instanceof SharedArrayBuffer);
  const before = cloned[1];
  original[1] = 12345;
  assert.equal(cloned[1], 12345, 'a write through one view is seen through the other: the same memory');
  original[1] = before ?? 0;
});
