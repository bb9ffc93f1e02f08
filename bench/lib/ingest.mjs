// The HTTP ingest scenarios differ only in transport and encoding, so one factory builds them.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from './cleanup.mjs';
import { makeBodies } from './events.mjs';
import { INTEL_LIST, intelListText } from './intel-list.mjs';
import { startLoom, writeConfig } from './loom.mjs';
import { freePort } from './net.mjs';
import { childPids, memory, startCpuMeter } from './proc.mjs';
import { runWrk } from './wrk.mjs';

// Underscores in the variable name become hyphens in the sensor id (see config/secrets.ts).
const SENSOR_ENV = 'LOOM_SENSOR_bench_sensor';
const SENSOR_ID = 'bench-sensor';

const round1 = (n) => Math.round(n * 10) / 10;

let cachedBodies;
/** Generated once per runner process: every ingest scenario sends the same events. */
function bodies() {
  cachedBodies ??= makeBodies({ count: 200, perBody: 100 });
  return cachedBodies;
}

function selfSignedCert(dir) {
  const keyFile = join(dir, 'k.pem');
  const certFile = join(dir, 'c.pem');
  const out = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (out.error !== undefined || out.status !== 0) {
    throw new Error(`openssl could not create a test certificate (install it with "apt-get install openssl"): ${out.error?.message ?? out.stderr}`);
  }
  return { certFile, keyFile };
}

/** The benchmark's intel list (see intel-list.mjs), written next to the config and added to it. */
function appendIntelList(configPath, dir) {
  const listPath = join(dir, 'blocklist.netset');
  writeFileSync(listPath, intelListText());
  const { name, category, confidence } = INTEL_LIST;
  appendFileSync(configPath, `\n[[enrichment.intel]]\nname = ${JSON.stringify(name)}\npath = ${JSON.stringify(listPath)}\ncategory = ${JSON.stringify(category)}\nconfidence = ${confidence}\n`);
}

/**
 * A scenario that posts batches of ~1 KB Spip events to /api/v1/ingest with wrk.
 * output: where events go instead of stdout, e.g. clickhouseOutput() from clickhouse.mjs: an
 * object whose start(dir) resolves to { sections, check(acknowledgedEvents), stop() }.
 * tls: HTTPS with a self-signed P-256 certificate; gzip: bodies sent with Content-Encoding: gzip;
 * enrichment: false (no lookups at all), or { risk } for the bundled GeoIP and ASN data and the
 * benchmark's intel list, with the risk score on or off.
 * target: what the scenario must reach, in the shape described in ../scenarios/index.mjs.
 * processes: server.processes (1 = Loom's one process takes the connections); CPU and memory
 * are then summed over the primary and its ingest processes.
 */
export function ingestScenario({ name, description, tls = false, gzip = false, enrichment = false, target, output, processes = 1 }) {
  let state;
  return {
    name,
    description,
    kind: 'ingest',
    target,

    async setup(options) {
      const { dir, remove } = tempDir(`loom-bench-${name}`);
      state = { remove };
      const { bodies: raw, eventsPerBody, avgEventBytes } = bodies();
      const bodyDir = join(dir, 'bodies');
      mkdirSync(bodyDir);
      let wireBytes = 0;
      raw.forEach((body, i) => {
        // Level 6 is what Go's and zlib's defaults produce, i.e. what a sensor would send.
        const data = gzip ? gzipSync(body, { level: 6 }) : body;
        wireBytes += data.length;
        writeFileSync(join(bodyDir, `${i}.body`), data);
      });
      const [port, managementPort] = [await freePort(), await freePort()];
      const token = randomBytes(24).toString('base64url');
      const server = { listen_address: `127.0.0.1:${port}`, management_listen_address: `127.0.0.1:${managementPort}`, tls, processes };
      if (tls) {
        const { certFile, keyFile } = selfSignedCert(dir);
        Object.assign(server, { cert_file: certFile, key_file: keyFile });
      }
      const configPath = join(dir, 'loom.toml');
      const destination = output === undefined ? undefined : await output.start(dir);
      state.destination = destination;
      writeConfig(configPath, {
        server,
        limits: { per_sensor_rps: -1, max_events_per_batch: 500 },
        ...(destination === undefined ? { output: { type: 'stdout' } } : destination.sections),
        logging: { level: 'warn', format: 'json' },
        // Plain ingest measures the path without lookups; the enriched scenarios turn on the
        // bundled GeoIP and ASN data and a threat-intel list, with or without the risk score. The
        // bundled data is older than the default freshness warning, which would count as a failed run.
        ...(enrichment
          ? { enrichment: { max_db_age_days: 0 }, 'enrichment.risk': { enabled: enrichment.risk } }
          : { enrichment: { geoip_db_path: '', asn_db_path: '' }, 'enrichment.risk': { enabled: false } }),
      });
      if (enrichment) appendIntelList(configPath, dir);
      const managementUrl = `http://127.0.0.1:${managementPort}`;
      // One profile per thread, written when Loom exits cleanly; a directory per scenario keeps them apart.
      const nodeArgs = [...(options.loomNodeArgs ?? []), ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, name)}`])];
      const loom = await startLoom({ configPath, env: { [SENSOR_ENV]: token }, managementUrl, nodeArgs });
      state = {
        ...state,
        loom,
        managementUrl,
        url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/api/v1/ingest`,
        scriptArgs: [bodyDir, raw.length, token, SENSOR_ID, gzip ? 'gzip' : 'identity'],
        eventsPerBody,
        load: {
          events_per_request: eventsPerBody,
          distinct_bodies: raw.length,
          avg_event_bytes: Math.round(avgEventBytes),
          avg_request_body_bytes: Math.round(wireBytes / raw.length),
          content_encoding: gzip ? 'gzip' : 'identity',
          transport: tls ? 'https' : 'http',
        },
      };
    },

    async run(options) {
      const { loom, url, scriptArgs, eventsPerBody } = state;
      const wrkOptions = { url, script: 'post-bodies.lua', scriptArgs, connections: options.connections, threads: options.wrkThreads };
      // Warm-up: JIT, worker threads and connection setup (TLS handshakes) stay out of the figures.
      const warm = await runWrk({ ...wrkOptions, durationSeconds: options.warmupSeconds });
      const pids = [loom.pid, ...childPids(loom.pid)];
      const meters = pids.map((pid) => startCpuMeter(pid));
      const wrk = await runWrk({ ...wrkOptions, durationSeconds: options.durationSeconds });
      if (loom.exited !== undefined) throw new Error(`Loom exited during the run:\n${loom.logTail().join('\n')}`);
      const [cpu, ...children] = meters.map((meter) => meter.finish());
      // The primary's figures, with the ingest processes' CPU and memory added (one Loom).
      cpu.cpuPercent += children.reduce((sum, c) => sum + c.cpuPercent, 0);
      cpu.writtenBytesPerSecond = [cpu, ...children].reduce((sum, c) => sum + (c.writtenBytesPerSecond ?? 0), 0);
      const mems = pids.map((pid) => memory(pid));
      const mem = { peakRss: mems.reduce((sum, m) => sum + (m.peakRss ?? 0), 0), rss: mems.reduce((sum, m) => sum + (m.rss ?? 0), 0) };

      const ok = wrk.requests - wrk.non2xx;
      // Acknowledged is not delivered: an output with an outbox must also keep up, which check() measures.
      const delivery = state.destination === undefined ? undefined
        : await state.destination.check(((warm.requests - warm.non2xx) + ok) * eventsPerBody, state.managementUrl);
      const okPerSecond = (wrk.requestsPerSecond * ok) / Math.max(1, wrk.requests);
      const socketErrors = Object.values(wrk.socketErrors).reduce((a, b) => a + b, 0);
      // CPU neither Loom nor wrk used: other processes on the machine, which make the figures low.
      const otherCpuPercent = (cpu.machineBusyPercent * availableParallelism()) - cpu.cpuPercent - wrk.cpuPercent;
      return {
        eventsPerSecond: okPerSecond * eventsPerBody,
        requestsPerSecond: wrk.requestsPerSecond,
        latencyMs: wrk.latencyMs,
        cpuPercent: cpu.cpuPercent,
        // CPU time per event is what other processes on the machine disturb least.
        cpuMicrosecondsPerEvent: cpu.cpuPercent * 1e4 / Math.max(1, okPerSecond * eventsPerBody),
        loadGeneratorCpuPercent: wrk.cpuPercent,
        otherCpuPercent,
        peakRssBytes: mem.peakRss,
        non2xx: wrk.non2xx,
        socketErrors,
        details: {
          ...(delivery === undefined ? {} : { delivery }),
          requests: wrk.requests,
          duration_seconds: wrk.durationSeconds,
          socket_errors: wrk.socketErrors,
          statuses: wrk.statuses,
          // What Loom wrote (events to stdout, plus small responses): a cross-check that the
          // acknowledged batches really went out, without enabling metrics in the measured config.
          loom_written_mib_per_second: cpu.writtenBytesPerSecond / 2 ** 20,
          loom_threads_cpu_percent: { main: round1(cpu.threads.main), others: cpu.threads.others.map(round1) },
          ...(children.length === 0 ? {} : { ingest_processes_cpu_percent: children.map((c) => round1(c.cpuPercent)) }),
          machine_busy_percent_of_all_cores: cpu.machineBusyPercent,
          rss_bytes_at_end: mem.rss,
          warmup: { requests: warm.requests, non2xx: warm.non2xx, socket_errors: Object.values(warm.socketErrors).reduce((a, b) => a + b, 0) },
          log_problems: loom.problems().slice(-5),
          load: state.load,
          wrk_args: wrk.args.filter((a) => a !== scriptArgs[2]),
        },
      };
    },

    async teardown() {
      await state?.loom?.stop();
      await state?.destination?.stop();
      await state?.remove();
      state = undefined;
    },
  };
}
