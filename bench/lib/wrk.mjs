// Runs wrk and turns its report into numbers. wrk is C with an event loop per thread, so
// one thread drives many keep-alive connections while leaving most of a core to the server.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { trackProcess } from './cleanup.mjs';
import { reapedChildrenCpuSeconds } from './proc.mjs';

export const luaDir = new URL('../lua', import.meta.url).pathname;

/** The wrk version line, or undefined when wrk is not installed. */
export function wrkVersion() {
  const out = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (out.error !== undefined) return undefined;
  // wrk prints its version with the usage text and exits non-zero; the first line is enough.
  return `${out.stdout}${out.stderr}`.split('\n', 1)[0].replace(/\s+Copyright.*$/, '').trim() || 'wrk';
}

const timeUnits = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "24.89ms" / "1.02s" / "850.00us" → milliseconds. */
export function parseDuration(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`unrecognised wrk duration "${text}"`);
  return Number(match[1]) * timeUnits[match[2]];
}

/**
 * Parses wrk's text report (wrk 4.x with --latency). The BENCH_RESULT line printed by the Lua
 * done() hook, when present, replaces the rounded figures with exact ones.
 */
export function parseWrk(output) {
  const number = (re) => {
    const match = re.exec(output);
    return match ? Number(match[1]) : undefined;
  };
  const percentile = (p) => {
    const match = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(output);
    return match ? parseDuration(match[1]) : undefined;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const totals = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(output);
  const result = {
    requests: totals ? Number(totals[1]) : undefined,
    durationSeconds: totals ? (Number(totals[2]) * timeUnits[totals[3]]) / 1000 : undefined,
    requestsPerSecond: number(/^Requests\/sec:\s+([\d.]+)/m),
    latencyMs: { p50: percentile(50), p90: percentile(90), p99: percentile(99) },
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/) ?? 0,
    socketErrors: socket
      ? { connect: Number(socket[1]), read: Number(socket[2]), write: Number(socket[3]), timeout: Number(socket[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
  const exact = /^BENCH_RESULT (\{.*\})$/m.exec(output);
  if (exact) {
    const r = JSON.parse(exact[1]);
    result.requests = r.requests;
    result.durationSeconds = r.duration_us / 1e6;
    result.requestsPerSecond = r.requests / result.durationSeconds;
    result.latencyMs = { p50: r.latency_us.p50 / 1000, p90: r.latency_us.p90 / 1000, p99: r.latency_us.p99 / 1000, p999: r.latency_us.p999 / 1000, max: r.latency_us.max / 1000, mean: r.latency_us.mean / 1000 };
    result.statuses = r.statuses;
    const counted = Object.values(r.statuses).reduce((a, b) => a + b, 0);
    // Count from the per-status table when it covers the run; wrk's own counter misses 1xx/3xx.
    result.non2xx = counted > 0
      ? Object.entries(r.statuses).filter(([status]) => !status.startsWith('2')).reduce((a, [, n]) => a + n, 0)
      : r.status_errors;
    result.socketErrors = { connect: r.connect_errors, read: r.read_errors, write: r.write_errors, timeout: r.timeouts };
  }
  if (result.requests === undefined || result.requestsPerSecond === undefined) {
    throw new Error(`could not parse wrk output:\n${output}`);
  }
  return result;
}

/** Runs wrk to completion; rejects with its output when it fails. */
export async function runWrk({ url, script, scriptArgs = [], connections, durationSeconds, threads = 1, timeoutSeconds = 10 }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${durationSeconds}s`, `--timeout`, `${timeoutSeconds}s`, '--latency', '-s', join(luaDir, script), url, '--', ...scriptArgs.map(String)];
  const cpu0 = reapedChildrenCpuSeconds();
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = trackProcess(child, 2000);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const { code, signal } = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  await stop();
  // Valid because the runner reaps no other child while wrk runs (Loom keeps running).
  const cpuSeconds = reapedChildrenCpuSeconds() - cpu0;
  if (code !== 0) throw new Error(`wrk exited with ${signal ?? `code ${code}`}:\n${output}`);
  const parsed = parseWrk(output);
  return { args, output, ...parsed, cpuPercent: (cpuSeconds / parsed.durationSeconds) * 100 };
}
