#!/usr/bin/env node
// Runs the benchmark scenarios one after another against a freshly started Loom each,
// prints one summary table and writes bench/results/latest.json.
//
// Environment: BENCH_DURATION (seconds, default 20), BENCH_CONNECTIONS (default 32),
// BENCH_SCENARIOS (comma list, default all), BENCH_WARMUP (seconds, default 3),
// BENCH_PROFILE=<dir> (write V8 CPU profiles of Loom's threads there), BENCH_NODE_ARGS
// (extra node flags for Loom, e.g. "--max-semi-space-size=32").
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanupAll, installSignalHandlers, isInterrupted, untilExit } from './lib/cleanup.mjs';
import { root } from './lib/loom.mjs';
import { wrkVersion } from './lib/wrk.mjs';
import { scenarios } from './scenarios/index.mjs';

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const options = {
  durationSeconds: positiveInt('BENCH_DURATION', 20),
  connections: positiveInt('BENCH_CONNECTIONS', 32),
  warmupSeconds: positiveInt('BENCH_WARMUP', 3),
  // One wrk thread: the load generator shares the two cores with Loom and should take as little as it can.
  wrkThreads: 1,
  profileDir: process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined,
  // Extra flags for Loom's node process, for trying runtime settings without editing code.
  loomNodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
};

const { profileDir } = options;

const wanted = (process.env.BENCH_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !scenarios.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? scenarios.filter((s) => wanted.includes(s.name)) : scenarios;

const wrk = wrkVersion();
if (wrk === undefined) {
  console.error('wrk is not installed; it is the load generator of every benchmark.\nInstall it with:  sudo apt-get install wrk   (Debian/Ubuntu; other systems: https://github.com/wg/wrk)');
  process.exit(1);
}

function git(...args) {
  const out = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  kernel: release(),
  wrk,
};

installSignalHandlers();

console.log(`Loom benchmarks: ${selected.map((s) => s.name).join(', ')}`);
console.log(`${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, Node ${machine.node}, Linux ${machine.kernel}; ${wrk}`);
console.log(`${options.durationSeconds} s per scenario after a ${options.warmupSeconds} s warm-up, ${options.connections} connections, wrk -t${options.wrkThreads}${options.loomNodeArgs.length > 0 ? `; Loom runs with node ${options.loomNodeArgs.join(' ')}` : ''}\n`);

const results = [];
for (const scenario of selected) {
  if (isInterrupted()) break;
  process.stdout.write(`${scenario.name}: ${scenario.description} ... `);
  const entry = { name: scenario.name, description: scenario.description, target: scenario.target };
  try {
    await scenario.setup(options);
    Object.assign(entry, await scenario.run(options));
    const errors = entry.non2xx + entry.socketErrors;
    console.log(`${fmtInt(entry.eventsPerSecond)} events/s${errors > 0 ? `, ${errors} FAILED REQUESTS` : ''}`);
  } catch (error) {
    entry.error = error instanceof Error ? error.message : String(error);
    console.log('FAILED');
    if (!isInterrupted()) console.error(entry.error);
  } finally {
    try {
      await scenario.teardown();
    } catch (error) {
      entry.teardownError = error instanceof Error ? error.message : String(error);
      console.error(`${scenario.name}: teardown failed: ${entry.teardownError}`);
    }
  }
  results.push(entry);
}
// An interrupted run must not overwrite the last complete results.
if (isInterrupted()) await untilExit();
await cleanupAll();

function fmtInt(n) {
  return n === undefined ? '-' : Math.round(n).toLocaleString('en-US');
}
function fmtMs(n) {
  return n === undefined ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1);
}
function fmtMiB(bytes) {
  return bytes === undefined ? '-' : `${Math.round(bytes / 2 ** 20)} MiB`;
}

const header = ['scenario', 'events/s', 'requests/s', 'p50 ms', 'p99 ms', 'Loom CPU %', 'CPU µs/event', 'Loom peak RSS', 'wrk CPU %', 'non-2xx', 'target events/s'];
const rows = results.map((r) => r.error !== undefined
  ? [r.name, 'FAILED', '-', '-', '-', '-', '-', '-', '-', '-', fmtInt(r.target?.eventsPerSecond)]
  : [
      r.name,
      fmtInt(r.eventsPerSecond),
      fmtInt(r.requestsPerSecond),
      fmtMs(r.latencyMs.p50),
      fmtMs(r.latencyMs.p99),
      r.cpuPercent.toFixed(0),
      r.cpuMicrosecondsPerEvent === undefined ? '-' : r.cpuMicrosecondsPerEvent.toFixed(1),
      fmtMiB(r.peakRssBytes),
      r.loadGeneratorCpuPercent === undefined ? '-' : r.loadGeneratorCpuPercent.toFixed(0),
      `${r.non2xx}${r.socketErrors > 0 ? ` (+${r.socketErrors} socket)` : ''}`,
      r.target?.eventsPerSecond === undefined ? '-' : `${fmtInt(r.target.eventsPerSecond)} ${r.eventsPerSecond >= r.target.eventsPerSecond ? 'met' : 'MISSED'}`,
    ]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const row of rows) console.log(line(row));
console.log('\nCPU % is of one core (all threads summed): the machine has 200 %, shared by Loom and wrk.\nCPU µs/event: Loom CPU time per acknowledged event, the figure least disturbed by other load.');

const problems = [];
for (const r of results) {
  if (r.error !== undefined) problems.push(`${r.name}: failed: ${r.error.split('\n')[0]}`);
  if (r.teardownError !== undefined) problems.push(`${r.name}: teardown failed: ${r.teardownError.split('\n')[0]}`);
  if (r.non2xx > 0) {
    const byStatus = Object.entries(r.details.statuses ?? {}).filter(([status]) => !status.startsWith('2')).map(([status, n]) => `${status}: ${n}`).join(', ');
    problems.push(`${r.name}: ${r.non2xx} responses were not 2xx${byStatus ? ` (${byStatus})` : ''}; its throughput figure counts only the 2xx ones`);
  }
  if (r.socketErrors > 0) problems.push(`${r.name}: ${r.socketErrors} socket errors (${JSON.stringify(r.details.socket_errors)})`);
  if (r.details?.warmup.non2xx > 0 || r.details?.warmup.socket_errors > 0) {
    problems.push(`${r.name}: ${r.details.warmup.non2xx} non-2xx responses and ${r.details.warmup.socket_errors} socket errors during the warm-up`);
  }
  for (const l of r.details?.log_problems ?? []) problems.push(`${r.name}: Loom logged: ${l}`);
}
const noisy = results.filter((r) => r.otherCpuPercent > 15);
if (noisy.length > 0) {
  console.log(`\nNote: other processes used CPU during ${noisy.map((r) => `${r.name} (${r.otherCpuPercent.toFixed(0)} %)`).join(', ')}; those figures are low. Rerun on a quiet machine.`);
}
if (problems.length > 0) {
  console.log(`\n!!! ${problems.length} PROBLEM(S): these figures are not valid !!!`);
  for (const p of problems) console.log(`  - ${p}`);
}

const resultsDir = join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const report = {
  date: new Date().toISOString(),
  commit: git('rev-parse', 'HEAD'),
  dirty: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
  machine,
  options: { duration_seconds: options.durationSeconds, warmup_seconds: options.warmupSeconds, connections: options.connections, wrk_threads: options.wrkThreads, profile_dir: profileDir, loom_node_args: options.loomNodeArgs },
  results,
  problems,
};
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nresults: ${join('bench/results', 'latest.json')}${profileDir ? `; CPU profiles: ${profileDir} (summarise with "node bench/profile-summary.mjs ${profileDir}")` : ''}`);
process.exitCode = problems.length > 0 ? 1 : 0;
