#!/usr/bin/env node
// Runs the benchmark scenarios one after another, each against freshly started servers (Loom;
// Spip and Loom for the sensor scenarios), prints one table per kind of scenario, then one
// summary table of every scenario against its target, and writes bench/results/latest.json.
//
// Environment: BENCH_DURATION (seconds, default 20), BENCH_CONNECTIONS (keep-alive connections
// of the ingest scenarios, default 32), BENCH_SPIP_CONNECTIONS (connections in flight of the
// short-connection Spip scenarios, default 64), BENCH_IDLE_CONNECTIONS (default 10000),
// BENCH_SPIP_SPOOL (disk, the default, or memory: where Spip keeps events not yet shipped),
// BENCH_SCENARIOS (comma list, default all), BENCH_WARMUP (seconds, default 3),
// BENCH_PROFILE=<dir> (write V8 CPU profiles of Loom's and Spip's threads there),
// BENCH_NODE_ARGS / BENCH_SPIP_NODE_ARGS (extra node flags for Loom / Spip, e.g.
// "--max-semi-space-size=32"), BENCH_STAGE_ROUNDS (measured passes of each enrichment stage set,
// default 10).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanupAll, installSignalHandlers, isInterrupted, untilExit } from './lib/cleanup.mjs';
import { collectProblems, printSummary, printTables, summaryLine, targetVerdict } from './lib/report.mjs';
import { wrkVersion } from './lib/wrk.mjs';
import { scenarios } from './scenarios/index.mjs';
import { oneOfFromEnv as oneOf, positiveIntFromEnv as positiveInt, root } from '../scripts/lib/runner.mjs';

const options = {
  durationSeconds: positiveInt('BENCH_DURATION', 20),
  connections: positiveInt('BENCH_CONNECTIONS', 32),
  spipConnections: positiveInt('BENCH_SPIP_CONNECTIONS', 64),
  idleConnections: positiveInt('BENCH_IDLE_CONNECTIONS', 10_000),
  spipSpool: oneOf('BENCH_SPIP_SPOOL', ['disk', 'memory']),
  warmupSeconds: positiveInt('BENCH_WARMUP', 3),
  stageRounds: positiveInt('BENCH_STAGE_ROUNDS', 10),
  // One wrk thread: the load generator shares the two cores with Loom and should take as little as it can.
  wrkThreads: 1,
  profileDir: process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined,
  // Extra flags for Loom's node process, for trying runtime settings without editing code.
  loomNodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  spipNodeArgs: (process.env.BENCH_SPIP_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
};

const { profileDir } = options;

const wanted = (process.env.BENCH_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !scenarios.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? scenarios.filter((s) => wanted.includes(s.name)) : scenarios;

const kinds = new Set(selected.map((s) => s.kind));
const wrk = wrkVersion();
// Only the ingest scenarios drive load with wrk; the Spip ones bring their own generator.
if (wrk === undefined && kinds.has('ingest')) {
  console.error('wrk is not installed; it is the load generator of the ingest benchmarks.\nInstall it with:  sudo apt-get install wrk   (Debian/Ubuntu; other systems: https://github.com/wg/wrk)');
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

const load = [];
if (kinds.has('ingest')) load.push(`ingest: ${options.connections} keep-alive connections, wrk -t${options.wrkThreads}`);
if (kinds.has('connections')) load.push(`Spip: ${options.spipConnections} connections in flight, spool on ${options.spipSpool}`);
if (kinds.has('idle')) load.push(`${options.idleConnections.toLocaleString('en-US')} idle connections`);
const nodeArgs = [['Loom', options.loomNodeArgs], ['Spip', options.spipNodeArgs]].filter(([, args]) => args.length > 0).map(([who, args]) => `; ${who} runs with node ${args.join(' ')}`).join('');
console.log(`Loom and Spip benchmarks: ${selected.map((s) => s.name).join(', ')}`);
console.log(`${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, Node ${machine.node}, Linux ${machine.kernel}${wrk === undefined ? '' : `; ${wrk}`}`);
console.log(`${options.durationSeconds} s per scenario after a ${options.warmupSeconds} s warm-up; ${load.join('; ')}${nodeArgs}\n`);

const results = [];
for (const scenario of selected) {
  if (isInterrupted()) break;
  process.stdout.write(`${scenario.name}: ${scenario.description} ... `);
  const entry = { name: scenario.name, kind: scenario.kind, description: scenario.description, unit: scenario.unit, target: scenario.target };
  try {
    await scenario.setup(options);
    Object.assign(entry, await scenario.run(options));
    console.log(summaryLine(entry));
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

// A target relative to another scenario becomes a figure once both have run.
for (const result of results) {
  const relativeTo = result.target?.relativeTo;
  const reference = results.find((r) => r.name === relativeTo?.scenario && r.error === undefined);
  if (reference === undefined) continue;
  result.target = { ...result.target, eventsPerSecond: relativeTo.ratio * reference.eventsPerSecond };
}

printTables(results);
printSummary(results);
for (const result of results) result.targetMet = targetVerdict(result, results)?.met;
const problems = collectProblems(results);
const noisy = results.filter((r) => r.otherCpuPercent > 15);
if (noisy.length > 0) {
  const busiest = (r) => (r.details?.busiest_other_processes?.length > 0 ? `; busiest: ${r.details.busiest_other_processes[0]}` : '');
  console.log(`\nNote: other processes used CPU during ${noisy.map((r) => `${r.name} (${r.otherCpuPercent.toFixed(0)} %${busiest(r)})`).join(', ')}; those figures are low. Rerun on a quiet machine.`);
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
  options: {
    duration_seconds: options.durationSeconds,
    warmup_seconds: options.warmupSeconds,
    stage_rounds: options.stageRounds,
    connections: options.connections,
    spip_connections: options.spipConnections,
    idle_connections: options.idleConnections,
    spip_spool: options.spipSpool,
    wrk_threads: options.wrkThreads,
    profile_dir: profileDir,
    loom_node_args: options.loomNodeArgs,
    spip_node_args: options.spipNodeArgs,
  },
  results,
  problems,
};
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nresults: ${join('bench/results', 'latest.json')}${profileDir ? `; CPU profiles: ${profileDir} (summarise with "node bench/profile-summary.mjs ${profileDir}")` : ''}`);
process.exitCode = problems.length > 0 ? 1 : 0;
