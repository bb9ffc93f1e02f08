// Single-thread cost of each enrichment stage: the decode worker's loop (parseBatch, the
// Enricher, serialiseBatch) over the ingest benchmarks' own batches, with the compiled code in
// packages/loom/dist, in one child process per set of stages. No HTTP, no second thread and no
// load generator, so the CPU time per event of one change can be compared with the next without
// the noise of the end-to-end runs.
//
// Each set of stages runs in its own process so that none inherits another's JIT state, as in
// Loom, where every decode thread runs one configuration. The child reports the CPU time
// (process.cpuUsage, which includes V8's garbage-collection helper threads) and the wall time of
// each pass over the 200 bodies, and a SHA-256 of everything it wrote: two commits that give the
// same digest for a set of stages produce byte-identical output for the whole load.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir, trackProcess } from './cleanup.mjs';
import { makeBodies } from './events.mjs';
import { INTEL_LIST, intelListText } from './intel-list.mjs';
import { root } from './loom.mjs';

/** The sets of stages measured, in the order printed. */
export const STAGE_SETS = [
  { name: 'none', label: 'none', geo: false, intel: false, risk: false },
  { name: 'geo', label: 'GeoIP + ASN', geo: true, intel: false, risk: false },
  { name: 'intel', label: 'threat intel', geo: false, intel: true, risk: false },
  { name: 'risk', label: 'risk score', geo: false, intel: false, risk: true },
  { name: 'geo+intel', label: 'GeoIP + ASN + intel', geo: true, intel: true, risk: false },
  { name: 'all', label: 'all (GeoIP + ASN + intel + risk)', geo: true, intel: true, risk: true },
];

const self = fileURLToPath(import.meta.url);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Runs every set in `names` (default all) in turn, each in a fresh `node` with `nodeArgs`, and
 * resolves to one row per set: median CPU and wall µs/event over `rounds` measured passes, the
 * output size and digest, and the share of events that matched the intel list. `loomRoot` is the
 * tree whose built Loom is measured (default this one), for comparing with another checkout.
 */
export async function runStages({ names, rounds = 10, repeat = 1, warmupPasses = 3, nodeArgs = [], loomRoot = root, onRow } = {}) {
  const sets = names === undefined ? STAGE_SETS : names.map((name) => {
    const set = STAGE_SETS.find((s) => s.name === name);
    if (set === undefined) throw new Error(`unknown stage set "${name}"; known: ${STAGE_SETS.map((s) => s.name).join(', ')}`);
    return set;
  });
  const { dir, remove } = tempDir('loom-bench-stages');
  try {
    const listPath = join(dir, 'blocklist.netset');
    writeFileSync(listPath, intelListText());
    // With repeat > 1 the sets take turns, so that a busy spell on the machine falls on all of them.
    const runs = sets.map(() => []);
    for (let r = 0; r < repeat; r++) {
      for (const [i, set] of sets.entries()) {
        const row = await runChild(set, { listPath, rounds, warmupPasses, nodeArgs, loomRoot });
        runs[i].push(row);
        onRow?.(row);
      }
    }
    return runs.map(combine);
  } finally {
    await remove();
  }
}

/** One row from the runs of one set: the median of their medians, the fastest and slowest pass of all. */
function combine(rows) {
  const digests = new Set(rows.map((row) => row.outputSha256));
  if (digests.size > 1) throw new Error(`stage set ${rows[0].name}: the output differed between runs`);
  return {
    ...rows[0],
    cpuMicrosecondsPerEvent: median(rows.map((row) => row.cpuMicrosecondsPerEvent)),
    wallMicrosecondsPerEvent: median(rows.map((row) => row.wallMicrosecondsPerEvent)),
    cpuMicrosecondsPerEventRange: [Math.min(...rows.map((row) => row.cpuMicrosecondsPerEventRange[0])), Math.max(...rows.map((row) => row.cpuMicrosecondsPerEventRange[1]))],
    runs: rows.length,
    cpuMicrosecondsPerEventOfEachRun: rows.map((row) => row.cpuMicrosecondsPerEvent),
  };
}

function runChild(set, { listPath, rounds, warmupPasses, nodeArgs, loomRoot }) {
  return new Promise((resolve, reject) => {
    const args = [...nodeArgs, self, JSON.stringify({ set, listPath, rounds, warmupPasses, loomRoot })];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STAGES_CHILD: '1' } });
    const stop = trackProcess(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      void stop();
      if (code !== 0) {
        reject(new Error(`stage set ${set.name}: exited with ${code ?? signal}\n${err.trim()}`));
        return;
      }
      try {
        resolve({ ...set, ...JSON.parse(out) });
      } catch (error) {
        reject(new Error(`stage set ${set.name}: unreadable result ${JSON.stringify(out.slice(0, 200))}: ${error.message}`));
      }
    });
  });
}

/** The child: builds the Enricher as a decode thread does and times passes over the batches. */
async function child({ set, listPath, rounds, warmupPasses, loomRoot }) {
  const dist = (path) => import(pathToFileURL(join(loomRoot, 'packages/loom/dist/src', path)).href);
  const [{ parseBatch, serialiseBatch }, { Enricher }, { loadConfigText }, { openGeoData }, { loadIntelLists }, job] = await Promise.all([
    dist('sources/http-ingest/decode.js'),
    dist('transforms/enricher.js'),
    dist('config/load.js'),
    dist('transforms/geo/index.js'),
    dist('transforms/intel/index.js'),
    // What a decode thread runs per body; trees from before it was split out of the worker lack it.
    dist('pipeline/decode-job.js').catch(() => undefined),
  ]);
  const decode = job?.decodeJob ?? (async (body, format, gzip, decodeLimits, enricher) => {
    const parsed = parseBatch(body, format, decodeLimits, gzip);
    if (!parsed.ok) return parsed;
    await enricher.enrichBatch(parsed.events);
    return serialiseBatch(parsed.events);
  });
  // The defaults of a real config (limits, cache size, risk rules), as the ingest scenarios run with.
  // A config needs a sensor token to load; this one is never used.
  const { config } = loadConfigText('[limits]\nmax_events_per_batch = 500\n', { env: { LOOM_SENSOR_bench_sensor: 'x'.repeat(32) } });
  const { limits, enrichment } = config;
  const data = {
    geo: set.geo ? await openGeoData({ geoipPath: undefined, asnPath: undefined }) : undefined,
    intel: set.intel ? (await loadIntelLists([{ ...INTEL_LIST, path: listPath }])).handles : undefined,
  };
  const settings = {
    fields: enrichment.fields,
    cacheSize: enrichment.cache_size,
    dns: { ...enrichment.dns, enabled: false },
    risk: { ...enrichment.risk, enabled: set.risk },
  };
  const enricher = new Enricher(settings, data);
  const { bodies, eventsPerBody } = makeBodies({ count: 200, perBody: 100 });
  const events = bodies.length * eventsPerBody;

  const digest = createHash('sha256');
  let outputBytes = 0;
  let intelMatches = 0;
  const warn = (message) => {
    throw new Error(message);
  };
  // One pass is what a decode thread does for each request body (see pipeline/decode-job.ts).
  const pass = async (check) => {
    for (const body of bodies) {
      const result = await decode(body, 'json', false, limits, enricher, warn);
      if (!result.ok) throw new Error(result.message);
      if (check) {
        digest.update(result.ndjson);
        outputBytes += result.ndjson.length;
        for (const line of result.ndjson.toString('latin1').split('\n')) if (line.includes('"threat":{')) intelMatches++;
      }
    }
  };
  await pass(true);
  for (let i = 1; i < warmupPasses; i++) await pass(false);
  const cpu = [];
  const wall = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await pass(false);
    const w1 = performance.now();
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / events);
    wall.push(((w1 - w0) * 1000) / events);
  }
  return {
    cpuMicrosecondsPerEvent: median(cpu),
    wallMicrosecondsPerEvent: median(wall),
    cpuMicrosecondsPerEventRange: [Math.min(...cpu), Math.max(...cpu)],
    outputBytesPerEvent: outputBytes / events,
    intelMatchedShare: intelMatches / events,
    outputSha256: digest.digest('hex'),
    events,
    rounds,
    cache: enricher.stats(),
  };
}

if (process.env.STAGES_CHILD === '1' && process.argv[1] === self) {
  const result = await child(JSON.parse(process.argv[2]));
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}
