// CPU and memory of a process from /proc. Process-level counters include every thread
// (main, worker threads, libuv pool, V8 helpers), which is what "Loom's CPU" has to mean.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function clockTicks() {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number.parseInt(out.stdout ?? '', 10);
  return Number.isFinite(value) && value > 0 ? value : 100;
}

export const CLK_TCK = clockTicks();

/** utime+stime of /proc/<pid>[/task/<tid>]/stat, in seconds, plus the thread name. */
function readStat(path) {
  const text = readFileSync(path, 'utf8');
  // The name field may itself contain spaces or parentheses; the last ')' ends it.
  const close = text.lastIndexOf(')');
  const name = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { name, seconds: ticks / CLK_TCK };
}

export function cpuSeconds(pid) {
  return readStat(`/proc/${pid}/stat`).seconds;
}

/** Per-thread CPU seconds, so a report can tell the event loop from the worker threads. */
export function threadCpu(pid) {
  const threads = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.push({ tid: Number(tid), ...readStat(`/proc/${pid}/task/${tid}/stat`) });
    } catch {
      // A thread may exit between readdir and read.
    }
  }
  return threads;
}

/** Memory figures of /proc/<pid>/status in bytes (VmHWM is the peak resident set since start). */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS') };
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Snapshot now, call finish() at the end of the measured interval: CPU % of one core for the
 * process (sum of its threads over wall time), a per-thread breakdown, and machine busy %.
 */
export function startCpuMeter(pid) {
  const t0 = performance.now();
  const cpu0 = cpuSeconds(pid);
  const threads0 = new Map(threadCpu(pid).map((t) => [t.tid, t]));
  const machine0 = machineCpu();
  return {
    finish() {
      const wall = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const machine1 = machineCpu();
      const groups = new Map();
      for (const t of threadCpu(pid)) {
        const delta = t.seconds - (threads0.get(t.tid)?.seconds ?? 0);
        // The main thread's tid is the pid; others are grouped by name (worker threads and
        // libuv pool threads share names, and the sum per role is what matters).
        const role = t.tid === pid ? 'main' : t.name;
        groups.set(role, (groups.get(role) ?? 0) + delta);
      }
      const threads = [...groups].map(([name, seconds]) => ({ name, cpuPercent: (seconds / wall) * 100 }))
        .filter((t) => t.cpuPercent >= 0.5)
        .sort((a, b) => b.cpuPercent - a.cpuPercent);
      return {
        wallSeconds: wall,
        cpuPercent: (cpu / wall) * 100,
        threads,
        machineBusyPercent: ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100,
      };
    },
  };
}
