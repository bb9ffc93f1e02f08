#!/usr/bin/env node
// Summarises V8 .cpuprofile files (from BENCH_PROFILE=<dir> npm run bench): for each thread,
// where its time went, by function (self and total time) and by file. The Spip scenarios
// profile two processes, so their files sit in <scenario>/spip/ and <scenario>/loom/.
// Usage: node bench/profile-summary.mjs <dir or files...> [--top N] [--spip]
// --spip adds, for main threads, Spip's time by component (see spipGroups).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 20;
const spipIndex = args.indexOf('--spip');
const spip = spipIndex >= 0;
if (spip) args.splice(spipIndex, 1);
if (args.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <dir-with-.cpuprofile-files | files...> [--top N] [--spip]');
  process.exit(2);
}
// BENCH_PROFILE writes one directory per scenario (and process), so directories are walked recursively.
const collect = (p) => (statSync(p).isDirectory()
  ? readdirSync(p).sort().flatMap((f) => collect(join(p, f)))
  : p.endsWith('.cpuprofile') ? [p] : []);
const files = args.flatMap(collect);

const root = new URL('..', import.meta.url).pathname;
function where(frame) {
  if (frame.url === '') return '';
  const path = frame.url.startsWith('file://') ? relative(root, new URL(frame.url).pathname) : frame.url;
  return `${path}:${frame.lineNumber + 1}`;
}
// Spip's per-connection work by component. A sample goes to the first group with a matching
// frame anywhere on its stack, so the order matters: the event log and the shipper come before
// the ECS event they serialise, and the specific fingerprints before buildEvent.
const spipGroups = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['original-destination lookup', (f) => f.functionName === 'originalDestination'],
  ['event log: JSON.stringify + fs.WriteStream.write', (f) => f.url.endsWith('/event-log.js') || f.url === 'node:internal/fs/streams'],
  ['shipper: JSON.stringify (enqueue)', (f) => f.functionName === 'enqueue' && f.url.endsWith('/shipper.js')],
  ['shipper: disk spool', (f) => f.url.includes('/shipper/spool')],
  ['shipper: batches, gzip, POST', (f) => f.url.includes('/shipper/') || f.url.startsWith('node:zlib') || f.url.startsWith('node:internal/deps/undici') || f.url.startsWith('node:_http')],
  ['ECS event: community ID', (f) => f.functionName === 'communityId'],
  ['ECS event: JA4H', (f) => f.functionName === 'ja4h'],
  ['ECS event: JA4 / JA3', (f) => f.functionName === 'ja4' || f.functionName === 'ja3'],
  ['ECS event: HASSH', (f) => f.functionName === 'hassh'],
  ['ECS event: other fields, payload hex, UUID', (f) => f.functionName === 'buildEvent'],
  ['response write', (f) => f.functionName === 'write' && f.url.endsWith('/session.js')],
  ['protocol detection and parsing', (f) => /^(parseHttpRequest|probeHttp|probeClientHello|parseClientHello|parseSshIdentification|parseKexInit)$/.test(f.functionName)],
  ['session setup (Session, ChunkReader)', (f) => f.functionName === 'Session' || f.functionName === 'ChunkReader'],
  ['socket close', (f) => /destroy|^close$|_destroy|closeSocketHandle/.test(f.functionName)],
  ['accept and net.Socket construction', (f) => f.functionName === 'onconnection'],
];

const label = (frame) => `${frame.functionName || '(anonymous)'} ${where(frame)}`.trim();
const pct = (part, whole) => `${((part / whole) * 100).toFixed(1).padStart(5)}%`;

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
  const threadId = basename(file).split('.')[4];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i lasted until sample i+1; timeDeltas[i+1] is that gap in µs.
  const self = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = deltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + us);
  }
  const wall = profile.endTime - profile.startTime;
  // "(program)" is native work outside JS (TLS, the HTTP parser's C side, libuv), so it counts as busy.
  const idleNames = new Set(['(idle)']);
  let idle = 0;
  const selfByFn = new Map();
  const totalByFn = new Map();
  const byFile = new Map();
  const byGroup = new Map();
  for (const [id, us] of self) {
    const node = byId.get(id);
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') idle += us;
    const key = label(frame);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
    const fileKey = frame.url === '' ? frame.functionName || '(native)' : where(frame).replace(/:\d+$/, '');
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
    // Total time: credit each distinct function on the stack once (recursion must not double count).
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const k = label(byId.get(n).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      totalByFn.set(k, (totalByFn.get(k) ?? 0) + us);
    }
    if (spip && threadId === '0' && !idleNames.has(frame.functionName) && frame.functionName !== '(root)') {
      const stack = [];
      for (let n = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n).callFrame);
      const group = spipGroups.find(([, match]) => stack.some(match))?.[0] ?? 'the rest (streams, promises, timers)';
      byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    }
  }
  const busy = wall - idle;
  const sorted = (m) => [...m].filter(([k]) => !idleNames.has(k) && k !== '(root)').sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\n=== ${relative(args.length === 1 && statSync(args[0]).isDirectory() ? args[0] : '.', file)}: ${threadId === '0' ? 'main thread' : `worker thread ${threadId}`} ===`);
  console.log(`profiled ${(wall / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${pct(busy, wall).trim()} of wall); percentages below are of busy time`);
  console.log('\n  self time by function:');
  for (const [k, us] of sorted(selfByFn)) console.log(`  ${pct(us, busy)}  ${k}`);
  console.log('\n  total time (self + callees) by function:');
  for (const [k, us] of sorted(totalByFn)) console.log(`  ${pct(us, busy)}  ${k}`);
  console.log('\n  self time by file:');
  for (const [k, us] of sorted(byFile)) console.log(`  ${pct(us, busy)}  ${k}`);
  if (byGroup.size > 0) {
    console.log('\n  Spip, by component:');
    for (const [k, us] of [...byGroup].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us, busy)}  ${k}`);
  }
}
