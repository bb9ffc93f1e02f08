// Every process and temp dir a benchmark creates is registered here, so an exception, a
// failed assertion or Ctrl-C never leaves a server holding a port or gigabytes in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tasks = new Set();
/** task -> synchronous last resort, run if the runner exits (even by an uncaught exception) with the task pending. */
const atExit = new Map();
let interrupted = false;

process.on('exit', () => {
  for (const last of atExit.values()) {
    try {
      last();
    } catch {
      // Nothing more can be done while exiting.
    }
  }
});

/** True once the runner got SIGINT/SIGTERM: no further scenario may start. */
export function isInterrupted() {
  return interrupted;
}

/**
 * Registers fn; returns a function that runs it once and unregisters it. After an interrupt,
 * a process spawned by code that was already running is stopped at once and the caller fails,
 * so nothing outlives the runner.
 */
export function onCleanup(fn, lastResort) {
  if (interrupted) {
    void Promise.resolve().then(fn).catch(() => undefined);
    throw new Error('interrupted');
  }
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    tasks.delete(run);
    try {
      await fn();
    } finally {
      atExit.delete(run);
    }
  };
  tasks.add(run);
  if (lastResort !== undefined) atExit.set(run, lastResort);
  return run;
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const removeNow = () => rmSync(dir, { recursive: true, force: true });
  const remove = onCleanup(removeNow, removeNow);
  return { dir, remove };
}

/** Registers a child process: stopped gracefully by cleanup, SIGKILLed if the runner dies first. */
export function trackProcess(child, graceMs = 5000) {
  return onCleanup(() => terminate(child, graceMs), () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  });
}

/** Runs what is still registered, newest first (processes before the dirs they use). */
export async function cleanupAll() {
  while (tasks.size > 0) {
    for (const run of [...tasks].reverse()) {
      try {
        await run();
      } catch (error) {
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** SIGTERM, then SIGKILL if the process is still there after graceMs. Resolves when it has exited. */
export function terminate(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

let installed = false;
let exiting;

/** After an interrupt: resolves never, the signal handler exits once everything is cleaned up. */
export function untilExit() {
  return exiting ?? Promise.resolve();
}

/** On SIGINT/SIGTERM to the runner: clean up, then exit with the conventional status. */
export function installSignalHandlers() {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: stopping benchmark processes and removing temp files`);
      exiting = cleanupAll().finally(() => process.exit(code));
    });
  }
}
