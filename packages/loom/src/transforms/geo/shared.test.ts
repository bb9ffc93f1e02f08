import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { GeoAsnLookup, openGeoData, type GeoAsnResult, type GeoDataHandles } from './index.js';

const IPS = ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:9.9.9.9', '81.2.69.142', '10.1.2.3', '::1', 'bogus', '2a00:1450:4001:82a::200e'];
for (let i = 0; i < 300; i++) IPS.push(`${1 + ((i * 37) % 223)}.${(i * 91) % 256}.${(i * 53) % 256}.${i % 256}`);

interface WorkerAnswer {
  results: GeoAsnResult[];
  shared: boolean[];
}

/** A worker that builds its own lookup over the posted handles, as an enrichment thread would. */
function lookupInWorker(handles: GeoDataHandles): Promise<WorkerAnswer> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.once('message', async ({ moduleUrl, handles, ips }) => {
      const { GeoAsnLookup } = await import(moduleUrl);
      const lookup = new GeoAsnLookup(handles);
      const shared = handles.sources.map((s) => s.format === 'mmdb' ? s.data instanceof SharedArrayBuffer : s.v4.starts instanceof SharedArrayBuffer);
      parentPort.postMessage({ results: ips.map((ip) => lookup.lookup(ip)), shared });
    });`;
  const worker = new Worker(source, { eval: true });
  return new Promise<WorkerAnswer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage({ moduleUrl: new URL('./index.js', import.meta.url).href, handles, ips: IPS });
  }).finally(() => worker.terminate());
}

test('handles posted to a worker thread give the same answers as the main thread', async () => {
  const handles = await openGeoData({ geoipPath: undefined, asnPath: undefined });
  const main = new GeoAsnLookup(handles);
  const answer = await lookupInWorker(handles);
  assert.deepEqual(answer.shared, [true, true, true, true], 'the worker sees the same shared memory, not a copy');
  assert.deepEqual(answer.results, IPS.map((ip) => main.lookup(ip)));
  assert.ok(answer.results.filter((r) => r.geo !== undefined && r.as !== undefined).length > 200);
});

test('handles survive structured cloning without copying the databases', async () => {
  const handles = await openGeoData({ geoipPath: undefined, asnPath: undefined });
  const clone = structuredClone(handles);
  const original = handles.sources[0];
  const copy = clone.sources[0];
  assert.ok(original?.format === 'mmdb' && copy?.format === 'mmdb');
  assert.ok(copy.data instanceof SharedArrayBuffer);
  const scratch = new SharedArrayBuffer(4);
  const cloned = structuredClone({ scratch });
  new Uint8Array(cloned.scratch)[0] = 7;
  assert.equal(new Uint8Array(scratch)[0], 7, 'a cloned SharedArrayBuffer is the same memory');
  assert.deepEqual(new GeoAsnLookup(clone).lookup('8.8.8.8'), new GeoAsnLookup(handles).lookup('8.8.8.8'));
});
