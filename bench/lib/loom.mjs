// Starts the built Loom as a separate process, the way it runs in production, and stops it again.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../scripts/lib/runner.mjs';
import { trackProcess } from './cleanup.mjs';
import { watchServer } from './server-process.mjs';

export { root };
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

  return watchServer(child, { name: 'Loom', startedMarker: '"msg":"loom started"', stop, timeoutMs, readyProbe: managementUrl === undefined ? undefined : () => probeReady(`${managementUrl}/ready`) });
}
