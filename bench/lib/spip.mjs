// Starts the built Spip sensor as a separate process, the way it runs in production, and stops it again.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackProcess } from './cleanup.mjs';
import { root } from './loom.mjs';
import { watchServer } from './server-process.mjs';

const bin = join(root, 'packages/spip/bin/spip.js');
const built = join(root, 'packages/spip/dist/src/cli.js');

/** The descriptor limit asked for: 10,000 idle connections need as many sockets in each process. */
export const WANTED_NOFILE = 65536;

const toml = (value) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Writes a Spip config.toml: top-level keys first (TOML puts everything after a [section] inside it), then sections. */
export function writeSpipConfig(path, top, sections = {}) {
  const keys = (entries) => Object.entries(entries).map(([k, v]) => `${k} = ${toml(v)}`).join('\n');
  const text = [keys(top), ...Object.entries(sections).map(([section, entries]) => `[${section}]\n${keys(entries)}`)].join('\n\n');
  writeFileSync(path, `${text}\n`);
}

/**
 * argv for a process that raises its own descriptor limit first. A non-root user (or a
 * container without CAP_SYS_RESOURCE) cannot go above the hard limit, so it falls back to
 * that; BENCH_NOFILE tells the process which limit it got.
 */
export function withRaisedNofile(argv) {
  const script = `ulimit -n ${WANTED_NOFILE} 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null; BENCH_NOFILE=$(ulimit -n); export BENCH_NOFILE; exec "$@"`;
  return ['/bin/sh', ['-c', script, 'sh', ...argv]];
}

/** The soft descriptor limit a process started by withRaisedNofile() gets. */
export function reachableNofile() {
  return new Promise((resolve) => {
    const [cmd, args] = withRaisedNofile(['/bin/sh', '-c', 'echo "$BENCH_NOFILE"']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('close', () => resolve(out.trim() === 'unlimited' ? Infinity : Number(out.trim()) || 0));
  });
}

/** Open file descriptors of a process: for Spip, its sockets plus a few dozen files and pipes. */
export function openDescriptors(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Spawns Spip with stdout (its event log) on /dev/null and waits for the "sensor started"
 * line on stderr, which is why the config must keep log_level at "info".
 */
export async function startSpip({ configPath, env = {}, nodeArgs = [], timeoutMs = 20_000 }) {
  if (!existsSync(built)) throw new Error(`Spip is not built (${built} is missing); run "npm run build" first`);
  const devNull = openSync('/dev/null', 'w');
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_OPTIONS;
  const [cmd, args] = withRaisedNofile([process.execPath, ...nodeArgs, bin, '-config', configPath]);
  const child = spawn(cmd, args, { cwd: root, env: childEnv, stdio: ['ignore', devNull, 'pipe'] });
  closeSync(devNull);
  // Longer than the shutdown_timeout_seconds the scenarios configure, so that a CPU profile gets written.
  const stop = trackProcess(child, 10_000);

  return watchServer(child, { name: 'Spip', startedMarker: '"msg":"sensor started"', stop, timeoutMs });
}
