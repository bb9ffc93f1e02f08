#!/usr/bin/env node
// Load generator for servers that handle one exchange per TCP connection (Spip), run as its own
// process by the benchmark runner. wrk does not fit: it starts its clock on a connection it
// already holds, parses every answer as HTTP, and cannot send a TLS ClientHello or an SSH
// opening as raw bytes. The hot path is kept to the bare net.Socket events: one process drives
// about 17,000 connections/s at a full core against a server that only answers, and takes a
// quarter to a third of a core at Spip's rates, most of it in the kernel's connect().
//
// Usage: node connect-load.mjs '<json options>'; prints one line "RESULT <json>" at the end.
//   mode "short": keep `concurrency` connections in flight for `durationSeconds`; each one
//     connects, writes `payloadHex` (and half-closes with `halfClose`), reads until the server
//     closes, and counts as answered when what it read starts with `expectPrefix`.
//   mode "idle": open `count` connections (`concurrency` connects at a time) that send nothing,
//     print "OPEN <json>" once they are all up, and close them all on SIGTERM or when stdin ends.
import net from 'node:net';

const options = JSON.parse(process.argv[2] ?? '{}');
const { host = '127.0.0.1', port, mode = 'short', concurrency = 64, timeoutMs = 10_000 } = options;
const payload = Buffer.from(options.payloadHex ?? '', 'hex');
const expect = options.expectPrefix === undefined ? undefined : Buffer.from(options.expectPrefix, 'latin1');

const errors = {};
const countError = (code) => (errors[code] = (errors[code] ?? 0) + 1);
const now = () => performance.now();
const emit = (tag, value) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);

/** Nearest-rank percentiles of latencies in ms, from a typed array that is sorted in place. */
function percentiles(samples) {
  samples.sort();
  const at = (p) => (samples.length === 0 ? undefined : samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]);
  let sum = 0;
  for (const v of samples) sum += v;
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: at(100), mean: samples.length === 0 ? undefined : sum / samples.length };
}

function shortConnections() {
  const { durationSeconds } = options;
  let latencies = new Float64Array(1 << 18);
  let samples = 0;
  let started = 0;
  let answered = 0;
  let unanswered = 0;
  let connectFailed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let stopping = false;
  let windowEnd;
  let completedInWindow = 0;
  const live = new Set();
  const t0 = now();
  const cpu0 = process.cpuUsage();

  const record = (ms) => {
    if (samples === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[samples++] = ms;
  };

  function open() {
    started++;
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const socket = net.connect({ host, port, noDelay: true });
    const state = { start: now(), head: undefined, ended: false };
    live.add(state);
    state.socket = socket;
    // Written before the connection is up, the bytes go out in the first segment after the handshake.
    if (options.halfClose) socket.end(payload);
    else if (payload.length > 0) socket.write(payload);
    socket.on('data', (chunk) => {
      if (state.head === undefined) state.head = chunk;
      else if (expect !== undefined && state.head.length < expect.length) state.head = Buffer.concat([state.head, chunk]);
    });
    socket.once('end', () => {
      state.ended = true;
    });
    socket.on('error', (error) => {
      countError(error.code ?? error.message);
      if (error.syscall === 'connect') connectFailed++;
    });
    socket.once('close', () => {
      const end = now();
      live.delete(state);
      inFlight--;
      const ok = state.ended && (expect === undefined || (state.head !== undefined && state.head.subarray(0, expect.length).equals(expect)));
      if (ok) {
        answered++;
        record(end - state.start);
        if (!stopping) completedInWindow++;
      } else {
        unanswered++;
      }
      if (!stopping) open();
      else if (inFlight === 0) finish();
    });
  }

  // A connection the server never closes is given up after timeoutMs; sweeping once a
  // second costs less than a timer per connection.
  const sweep = setInterval(() => {
    const limit = now() - timeoutMs;
    for (const state of live) {
      if (state.start < limit && !state.socket.destroyed) {
        countError('timeout');
        if (state.socket.connecting) connectFailed++;
        state.socket.destroy();
      }
    }
  }, 1000);

  function finish() {
    clearInterval(sweep);
    const cpu = process.cpuUsage(cpu0);
    const wall = (now() - t0) / 1000;
    const window = (windowEnd - t0) / 1000;
    emit('RESULT', {
      mode,
      connections: started,
      // What the server saw: every connection the kernel completed is one accept() on its side.
      connected: started - connectFailed,
      answered,
      unanswered,
      connectionsPerSecond: completedInWindow / window,
      durationSeconds: window,
      wallSeconds: wall,
      latencyMs: percentiles(latencies.subarray(0, samples)),
      errors,
      maxInFlight,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    });
    process.exit(0);
  }

  setTimeout(() => {
    stopping = true;
    windowEnd = now();
    if (inFlight === 0) finish();
  }, durationSeconds * 1000);
  for (let i = 0; i < concurrency; i++) open();
}

function idleConnections() {
  const { count } = options;
  const sockets = [];
  let connected = 0;
  let failed = 0;
  let closedEarly = 0;
  let next = 0;
  let reported = false;
  const t0 = now();

  const report = () => {
    if (reported || connected + failed < count) return;
    reported = true;
    emit('OPEN', { opened: connected, failed, seconds: (now() - t0) / 1000, errors });
  };
  function open() {
    if (next >= count) return;
    next++;
    const socket = net.connect({ host, port });
    sockets.push(socket);
    let up = false;
    socket.once('connect', () => {
      up = true;
      connected++;
      report();
      open();
    });
    socket.on('error', (error) => countError(error.code ?? error.message));
    socket.once('close', () => {
      if (!up) {
        failed++;
        report();
        open();
      } else if (!closing) {
        closedEarly++;
      }
    });
  }
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    for (const s of sockets) s.destroy();
    emit('RESULT', { mode, opened: connected, failed, closedByServer: closedEarly, errors });
    process.exit(0);
  };
  process.on('SIGTERM', close);
  process.stdin.on('end', close).resume();
  for (let i = 0; i < Math.min(concurrency, count); i++) open();
}

if (!Number.isInteger(port)) {
  console.error('connect-load: options.port is required');
  process.exit(2);
}
if (mode === 'idle') idleConnections();
else shortConnections();
