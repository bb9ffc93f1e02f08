// Every process and temp dir a benchmark creates is registered here, so an exception, a
// failed assertion or Ctrl-C never leaves a server holding a port or gigabytes in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tasks = new Set();

/** Registers fn; returns a function that runs it once and unregisters it. */
export function onCleanup(fn) {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    tasks.delete(run);
    await fn();
  };
  tasks.add(run);
  return run;
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const remove = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, remove };
}

/** Runs what is still registered, newest first (processes before the dirs they use). */
export async function cleanupAll() {
  for (const run of [...tasks].reverse()) {
    try {
      await run();
    } catch (error) {
      console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
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

/** On SIGINT/SIGTERM to the runner: clean up, then exit with the conventional status. */
export function installSignalHandlers() {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping benchmark processes and removing temp files`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}
