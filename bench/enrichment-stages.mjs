#!/usr/bin/env node
// Single-thread CPU cost of each enrichment stage per event (see lib/enrichment-stages.mjs).
// Run after `npm run build`:
//
//   node bench/enrichment-stages.mjs [--rounds 10] [--repeat 1] [--sets none,geo,intel,risk,geo+intel,all] [--json]
//                                    [--root <another checkout, built>]
//
// --rounds: measured passes over the 200 bodies per process; --repeat: processes per set, taking
// turns (the table shows the median of their medians).
// --root measures another tree's build with this tree's load, e.g. the last commit unpacked with
// `git archive HEAD | tar -x -C /tmp/base` and built there, to compare before and after a change.
// BENCH_NODE_ARGS adds node flags to the measured processes, e.g. "--cpu-prof".
// The same table is the `enrichment-stages` scenario of `npm run bench`.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installSignalHandlers } from './lib/cleanup.mjs';
import { runStages, STAGE_SETS } from './lib/enrichment-stages.mjs';
import { printTables } from './lib/report.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
    sets: { type: 'string' },
    json: { type: 'boolean', default: false },
    root: { type: 'string' },
  },
});
function positive(name) {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name} must be a positive integer, got "${values[name]}"`);
    process.exit(2);
  }
  return value;
}
const rounds = positive('rounds');
const repeat = positive('repeat');
const names = values.sets?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = (names ?? []).filter((name) => !STAGE_SETS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown stage set(s): ${unknown.join(', ')}; known: ${STAGE_SETS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
installSignalHandlers();
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
let stages;
try {
  stages = await runStages({ names, rounds, repeat, nodeArgs, loomRoot: values.root === undefined ? undefined : resolve(values.root), onRow: (row) => process.stderr.write(`${row.name}: ${row.cpuMicrosecondsPerEvent.toFixed(2)} µs/event\n`) });
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
if (values.json) console.log(JSON.stringify(stages, null, 2));
else printTables([{ name: 'enrichment-stages', kind: 'stages', stages }]);
// A pass that took longer than the CPU it got waited for a core that other processes had.
const waited = stages.filter((s) => s.wallMicrosecondsPerEvent > 1.15 * s.cpuMicrosecondsPerEvent).map((s) => s.name);
if (waited.length > 0) console.error(`\nNote: other processes kept ${waited.join(', ')} waiting for a CPU; those figures are high. Rerun on a quiet machine.`);
