#!/usr/bin/env node
// Soak: runs Loom with enrichment (bundled GeoIP/ASN, a 100,000-CIDR intel list, risk) and a
// real ClickHouse output through the outbox, posts Spip events at a fixed rate for a given
// time, and reports whether memory, event-loop delay, acknowledgement latency and outbox
// depth stay flat; then waits for the outbox to drain and counts what reached ClickHouse.
// Usage:
//   npm run build && node bench/soak.mjs            (SOAK_MINUTES=30, SOAK_RATE=30000 events/s)
// SOAK_RATE should be about half of what ingest-clickhouse measures on the machine. Also:
// SOAK_SAMPLE_SECONDS (10), SOAK_DRAIN_SECONDS (longest wait for the outbox to drain after the
// load, 600), SOAK_EXACT_COUNT=1 (also run SELECT count() on the table, allowed
// SOAK_COUNT_SECONDS, 900, to run; it reads every stored event, minutes after a long run).
import http from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, installSignalHandlers, tempDir } from './lib/cleanup.mjs';
import { countRows, rowsInParts, withRetries } from './lib/clickhouse.mjs';
import { makeBodies } from './lib/events.mjs';
import { intelListText, INTEL_LIST } from './lib/intel-list.mjs';
import { root, startLoom, writeConfig } from './lib/loom.mjs';
import { scrape, sum } from './lib/metrics.mjs';
import { freePort } from './lib/net.mjs';
import { memory } from './lib/proc.mjs';

const minutes = Number(process.env.SOAK_MINUTES ?? 30);
const rate = Number(process.env.SOAK_RATE ?? 30_000);
const sampleSeconds = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const drainSeconds = Number(process.env.SOAK_DRAIN_SECONDS ?? 600);
const exactCount = process.env.SOAK_EXACT_COUNT === '1';
const countSeconds = Number(process.env.SOAK_COUNT_SECONDS ?? 900);
const TOKEN = 'soak-token-0123456789abcdef0123456789';

installSignalHandlers();
const { dir } = tempDir('loom-soak');
const { startClickHouse } = await import(join(root, 'packages/loom/dist/test/helpers/clickhouse-server.js'));
const clickhouse = await startClickHouse();
await clickhouse.query('CREATE TABLE loom_events (event String) ENGINE = MergeTree ORDER BY tuple()');

const [port, managementPort] = [await freePort(), await freePort()];
const configPath = join(dir, 'loom.toml');
writeConfig(configPath, {
  server: { listen_address: `127.0.0.1:${port}`, management_listen_address: `127.0.0.1:${managementPort}`, tls: false },
  limits: { per_sensor_rps: -1, max_events_per_batch: 500 },
  enrichment: { max_db_age_days: 0 },
  output: { type: 'clickhouse', clickhouse_url: clickhouse.url, clickhouse_table: 'loom_events' },
  'output.outbox': { dir: join(dir, 'outbox') },
  logging: { level: 'warn', format: 'json' },
  observability: { metrics_enabled: true },
});
writeFileSync(join(dir, 'intel.netset'), intelListText());
appendFileSync(configPath, `\n[[enrichment.intel]]\nname = "${INTEL_LIST.name}"\npath = ${JSON.stringify(join(dir, 'intel.netset'))}\ncategory = "${INTEL_LIST.category}"\nconfidence = ${INTEL_LIST.confidence}\n`);
const managementUrl = `http://127.0.0.1:${managementPort}`;
const loom = await startLoom({ configPath, env: { LOOM_SENSOR_soak: TOKEN }, managementUrl });

const { bodies, eventsPerBody } = makeBodies({ count: 200, perBody: 100 });
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies = [];
let sent = 0;
let acknowledged = 0;
let refused = 0;
let failed = 0;
const inFlight = new Set();

function post(body) {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/ingest', method: 'POST', agent, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 204) {
          acknowledged += eventsPerBody;
          latencies.push(performance.now() - started);
        } else {
          refused += eventsPerBody;
        }
        resolve();
      });
    });
    req.on('error', () => {
      failed += eventsPerBody;
      resolve();
    });
    req.end(body);
  });
}

const percentile = (values, p) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const samples = [];
async function sample(elapsedSeconds) {
  const metrics = await scrape(`${managementUrl}/metrics`);
  const window = latencies.splice(0);
  const row = {
    minute: Math.round((elapsedSeconds / 60) * 10) / 10,
    rss_mib: Math.round(memory(loom.pid).rss / 2 ** 20),
    event_loop_p99_ms: Math.round(sum(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000 * 10) / 10,
    ack_p99_ms: Math.round(percentile(window, 99)),
    outbox_events: sum(metrics, 'loom_outbox_events'),
    acknowledged,
    refused,
    failed,
  };
  samples.push(row);
  console.log(JSON.stringify(row));
}

console.log(`soak: ${minutes} min at ${rate} events/s (${rate / eventsPerBody} batches/s) into ClickHouse with enrichment; sampling every ${sampleSeconds} s`);
const start = performance.now();
const end = start + minutes * 60_000;
// Batches are due by the clock, not by timer ticks, which a busy machine stretches.
const batchesPerMs = rate / eventsPerBody / 1000;
let credit = 0;
let lastTick = start;
let nextSample = start + sampleSeconds * 1000;
while (performance.now() < end) {
  const now = performance.now();
  credit += (now - lastTick) * batchesPerMs;
  lastTick = now;
  while (credit >= 1) {
    credit -= 1;
    sent += eventsPerBody;
    const posted = post(bodies[(sent / eventsPerBody) % bodies.length]);
    inFlight.add(posted);
    void posted.then(() => inFlight.delete(posted));
  }
  if (performance.now() >= nextSample) {
    nextSample += sampleSeconds * 1000;
    await sample((performance.now() - start) / 1000);
  }
  await new Promise((r) => setTimeout(r, 10));
}
// Every acknowledged event must reach ClickHouse. The batches still in flight get their answers
// first, so that "acknowledged" is final; then Loom's outbox drains, then ClickHouse is counted.
await Promise.all(inFlight);
const loadEnded = performance.now();
const outboxState = async () => {
  const metrics = await scrape(`${managementUrl}/metrics`);
  return { waiting: sum(metrics, 'loom_outbox_events'), delivered: sum(metrics, 'loom_output_delivered_events_total') };
};
let outbox = await withRetries(outboxState);
for (let lastReport = performance.now(); outbox.waiting > 0 && performance.now() - loadEnded < drainSeconds * 1000;) {
  await new Promise((r) => setTimeout(r, 500));
  outbox = await withRetries(outboxState);
  if (performance.now() - lastReport >= 10_000) {
    lastReport = performance.now();
    console.log(`draining: ${outbox.waiting} events still in the outbox after ${Math.round((performance.now() - loadEnded) / 1000)} s`);
  }
}
const drainedSeconds = Math.round((performance.now() - loadEnded) / 100) / 10;
const drained = outbox.waiting === 0;
const logError = (what) => (error, attempt) => console.log(`${what}, attempt ${attempt}: ${error instanceof Error ? error.message : error}`);
const rows = await withRetries(() => rowsInParts(clickhouse, 'loom_events'), { times: 5, onError: logError('counting the rows of the active parts failed') });
const counted = exactCount ? await withRetries(() => countRows(clickhouse, 'loom_events', countSeconds), { onError: logError('SELECT count() failed') }) : undefined;
const delivery = {
  acknowledged,
  delivered_by_loom: outbox.delivered,
  outbox_drained: drained,
  seconds_to_drain: drainedSeconds,
  rows_in_clickhouse: rows,
  ...(counted === undefined ? {} : { select_count: counted }),
  missing: Math.max(0, acknowledged - rows),
  extra: Math.max(0, rows - acknowledged),
  all_delivered: drained && rows >= acknowledged && (counted === undefined || counted >= acknowledged),
};

// Flat: the last third of the run after warm-up is compared with its first third. Warm-up is a
// minute, or a quarter of a short run, so that the two thirds never overlap.
const warm = Math.min(Math.ceil(60 / sampleSeconds), Math.floor(samples.length / 4));
const measured = samples.slice(warm);
const third = Math.max(1, Math.floor(measured.length / 3));
const mean = (list, key) => list.reduce((total, row) => total + row[key], 0) / Math.max(1, list.length);
const early = measured.slice(0, third);
const late = measured.slice(-third);
const verdict = {
  rss_mib: { early: Math.round(mean(early, 'rss_mib')), late: Math.round(mean(late, 'rss_mib')) },
  event_loop_p99_ms: { early: Math.round(mean(early, 'event_loop_p99_ms')), late: Math.round(mean(late, 'event_loop_p99_ms')) },
  ack_p99_ms: { early: Math.round(mean(early, 'ack_p99_ms')), late: Math.round(mean(late, 'ack_p99_ms')) },
  outbox_events: { early: Math.round(mean(early, 'outbox_events')), late: Math.round(mean(late, 'outbox_events')) },
};
// Flat means: memory within 10 % (+16 MiB), event-loop delay and acknowledgement latency within
// 50 % (+5 / +50 ms), and the outbox no deeper than twice its early depth or two seconds of load.
const flat = verdict.rss_mib.late <= verdict.rss_mib.early * 1.1 + 16
  && verdict.event_loop_p99_ms.late <= verdict.event_loop_p99_ms.early * 1.5 + 5
  && verdict.ack_p99_ms.late <= verdict.ack_p99_ms.early * 1.5 + 50
  && verdict.outbox_events.late <= Math.max(verdict.outbox_events.early * 2, rate * 2);
console.log(JSON.stringify({ minutes, rate, sent, acknowledged, refused, failed, delivery, verdict, flat }, null, 2));
const fmt = (n) => n.toLocaleString('en-US');
console.log(`delivery: ${fmt(acknowledged)} events acknowledged; Loom delivered ${fmt(outbox.delivered)}, outbox ${drained ? `drained ${drainedSeconds} s after the load` : `NOT drained after ${drainedSeconds} s (${fmt(outbox.waiting)} events waiting)`}; ` +
  `ClickHouse holds ${fmt(rows)} rows${counted === undefined ? '' : ` (SELECT count(): ${fmt(counted)})`}: ${delivery.all_delivered ? 'all delivered' : `${fmt(delivery.missing)} MISSING`}${delivery.extra > 0 ? `, ${fmt(delivery.extra)} more rows than acknowledged events` : ''}`);
writeFileSync(join(root, 'bench/results/soak.json'), JSON.stringify({ date: new Date().toISOString(), minutes, rate, samples, verdict, flat, delivery }, null, 2));
await loom.stop();
await clickhouse.stop();
await cleanupAll();
process.exit(flat && refused === 0 && failed === 0 && delivery.all_delivered ? 0 : 1);
