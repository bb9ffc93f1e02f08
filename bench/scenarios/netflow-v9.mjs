// NetFlow v9 into Loom over UDP: decoded, turned into ECS events, enriched with the bundled
// GeoIP and ASN data and written by the stdout output (to /dev/null). UDP has no
// acknowledgement, so the sender is closed-loop on Loom's own count of delivered flows
// (loom_input_events_total, read from /metrics ten times a second): it keeps at most WINDOW
// flows sent but not yet delivered, well inside the collector's queue, which keeps Loom busy
// without overrunning it. Figures go to the 'ingest' table: events/s are flows/s, requests/s
// are datagrams/s, and datagrams Loom dropped are reported as socket errors.
import { createSocket } from 'node:dgram';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../lib/cleanup.mjs';
import { startLoom, writeConfig } from '../lib/loom.mjs';
import { freePort } from '../lib/net.mjs';
import { memory, startCpuMeter } from '../lib/proc.mjs';

const SENSOR_ENV = 'LOOM_SENSOR_bench_sensor';
const FLOWS_PER_PACKET = 30;
const DISTINCT_PACKETS = 2000;
const WINDOW = 60_000;
const TEMPLATE_ID = 256;
// The usual IPv4 template: addresses, ports, protocol, TCP flags, octets, packets, first and
// last switched, input and output interface, ToS: 35 octets a record.
const FIELDS = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [1, 4], [2, 4], [22, 4], [21, 4], [10, 2], [14, 2], [5, 1]];
const RECORD_BYTES = FIELDS.reduce((sum, [, length]) => sum + length, 0);

function header(sequence, uptime, secs) {
  const out = Buffer.alloc(20);
  out.writeUInt16BE(9, 0);
  out.writeUInt16BE(1, 2);
  out.writeUInt32BE(uptime, 4);
  out.writeUInt32BE(secs, 8);
  out.writeUInt32BE(sequence, 12);
  out.writeUInt32BE(1, 16);
  return out;
}

function templatePacket() {
  const set = Buffer.alloc(4 + 4 + FIELDS.length * 4);
  set.writeUInt16BE(0, 0);
  set.writeUInt16BE(set.length, 2);
  set.writeUInt16BE(TEMPLATE_ID, 4);
  set.writeUInt16BE(FIELDS.length, 6);
  FIELDS.forEach(([element, length], i) => {
    set.writeUInt16BE(element, 8 + i * 4);
    set.writeUInt16BE(length, 10 + i * 4);
  });
  return Buffer.concat([header(0, 100_000, Math.floor(Date.now() / 1000)), set]);
}

/** Deterministic data packets: honeypot-like traffic from many sources to a few sensors. */
function dataPackets() {
  let state = 0x5eed;
  const random = (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const secs = Math.floor(Date.now() / 1000);
  const packets = [];
  for (let p = 0; p < DISTINCT_PACKETS; p++) {
    const set = Buffer.alloc(4 + FLOWS_PER_PACKET * RECORD_BYTES);
    set.writeUInt16BE(TEMPLATE_ID, 0);
    set.writeUInt16BE(set.length, 2);
    for (let f = 0; f < FLOWS_PER_PACKET; f++) {
      const r = 4 + f * RECORD_BYTES;
      // Sources across public address space (GeoIP and ASN lookups), 20,000 of them in all.
      const source = random(20_000);
      set.writeUInt32BE(((1 + (source % 223)) << 24 | (source * 2654435761) & 0xffffff) >>> 0, r);
      set.writeUInt32BE((0xc6336400 | random(16)) >>> 0, r + 4); // 198.51.100.0/28: the sensors
      set.writeUInt16BE(1024 + random(60_000), r + 8);
      set.writeUInt16BE([22, 23, 80, 443, 445, 3389, 6379][random(7)], r + 10);
      const udp = random(10) === 0;
      set[r + 12] = udp ? 17 : 6;
      set[r + 13] = udp ? 0 : [0x02, 0x12, 0x1b, 0x04][random(4)];
      set.writeUInt32BE(40 + random(20_000), r + 14);
      set.writeUInt32BE(1 + random(30), r + 18);
      set.writeUInt32BE(90_000 + random(5000), r + 22);
      set.writeUInt32BE(95_000 + random(5000), r + 26);
      set.writeUInt16BE(1, r + 30);
      set.writeUInt16BE(2, r + 32);
      set[r + 34] = 0;
    }
    packets.push(Buffer.concat([header(p, 100_000, secs), set]));
  }
  return packets;
}

/** Loom's counters for the netflow input, from its Prometheus text. */
async function counters(managementUrl) {
  const text = await (await fetch(`${managementUrl}/metrics`)).text();
  const value = (pattern) => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  const rejected = {};
  for (const m of text.matchAll(/^loom_input_rejected_total\{input="netflow",reason="([^"]+)"\} (\d+)/gm)) rejected[m[1]] = Number(m[2]);
  return {
    delivered: value(/^loom_input_events_total\{input="netflow"\} (\d+)/gm),
    received: value(/^loom_netflow_packets_total (\d+)/gm),
    lost: value(/^loom_netflow_lost_flows_total\{[^}]*\} (\d+)/gm),
    rejected,
  };
}

let state;

export default {
  name: 'netflow-v9',
  description: 'NetFlow v9 over UDP (30 flows a datagram), decoded, enriched with bundled GeoIP and ASN, stdout output to /dev/null',
  kind: 'ingest',
  unit: 'flow',
  target: { eventsPerSecond: 100_000 },

  async setup(options) {
    const { dir, remove } = tempDir('loom-bench-netflow-v9');
    state = { remove };
    const [port, managementPort, netflowPort] = [await freePort(), await freePort(), await freePort()];
    const configPath = join(dir, 'loom.toml');
    writeConfig(configPath, {
      server: { listen_address: `127.0.0.1:${port}`, management_listen_address: `127.0.0.1:${managementPort}` },
      limits: { per_sensor_rps: -1, max_events_per_batch: 500 },
      output: { type: 'stdout' },
      logging: { level: 'warn', format: 'json' },
      observability: { metrics_enabled: true },
      // The bundled data is older than the default freshness warning, which would count as a failed run.
      enrichment: { max_db_age_days: 0 },
      'enrichment.risk': { enabled: false },
      'inputs.netflow': { enabled: true, listen_address: `127.0.0.1:${netflowPort}`, receive_buffer_bytes: 4194304 },
    });
    const managementUrl = `http://127.0.0.1:${managementPort}`;
    const nodeArgs = [...(options.loomNodeArgs ?? []), ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, 'netflow-v9')}`])];
    const loom = await startLoom({ configPath, env: { [SENSOR_ENV]: 'bench-netflow-token-7c1d3e9a5b' }, managementUrl, nodeArgs });
    const socket = createSocket('udp4');
    await new Promise((resolve) => socket.connect(netflowPort, '127.0.0.1', resolve));
    state = { ...state, loom, managementUrl, socket, template: templatePacket(), packets: dataPackets() };
  },

  async run(options) {
    const { loom, managementUrl, socket, template, packets } = state;
    let sent = 0;
    let datagrams = 0;
    let sendErrors = 0;
    let latest = await counters(managementUrl);
    let running = true;
    const send = (packet) => socket.send(packet, (error) => {
      if (error) sendErrors++;
    });
    send(template);
    // Polls Loom's delivered count; the sender keeps at most WINDOW flows ahead of it.
    const poller = (async () => {
      while (running) {
        latest = await counters(managementUrl);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const sender = (async () => {
      while (running) {
        let burst = 0;
        while (sent - latest.delivered < WINDOW && burst < 64) {
          // Templates are refreshed as an exporter does, every few hundred packets.
          if (datagrams % 500 === 0) send(template);
          send(packets[datagrams % packets.length]);
          datagrams++;
          sent += FLOWS_PER_PACKET;
          burst++;
        }
        await new Promise((resolve) => (burst === 64 ? setImmediate(resolve) : setTimeout(resolve, 1)));
      }
    })();

    const cpu0 = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
    const warm = await counters(managementUrl);
    const warmDatagrams = datagrams;
    const meter = startCpuMeter(loom.pid);
    const selfCpu0 = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
    const end = await counters(managementUrl);
    const seconds = (performance.now() - started) / 1000;
    const selfCpu = process.cpuUsage(selfCpu0);
    const cpu = meter.finish();
    running = false;
    await Promise.all([poller, sender]);
    if (loom.exited !== undefined) throw new Error(`Loom exited during the run:\n${loom.logTail().join('\n')}`);
    const mem = memory(loom.pid);

    const flowsPerSecond = (end.delivered - warm.delivered) / seconds;
    const generatorCpuPercent = ((selfCpu.user + selfCpu.system) / 1e6 / seconds) * 100;
    const dropped = {};
    for (const [reason, n] of Object.entries(end.rejected)) {
      const before = warm.rejected[reason] ?? 0;
      if (n - before > 0) dropped[reason] = n - before;
    }
    if (end.lost > warm.lost) dropped.lost_flows = end.lost - warm.lost;
    if (sendErrors > 0) dropped.send_errors = sendErrors;
    return {
      eventsPerSecond: flowsPerSecond,
      requestsPerSecond: (datagrams - warmDatagrams) / seconds,
      latencyMs: { p50: undefined, p99: undefined },
      cpuPercent: cpu.cpuPercent,
      cpuMicrosecondsPerEvent: (cpu.cpuPercent * 1e4) / Math.max(1, flowsPerSecond),
      loadGeneratorCpuPercent: generatorCpuPercent,
      otherCpuPercent: cpu.machineBusyPercent * availableParallelism() - cpu.cpuPercent - generatorCpuPercent,
      peakRssBytes: mem.peakRss,
      non2xx: 0,
      socketErrors: Object.values(dropped).reduce((a, b) => a + b, 0),
      details: {
        flows_per_datagram: FLOWS_PER_PACKET,
        datagram_bytes: packets[0].length,
        window_flows: WINDOW,
        delivered_flows: end.delivered - warm.delivered,
        received_datagrams: end.received - warm.received,
        socket_errors: dropped,
        duration_seconds: seconds,
        runner_cpu_percent_including_warmup: ((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6 / (seconds + options.warmupSeconds)) * 100,
        loom_threads_cpu_percent: { main: Math.round(cpu.threads.main * 10) / 10, others: cpu.threads.others.map((p) => Math.round(p * 10) / 10) },
        loom_written_mib_per_second: cpu.writtenBytesPerSecond / 2 ** 20,
        machine_busy_percent_of_all_cores: cpu.machineBusyPercent,
        rss_bytes_at_end: mem.rss,
        warmup: { requests: warmDatagrams, non2xx: 0, socket_errors: 0 },
        log_problems: loom.problems().slice(-5),
      },
    };
  },

  async teardown() {
    state?.socket?.close();
    await state?.loom?.stop();
    await state?.remove();
    state = undefined;
  },
};
