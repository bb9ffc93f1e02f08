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

/**
 * CPU seconds of this process's reaped children (cutime+cstime of /proc/self/stat). Read
 * before starting a short-lived child and after it has exited, the delta is that child's CPU:
 * the only way to get it for wrk, whose /proc entry is gone by the time its report is read.
 */
export function reapedChildrenCpuSeconds() {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
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

/** The pids of a process's direct children (Loom's ingest processes with server.processes > 1). */
export function childPids(pid) {
  const pids = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') pids.push(...text.split(/\s+/).map(Number));
    } catch {
      // A thread may exit between readdir and read.
    }
  }
  return pids;
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

/** Bytes the process passed to write(2)-family calls (files, pipes, sockets alike). */
export function writtenBytes(pid) {
  const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  // user, nice, system and steal: busy time without interrupt and softirq handling.
  const tasks = values[0] + values[1] + values[2] + (values[7] ?? 0);
  return { busy: total - idle, total, tasks };
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
  const written0 = writtenBytes(pid);
  return {
    finish() {
      const wall = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const machine1 = machineCpu();
      const written1 = writtenBytes(pid);
      // Node names every thread "node", so threads are told apart by CPU use alone: the main
      // thread (tid = pid) and the others sorted, where decode workers show up on top.
      let main = 0;
      const others = [];
      for (const t of threadCpu(pid)) {
        const percent = ((t.seconds - (threads0.get(t.tid)?.seconds ?? 0)) / wall) * 100;
        if (t.tid === pid) main = percent;
        else if (percent >= 0.5) others.push(percent);
      }
      others.sort((a, b) => b - a);
      return {
        wallSeconds: wall,
        cpuPercent: (cpu / wall) * 100,
        writtenBytesPerSecond: written0 === undefined || written1 === undefined ? undefined : (written1 - written0) / wall,
        threads: { main, others },
        machineBusyPercent: ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100,
      };
    },
  };
}

/** pid → { ppid, name, own, reaped }: its own CPU seconds and those of the children it has reaped. */
function allProcesses() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // ppid is field 4; utime, stime, cutime, cstime are fields 14 to 17.
      out.set(Number(entry), {
        ppid: Number(fields[1]),
        name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
        own: (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
        reaped: (Number(fields[13]) + Number(fields[14])) / CLK_TCK,
      });
    } catch {
      // The process exited between readdir and read.
    }
  }
  return out;
}

function insideTree(processes, pid, root) {
  for (let p = pid, depth = 0; p > 1 && depth < 64; depth++) {
    if (p === root) return true;
    p = processes.get(p)?.ppid ?? 0;
  }
  return false;
}

/**
 * CPU % of one core used by processes outside the runner's own tree (servers, load generator),
 * and the busiest of them. Unlike idle time in /proc/stat, this leaves out the kernel's softirq
 * work for the benchmark's own loopback traffic, which thousands of short connections a second
 * make large.
 *
 * Processes are sampled every second. One born during the interval counts in full; one too
 * short-lived to be sampled (a test suite's) shows up in the CPU its parent reaped. A reaped
 * child that was sampled brings its whole lifetime into the parent's figure; what it had used
 * when last seen is taken off again, which still over-counts when parent and child end between
 * two samples. So the sum is capped by the machine's task time (/proc/stat without interrupts)
 * minus the runner's tree.
 */
export function startOtherProcessesMeter(intervalMs = 1000) {
  const t0 = performance.now();
  const machine0 = machineCpu();
  const cores = readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length || 1;
  const seen = new Map();
  const sample = (initial) => {
    const processes = allProcesses();
    for (const [pid, p] of processes) {
      const entry = seen.get(pid);
      if (entry === undefined) {
        seen.set(pid, { name: p.name, ppid: p.ppid, ours: insideTree(processes, pid, process.pid), ownBase: initial ? p.own : 0, reapedBase: p.reaped, own: p.own, reaped: p.reaped, gone: false, reapedOff: 0 });
      } else {
        // The parent may change: an orphan is adopted by a subreaper, which then reaps it.
        Object.assign(entry, { own: p.own, reaped: p.reaped, ppid: p.ppid });
      }
    }
    for (const [pid, entry] of seen) {
      if (entry.gone || processes.has(pid)) continue;
      entry.gone = true;
      const parent = seen.get(entry.ppid);
      if (parent !== undefined) parent.reapedOff += entry.own + entry.reaped;
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), intervalMs);
  timer.unref();
  return {
    finish() {
      clearInterval(timer);
      sample(false);
      const machine1 = machineCpu();
      const wall = (performance.now() - t0) / 1000;
      const percentOf = (e) => {
        const seconds = (e.own - e.ownBase) + Math.max(0, e.reaped - e.reapedBase - e.reapedOff);
        return (Math.min(Math.max(0, seconds), wall * cores) / wall) * 100;
      };
      const all = [...seen].map(([pid, e]) => ({ pid, name: e.name, ours: e.ours, percent: percentOf(e) })).filter((p) => p.percent > 0);
      const ours = all.filter((p) => p.ours).reduce((sum, p) => sum + p.percent, 0);
      const others = all.filter((p) => !p.ours).sort((a, b) => b.percent - a.percent);
      const taskPercent = ((machine1.tasks - machine0.tasks) / Math.max(1, machine1.total - machine0.total)) * cores * 100;
      const sum = others.reduce((total, p) => total + p.percent, 0);
      return {
        percent: Math.max(0, Math.min(sum, taskPercent - ours)),
        busiest: others.slice(0, 3).map((p) => `${p.name} (${p.pid}): ${p.percent.toFixed(0)} %`),
      };
    },
  };
}
