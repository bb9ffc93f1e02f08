// Starts the built Loom as a separate process, the way it runs in production, and stops it again.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackProcess } from './cleanup.mjs';

export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const bin = join(root, 'packages/loom/bin/loom.js');
const built = join(root, 'packages/loom/dist/src/cli.js');

const toml = (value) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Writes a loom.toml from a {section: {key: value}} object. */
export function writeConfig(path, sections) {
  const text = Object.entries(sections)
    .map(([section, keys]) => `[${section}]\n${Object.entries(keys).map(([k, v]) => `${k} = ${toml(v)}`).join('\n')}\n`)
    .join('\n');
  writeFileSync(path, text);
}

async function probeReady(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Spawns Loom with stdout on /dev/null (the stdout output must cost what a fast consumer
 * costs, not what a terminal costs) and waits until it is ready: the "loom started" log
 * line, or /ready on the management port (that line is at info level, below "warn").
 */
export async function startLoom({ configPath, env = {}, managementUrl, nodeArgs = [], timeoutMs = 20_000 }) {
  if (!existsSync(built)) throw new Error(`Loom is not built (${built} is missing); run "npm run build" first`);
  const devNull = openSync('/dev/null', 'w');
  const childEnv = { ...process.env, ...env };
  // The runner's own NODE_OPTIONS must not change the server being measured.
  delete childEnv.NODE_OPTIONS;
  // Flags such as --cpu-prof go on the command line: Node refuses them in NODE_OPTIONS.
  const child = spawn(process.execPath, [...nodeArgs, bin, '-config', configPath], { cwd: root, env: childEnv, stdio: ['ignore', devNull, 'pipe'] });
  closeSync(devNull);
  const stop = trackProcess(child);

  const log = [];
  let logBytes = 0;
  let started = false;
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"msg":"loom started"')) started = true;
      // Keep a bounded tail: a log flood during a run must not grow the runner's memory.
      log.push(line);
      logBytes += line.length;
      while (logBytes > 256 * 1024 && log.length > 1) logBytes -= log.shift().length;
    }
  });
  let exitInfo;
  // 'close' rather than 'exit': it comes after stderr is drained, so a startup error is complete.
  child.once('close', (code, signal) => (exitInfo = { code, signal }));

  const deadline = Date.now() + timeoutMs;
  while (!started) {
    if (exitInfo !== undefined) {
      await stop();
      throw new Error(`Loom exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}):\n${log.slice(-20).join('\n')}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Loom did not become ready within ${timeoutMs / 1000} s:\n${log.slice(-20).join('\n')}`);
    }
    if (managementUrl !== undefined && (await probeReady(`${managementUrl}/ready`))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    pid: child.pid,
    child,
    get exited() {
      return exitInfo;
    },
    /** Log lines at warn or above, for the report: a clean run logs none. */
    problems() {
      return log.filter((line) => /"level":"(warn|error|fatal)"/.test(line));
    },
    logTail(n = 20) {
      return log.slice(-n);
    },
    stop,
  };
}
