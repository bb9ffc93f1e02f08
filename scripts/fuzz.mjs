#!/usr/bin/env node
// Runs every fuzzer of a parser that faces untrusted bytes with many more inputs than the CI
// subset `npm test` runs, one parser at a time, then prints one summary table.
//
// The fuzzers are the ordinary seeded tests (see docs/FUZZING.md); this script only sets their
// size and seed and runs each on its own, so a slow network-bound fuzzer does not hide the rest.
//
//   npm run fuzz                         every parser, 1,000,000 inputs each, a fresh seed
//   npm run fuzz -- netflow tls          only the parsers whose name contains one of the words
//   FUZZ_ITERATIONS=200000 npm run fuzz  inputs per parser
//   FUZZ_SEED=1234 npm run fuzz          replay a run: the seed is printed at the start
//
// Exit status: 0 when every fuzzer passed, 1 otherwise, 2 on bad arguments.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { positiveIntFromEnv, root, tableLines } from './lib/runner.mjs';

/**
 * Each parser: the compiled test file, the tests in it that fuzz that parser (a name pattern,
 * so one file can hold two parsers), and how to read the number of inputs from its output when
 * a test feeds more than the requested count (corpus truncations come on top).
 */
const parsers = [
  {
    name: 'ingest-body',
    what: 'ingest bodies: JSON, NDJSON, gzip decode (HTTP requests to a running Loom)',
    file: 'packages/loom/dist/test/fuzz.test.js',
    // The health check after the fuzz proves Loom survived and wrote only acknowledged events.
    pattern: 'malformed requests|afterwards loom is healthy',
  },
  {
    name: 'ingest-http',
    what: 'HTTP ingest requests: raw-socket request lines, headers, framing',
    file: 'packages/loom/dist/test/fuzz.test.js',
    pattern: 'raw-socket garbage requests|afterwards loom is healthy',
  },
  {
    name: 'tls-client-hello',
    what: 'TLS ClientHello probe, parser, JA4/JA3',
    file: 'packages/spip/dist/src/protocols/tls/client-hello.fuzz.test.js',
    inputs: /(\d+) inputs/,
  },
  {
    name: 'http-request',
    what: 'HTTP requests on the sensor: parser, JA4H',
    file: 'packages/spip/dist/src/protocols/http/request.fuzz.test.js',
    inputs: /(\d+) inputs/,
  },
  {
    name: 'ssh-kexinit',
    what: 'SSH identification line and KEXINIT',
    file: 'packages/spip/dist/src/protocols/ssh/ssh.fuzz.test.js',
    inputs: /(\d+) inputs/,
  },
  {
    name: 'netflow',
    what: 'NetFlow v5, v9 and IPFIX decoder and rendering',
    file: 'packages/loom/dist/test/netflow-fuzz.test.js',
    inputs: /(\d+) packets in/,
  },
  {
    name: 'tcp-json',
    what: 'TCP JSON line framing and message validation',
    file: 'packages/loom/dist/test/tcp-json-fuzz.test.js',
    pattern: 'through the splitter and checker',
  },
];

const iterations = positiveIntFromEnv('FUZZ_ITERATIONS', 1_000_000);
if (process.env.FUZZ_SEED && !/^(0x[0-9a-f]+|\d+)$/i.test(process.env.FUZZ_SEED)) {
  console.error(`FUZZ_SEED must be an integer, got "${process.env.FUZZ_SEED}"`);
  process.exit(2);
}
// A fresh seed by default, so that repeated long runs explore new inputs; printed to replay.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(2 ** 32);

const words = process.argv.slice(2).map((w) => w.toLowerCase());
const selected = parsers.filter((p) => words.length === 0 || words.some((w) => p.name.includes(w)));
if (selected.length === 0) {
  console.error(`no parser matches ${words.join(' ')}; parsers: ${parsers.map((p) => p.name).join(', ')}`);
  process.exit(2);
}
for (const p of selected) {
  if (!existsSync(join(root, p.file))) {
    console.error(`${p.file} is missing: run \`npm run build\` first (\`npm run fuzz\` does)`);
    process.exit(2);
  }
}

console.log(`fuzzing ${selected.map((p) => p.name).join(', ')}: ${iterations.toLocaleString('en-US')} inputs each, seed ${seed}`);
console.log(`replay with: FUZZ_SEED=${seed} FUZZ_ITERATIONS=${iterations} npm run fuzz -- <parser>\n`);

/** Runs one parser's fuzz tests in their own node process; resolves with what the table needs. */
function run(parser) {
  const args = ['--test', '--test-reporter=spec'];
  if (parser.pattern) args.push(`--test-name-pattern=${parser.pattern}`);
  args.push(parser.file);
  const env = {
    ...process.env,
    FUZZ_ITERATIONS: String(iterations),
    // Each package's tests read their own seed variable; one seed drives them all.
    LOOM_FUZZ_SEED: String(seed),
    SPIP_FUZZ_SEED: String(seed),
  };
  // The NetFlow test's own count variable would otherwise override the one asked for here.
  delete env.LOOM_NETFLOW_FUZZ_PACKETS;
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      // The spec reporter ends with "ℹ fail N"; a crash before it counts as one failure.
      const failedTests = Number(/^\S+ fail (\d+)$/m.exec(output)?.[1] ?? NaN);
      const passedTests = Number(/^\S+ pass (\d+)$/m.exec(output)?.[1] ?? 0);
      let failures = Number.isNaN(failedTests) ? 1 : failedTests;
      if (failures === 0 && (code !== 0 || signal !== null)) failures = 1;
      if (failures === 0 && passedTests === 0) failures = 1; // the pattern selected nothing: a fuzzer went missing
      const counted = parser.inputs ? Number(parser.inputs.exec(output)?.[1] ?? NaN) : iterations;
      resolve({ name: parser.name, inputs: Number.isNaN(counted) ? iterations : counted, seconds, failures });
    });
  });
}

const results = [];
for (const parser of selected) {
  console.log(`── ${parser.name}: ${parser.what}`);
  results.push(await run(parser));
  console.log('');
}

const rows = results.map((r) => [
  r.name,
  r.inputs.toLocaleString('en-US'),
  r.seconds.toFixed(1),
  Math.round(r.inputs / r.seconds).toLocaleString('en-US'),
  String(r.failures),
]);
console.log(`seed ${seed}, FUZZ_ITERATIONS=${iterations}`);
console.log(tableLines(['parser', 'inputs', 'seconds', 'inputs/s', 'failures'], rows).join('\n'));
const failed = results.filter((r) => r.failures > 0);
if (failed.length > 0) {
  console.log(`\nFAILED: ${failed.map((r) => r.name).join(', ')}; replay one with FUZZ_SEED=${seed} FUZZ_ITERATIONS=${iterations} npm run fuzz -- ${failed[0].name}`);
  process.exit(1);
}
