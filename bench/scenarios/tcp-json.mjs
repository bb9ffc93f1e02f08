// The TCP JSON logging protocol end to end: `loom tcp-json` with the shipped example message
// schema (enum, lengths, date-time, hostname and uuid formats), every message validated, written
// to a JSON logfile with fdatasync and answered only then. The load comes from this process:
// pipelined TCP clients, each keeping a window of messages in flight and counting the answers.
// The figures go to the ingest table: events/s and requests/s are both messages/s there, the
// latency is that of a 128-message write until its last answer, and "wrk CPU %" is this
// process's CPU as the load generator.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { tempDir, trackProcess } from '../lib/cleanup.mjs';
import { prng } from '../lib/events.mjs';
import { root } from '../lib/loom.mjs';
import { freePort } from '../lib/net.mjs';
import { memory, startCpuMeter } from '../lib/proc.mjs';
import { watchServer } from '../lib/server-process.mjs';

const CONNECTIONS = 8;
const WINDOW = 1024;
const BATCH = 128;
const DISTINCT_BATCHES = 64;

const levels = ['debug', 'info', 'info', 'info', 'warn', 'error'];
const services = ['api', 'auth', 'billing', 'search', 'worker', 'gateway'];
const texts = ['request served', 'cache miss for key', 'slow query detected', 'user signed in', 'retrying upstream call', 'payment authorised', 'rate limit reached for tenant'];

/** Valid messages for packages/loom/tcp-json/message_schema.json, ~300 bytes each, from a fixed seed. */
function makeBatches() {
  const rand = prng(0x7c9e);
  const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const pick = (list) => list[Math.floor(rand() * list.length)];
  let bytes = 0;
  const batches = [];
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    let text = '';
    for (let i = 0; i < BATCH; i++) {
      const message = {
        level: pick(levels),
        service: pick(services),
        message: `${pick(texts)} ${hex(12)} after ${Math.floor(rand() * 5000)} ms`,
        client_time: new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 86_400_000)).toISOString(),
        host: `${pick(services)}-${Math.floor(rand() * 40)}.prod.example.com`,
        request_id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
        attributes: { tenant: `t${Math.floor(rand() * 500)}`, status: 200 + Math.floor(rand() * 4) * 100, cached: rand() < 0.5 },
      };
      text += `${JSON.stringify(message)}\n`;
    }
    bytes += text.length;
    batches.push(Buffer.from(text));
  }
  return { batches, avgMessageBytes: bytes / (DISTINCT_BATCHES * BATCH) };
}

/** Nearest-rank percentile of a sorted Float64Array. */
const percentile = (sorted, p) => (sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);

/**
 * Keeps WINDOW messages in flight on each of CONNECTIONS connections. An answer is one line;
 * failures are found by their `"success":false` prefix. Resolves with the counters once
 * stop() was called and every message sent has been answered.
 */
function startLoad(port, batches) {
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let errors = 0;
  let stopping = false;
  let latencies = new Float64Array(1 << 16);
  let samples = 0;
  let recording = false;
  const sockets = [];
  const done = [];
  const record = (ms) => {
    if (samples === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[samples++] = ms;
  };
  for (let c = 0; c < CONNECTIONS; c++) {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    sockets.push(socket);
    const state = { sent: 0, answered: 0, next: c, pending: [] };
    const fill = () => {
      while (!stopping && state.sent - state.answered < WINDOW) {
        socket.write(batches[state.next++ % batches.length]);
        state.sent += BATCH;
        sent += BATCH;
        state.pending.push({ end: state.sent, at: performance.now() });
      }
    };
    done.push(new Promise((resolve) => {
      const check = () => {
        if (stopping && state.answered >= state.sent) resolve();
      };
      socket.on('connect', fill);
      socket.on('data', (chunk) => {
        let lines = 0;
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
        for (let at = chunk.indexOf('"success":false'); at >= 0; at = chunk.indexOf('"success":false', at + 1)) failed++;
        state.answered += lines;
        answered += lines;
        const now = performance.now();
        while (state.pending.length > 0 && state.pending[0].end <= state.answered) {
          const batch = state.pending.shift();
          if (recording) record(now - batch.at);
        }
        fill();
        check();
      });
      socket.on('error', () => {
        errors++;
        resolve();
      });
      socket.on('close', resolve);
      socket.stopCheck = check;
    }));
  }
  return {
    get answered() {
      return answered;
    },
    get failed() {
      return failed;
    },
    startRecording() {
      recording = true;
      samples = 0;
    },
    latencyMs() {
      const sorted = latencies.slice(0, samples).sort();
      return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    },
    async stop() {
      stopping = true;
      for (const socket of sockets) socket.stopCheck();
      await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      for (const socket of sockets) socket.destroy();
      return { sent, answered, failed, errors };
    },
  };
}

let state;

export default {
  name: 'tcp-json',
  description: `loom tcp-json: ${CONNECTIONS} pipelined TCP clients (${WINDOW} messages in flight each), schema-validated, fsync'd JSON logfile`,
  kind: 'ingest',
  unit: 'message',
  target: { eventsPerSecond: 50_000 },

  async setup(options) {
    const { dir, remove } = tempDir('loom-bench-tcp-json');
    state = { remove, dir };
    const built = join(root, 'packages/loom/dist/src/cli.js');
    if (!existsSync(built)) throw new Error(`Loom is not built (${built} is missing); run "npm run build" first`);
    const port = await freePort();
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({
      server_settings: { IP: '127.0.0.1', Port: port },
      // Rotation keeps a 20 s run from filling the disk; one client address sends everything, so no rate limit.
      logfile_settings: { path: join(dir, 'messages.log'), format: 'json', fsync: true, max_size_bytes: 256 * 2 ** 20, max_files: 1 },
      protocol_settings: { incoming_json_schema: join(root, 'packages/loom/tcp-json/message_schema.json'), messages_per_ip_per_minute: 0, bad_message_blacklist_threshold: 0 },
    }));
    const devNull = openSync('/dev/null', 'w');
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const nodeArgs = [...(options.loomNodeArgs ?? []), ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, 'tcp-json')}`])];
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'packages/loom/bin/loom.js'), 'tcp-json', '-config', configPath], { cwd: dir, env, stdio: ['ignore', devNull, 'pipe'] });
    closeSync(devNull);
    const stop = trackProcess(child);
    state.server = await watchServer(child, { name: 'loom tcp-json', startedMarker: '"msg":"tcp-json listening"', stop, timeoutMs: 20_000 });
    state.port = port;
    state.load = makeBatches();
  },

  async run(options) {
    const { server, port, load: { batches, avgMessageBytes } } = state;
    const load = startLoad(port, batches);
    await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
    const warm = { answered: load.answered, failed: load.failed };
    load.startRecording();
    const meter = startCpuMeter(server.pid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
    const answered = load.answered - warm.answered;
    const failed = load.failed - warm.failed;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter.finish();
    const generator = process.cpuUsage(cpu0);
    const latencyMs = load.latencyMs();
    const totals = await load.stop();
    if (server.exited !== undefined) throw new Error(`loom tcp-json exited during the run:\n${server.logTail().join('\n')}`);
    const mem = memory(server.pid);
    const perSecond = (answered - failed) / seconds;
    const generatorCpuPercent = ((generator.user + generator.system) / 1e6 / seconds) * 100;
    return {
      eventsPerSecond: perSecond,
      requestsPerSecond: answered / seconds,
      latencyMs,
      cpuPercent: cpu.cpuPercent,
      cpuMicrosecondsPerEvent: (cpu.cpuPercent * 1e4) / Math.max(1, perSecond),
      loadGeneratorCpuPercent: generatorCpuPercent,
      otherCpuPercent: cpu.machineBusyPercent * availableParallelism() - cpu.cpuPercent - generatorCpuPercent,
      peakRssBytes: mem.peakRss,
      non2xx: failed,
      socketErrors: totals.errors,
      details: {
        messages_answered: answered,
        statuses: failed > 0 ? { 'success:false': failed } : {},
        socket_errors: { errors: totals.errors },
        warmup: { non2xx: warm.failed, socket_errors: 0 },
        load: { connections: CONNECTIONS, window_per_connection: WINDOW, messages_per_write: BATCH, avg_message_bytes: Math.round(avgMessageBytes), fsync: true },
        loom_written_mib_per_second: cpu.writtenBytesPerSecond / 2 ** 20,
        loom_threads_cpu_percent: { main: cpu.threads.main, others: cpu.threads.others },
        rss_bytes_at_end: mem.rss,
        log_problems: server.problems().slice(-5),
      },
    };
  },

  async teardown() {
    await state?.server?.stop();
    await state?.remove();
    state = undefined;
  },
};
