// The Spip scenarios: short connections against a sensor that ships to a real Loom, and a
// sensor holding many idle connections. Both start the built Spip (and Loom) as separate
// processes, as they run in production.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { tempDir } from './cleanup.mjs';
import { openIdleConnections, runShortConnections } from './connections.mjs';
import { startLoom, writeConfig } from './loom.mjs';
import { byLabel, scrape, sum } from './metrics.mjs';
import { freePort } from './net.mjs';
import { httpProbe } from './probes.mjs';
import { memory, startCpuMeter, startOtherProcessesMeter } from './proc.mjs';
import { openDescriptors, reachableNofile, startSpip, writeSpipConfig } from './spip.mjs';

// Underscores in the variable name become hyphens in the sensor id (see Loom's config/secrets.ts).
const SENSOR_ENV = 'LOOM_SENSOR_bench_sensor';
const SENSOR_ID = 'bench-sensor';

const round1 = (n) => Math.round(n * 10) / 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function profileArgs(options, name, process) {
  return options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, name, process)}`];
}

/**
 * Keys every Spip scenario sets. All load comes from 127.0.0.1, so the per-source cap and
 * the global accept rate limit (20/s by default, which would turn nearly every connection
 * into a "rate-limited" event) are lifted: the benchmark measures the sensor's work per
 * connection, not its flood protection.
 */
function spipBase(name, port, metricsPort) {
  return {
    name,
    ip: '127.0.0.1',
    port,
    // "info" for the "sensor started" line the runner waits for; nothing is logged per connection.
    log_level: 'info',
    rate_limit_per_second: 1_000_000,
    rate_limit_burst: 1_000_000,
    max_connections: 30_000,
    max_connections_per_ip: 1_000_000,
    metrics_listen_address: `127.0.0.1:${metricsPort}`,
    // Below the runner's 10 s grace before SIGKILL, so Spip exits on its own and writes its CPU profile.
    shutdown_timeout_seconds: 3,
  };
}

/** Spip's events of one kind, via its own metrics: proof that the scenario exercised the intended path. */
async function spipActions(metricsUrl) {
  return byLabel(await scrape(metricsUrl), 'spip_connections_total', 'action');
}

/**
 * Waits until Loom has acknowledged `expected` events from the sensor, or until the count
 * has not moved for `stallMs` (the shipper flushes every second, so a few seconds without
 * progress means nothing more is coming).
 */
async function waitForDelivery(managementUrl, expected, { stallMs = 5000, maxMs = 30_000 } = {}) {
  const t0 = Date.now();
  let last = -1;
  let lastChange = t0;
  for (;;) {
    const received = sum(await scrape(`${managementUrl}/metrics`), 'loom_ingest_events_total', { sensor_id: SENSOR_ID });
    if (received !== last) {
      last = received;
      lastChange = Date.now();
    }
    if (received >= expected || Date.now() - lastChange > stallMs || Date.now() - t0 > maxMs) {
      return { received, waitedSeconds: (Date.now() - t0) / 1000 };
    }
    await sleep(200);
  }
}

/**
 * A scenario of short connections: each sends `payload()` (and half-closes with `halfClose`)
 * and waits for Spip to close; `expectPrefix` is what an answered connection must read.
 * `action` is the event.action Spip must record for (nearly) all of them.
 */
export function connectionScenario({ name, description, payload, halfClose = false, expectPrefix, action, target }) {
  let state;
  return {
    name,
    description,
    kind: 'connections',
    target,

    async setup(options) {
      const { dir, remove } = tempDir(`spip-bench-${name}`);
      state = { remove };
      const probe = await payload();
      const [loomPort, managementPort, spipPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const token = randomBytes(24).toString('base64url');

      const loomConfig = join(dir, 'loom.toml');
      writeConfig(loomConfig, {
        server: { listen_address: `127.0.0.1:${loomPort}`, management_listen_address: `127.0.0.1:${managementPort}`, tls: false },
        limits: { per_sensor_rps: -1, max_events_per_batch: 500 },
        // Every source is 127.0.0.1, which has no location or AS to look up, and Loom shares the
        // two cores with Spip: its address lookups would only take CPU from the sensor measured.
        enrichment: { geoip_db_path: '', asn_db_path: '' },
        output: { type: 'stdout' },
        logging: { level: 'warn', format: 'json' },
        observability: { metrics_enabled: true },
      });
      const managementUrl = `http://127.0.0.1:${managementPort}`;
      const loom = await startLoom({ configPath: loomConfig, env: { [SENSOR_ENV]: token }, managementUrl, nodeArgs: [...options.loomNodeArgs, ...profileArgs(options, name, 'loom')] });
      state = { ...state, loom, managementUrl };

      const spipConfig = join(dir, 'spip.toml');
      const loomSection = { enabled: true, url: `http://127.0.0.1:${loomPort}/api/v1/ingest`, sensor_id: SENSOR_ID, batch_size: 500, flush_interval: '1s', gzip: true };
      // By default spool_dir is unset, which means a "spool" directory next to the config (here in
      // the temp dir), as in production; "" keeps unsent events in memory only.
      if (options.spipSpool === 'memory') loomSection.spool_dir = '';
      writeSpipConfig(spipConfig, spipBase(SENSOR_ID, spipPort, metricsPort), { loom: loomSection });
      const spip = await startSpip({ configPath: spipConfig, env: { SPIP_LOOM_TOKEN: token }, nodeArgs: [...options.spipNodeArgs, ...profileArgs(options, name, 'spip')] });
      state = {
        ...state,
        spip,
        spipPort,
        metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
        probe,
        load: { payload_bytes: probe.bytes.length, half_close: halfClose, expect_prefix: expectPrefix ?? null, spool: options.spipSpool, ...probe.info },
      };
    },

    async run(options) {
      const { spip, loom, spipPort, probe } = state;
      const loadOptions = { port: spipPort, concurrency: options.spipConnections, payload: probe.bytes, halfClose, expectPrefix };
      // Warm-up: JIT of the session path, the shipper's first batches and Loom's workers stay out of the figures.
      const warm = await runShortConnections({ ...loadOptions, durationSeconds: options.warmupSeconds });
      const spipMeter = startCpuMeter(spip.pid);
      const loomMeter = startCpuMeter(loom.pid);
      const othersMeter = startOtherProcessesMeter();
      const load = await runShortConnections({ ...loadOptions, durationSeconds: options.durationSeconds });
      const others = othersMeter.finish();
      const loomCpu = loomMeter.finish();
      const cpu = spipMeter.finish();
      const mem = memory(spip.pid);
      for (const [who, p] of [['Spip', spip], ['Loom', loom]]) {
        if (p.exited !== undefined) throw new Error(`${who} exited during the run:\n${p.logTail().join('\n')}`);
      }

      // Every connection that got through connect() is one event, whatever happened next.
      const made = warm.connected + load.connected;
      const delivery = await waitForDelivery(state.managementUrl, made);
      const actions = await spipActions(state.metricsUrl);
      const shipper = byLabel(await scrape(state.metricsUrl), 'spip_shipper_dropped_events_total', 'reason');
      // Busy time none of the three processes accounts for: mostly the kernel's loopback and disk
      // work for this very load, which is why it is not what decides whether the run was quiet.
      const unattributedCpuPercent = (cpu.machineBusyPercent * availableParallelism()) - cpu.cpuPercent - loomCpu.cpuPercent - load.cpuPercent;
      return {
        connectionsPerSecond: load.connectionsPerSecond,
        latencyMs: load.latencyMs,
        cpuPercent: cpu.cpuPercent,
        cpuMicrosecondsPerConnection: (cpu.cpuPercent * 1e4) / Math.max(1, load.connectionsPerSecond),
        peakRssBytes: mem.peakRss,
        rssBytes: mem.rss,
        loomCpuPercent: loomCpu.cpuPercent,
        loadGeneratorCpuPercent: load.cpuPercent,
        otherCpuPercent: others.percent,
        failed: load.unanswered + warm.unanswered,
        delivered: { events: delivery.received, connections: made, ratio: delivery.received / Math.max(1, made), waitedSeconds: delivery.waitedSeconds },
        details: {
          connections: load.connections,
          answered: load.answered,
          unanswered: load.unanswered,
          duration_seconds: load.durationSeconds,
          socket_errors: load.errors,
          max_in_flight: load.maxInFlight,
          warmup: { connections: warm.connections, unanswered: warm.unanswered, socket_errors: warm.errors },
          spip_actions: actions,
          expected_action: action,
          spip_threads_cpu_percent: { main: round1(cpu.threads.main), others: cpu.threads.others.map(round1) },
          loom_threads_cpu_percent: { main: round1(loomCpu.threads.main), others: loomCpu.threads.others.map(round1) },
          spip_shipper_dropped: shipper,
          machine_busy_percent_of_all_cores: cpu.machineBusyPercent,
          cpu_percent_not_in_any_of_the_three: round1(unattributedCpuPercent),
          busiest_other_processes: others.busiest,
          log_problems: [...spip.problems().slice(-5).map((l) => `Spip: ${l}`), ...loom.problems().slice(-5).map((l) => `Loom: ${l}`)],
          load: state.load,
        },
      };
    },

    async teardown() {
      await state?.spip?.stop();
      await state?.loom?.stop();
      await state?.remove();
      state = undefined;
    },
  };
}

/** One HTTP probe from the runner itself: answered?, and how long until Spip closed. */
function probeOnce(port, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let head = '';
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
    socket.on('data', (chunk) => (head += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ answered: head.startsWith('HTTP/1.1 200'), ms: performance.now() - t0 });
    });
    socket.end(httpProbe);
  });
}

/** Bytes the kernel holds for TCP sockets, all of them (pages of /proc/net/sockstat × 4 KiB). */
function kernelTcpBytes() {
  const match = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? Number(match[1]) * 4096 : undefined;
}

/**
 * Opens `count` connections that send nothing, measures Spip's memory before and after,
 * and checks that Spip still answers while they are open.
 */
export function idleScenario({ name, description }) {
  let state;
  return {
    name,
    description,
    kind: 'idle',

    async setup(options) {
      const count = options.idleConnections;
      // Each side holds one descriptor per connection; the margin covers Node's own files and pipes.
      const nofile = await reachableNofile();
      if (nofile < count + 256) {
        throw new Error(`${count} idle connections need a descriptor limit of at least ${count + 256}, but only ${nofile} is reachable (hard limit); lower BENCH_IDLE_CONNECTIONS or raise the hard limit (ulimit -Hn)`);
      }
      const { dir, remove } = tempDir(`spip-bench-${name}`);
      state = { remove };
      const [spipPort, metricsPort] = [await freePort(), await freePort()];
      const configPath = join(dir, 'spip.toml');
      writeSpipConfig(configPath, {
        ...spipBase(SENSOR_ID, spipPort, metricsPort),
        // Far beyond the measurement, so no idle connection is timed out while it is measured.
        first_byte_timeout_seconds: 3600,
        max_connection_seconds: 3600,
      });
      const spip = await startSpip({ configPath, nodeArgs: [...options.spipNodeArgs, ...profileArgs(options, name, 'spip')] });
      state = { ...state, spip, spipPort, count, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
    },

    async run() {
      const { spip, spipPort, count, metricsUrl } = state;
      const heap = async () => sum(await scrape(metricsUrl), 'nodejs_heap_size_used_bytes');
      // Let startup garbage settle, so "before" is the resting sensor.
      await sleep(1000);
      const before = { ...memory(spip.pid), heap: await heap(), fds: openDescriptors(spip.pid), kernelTcp: kernelTcpBytes() };

      const t0 = performance.now();
      const idle = await openIdleConnections({ port: spipPort, count });
      let result;
      try {
        if (idle.opened.opened < count) throw new Error(`only ${idle.opened.opened} of ${count} idle connections opened: ${JSON.stringify(idle.opened.errors)}`);
        // The client sees a connection as open once the kernel completed the handshake; Spip
        // holds it only after accept(), which its descriptor count shows.
        const deadline = Date.now() + 30_000;
        while (openDescriptors(spip.pid) < before.fds + count && Date.now() < deadline) await sleep(100);
        const acceptedSeconds = (performance.now() - t0) / 1000;
        const active = sum(await scrape(metricsUrl), 'spip_active_connections');
        // Give the sessions' first allocations a moment to settle before sampling the resident set.
        await sleep(2000);
        const meter = startCpuMeter(spip.pid);
        const othersMeter = startOtherProcessesMeter();
        await sleep(2000);
        const idleCpu = meter.finish();
        const others = othersMeter.finish();
        const after = { ...memory(spip.pid), heap: await heap(), fds: openDescriptors(spip.pid), kernelTcp: kernelTcpBytes() };

        const probes = [];
        for (let i = 0; i < 10; i++) probes.push(await probeOnce(spipPort));
        const latencies = probes.map((p) => p.ms).sort((a, b) => a - b);
        result = {
          idleConnections: active,
          rssBeforeBytes: before.rss,
          rssAfterBytes: after.rss,
          bytesPerConnection: (after.rss - before.rss) / count,
          heapBytesPerConnection: (after.heap - before.heap) / count,
          probe: { answered: probes.filter((p) => p.answered).length, of: probes.length, p50Ms: latencies[Math.floor(latencies.length / 2)], maxMs: latencies.at(-1) },
          cpuPercent: idleCpu.cpuPercent,
          peakRssBytes: after.peakRss,
          otherCpuPercent: others.percent,
          details: {
            requested: count,
            opened_by_client: idle.opened.opened,
            seconds_to_accept_all: round1(acceptedSeconds),
            spip_descriptors: { before: before.fds, after: after.fds },
            heap_used_bytes: { before: before.heap, after: after.heap },
            kernel_tcp_bytes_all_sockets: { before: before.kernelTcp, after: after.kernelTcp },
            spip_cpu_percent_while_idle: round1(idleCpu.cpuPercent),
            busiest_other_processes: others.busiest,
            log_problems: spip.problems().slice(-5).map((l) => `Spip: ${l}`),
          },
        };
      } finally {
        const closed = await idle.close();
        if (result !== undefined) result.details.closed_by_spip_while_measured = closed.closedByServer;
      }
      if (spip.exited !== undefined) throw new Error(`Spip exited during the run:\n${spip.logTail().join('\n')}`);
      return result;
    },

    async teardown() {
      await state?.spip?.stop();
      await state?.remove();
      state = undefined;
    },
  };
}
