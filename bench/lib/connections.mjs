// Runs bench/lib/connect-load.mjs, the connection load generator, as a child process.
import { spawn } from 'node:child_process';
import { trackProcess } from './cleanup.mjs';
import { withRaisedNofile } from './spip.mjs';

const script = new URL('./connect-load.mjs', import.meta.url).pathname;

function spawnLoad(options) {
  const [cmd, args] = withRaisedNofile([process.execPath, script, JSON.stringify(options)]);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = trackProcess(child, 5000);
  let output = '';
  const lines = [];
  let partial = '';
  const listeners = new Set();
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const l of listeners) l(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  /** Resolves with the JSON of the first stdout line tagged `tag`. */
  const tagged = (tag) => new Promise((resolve, reject) => {
    const match = (line) => line.startsWith(`${tag} `);
    const found = lines.find(match);
    if (found !== undefined) return resolve(JSON.parse(found.slice(tag.length + 1)));
    const listener = (line) => {
      if (!match(line)) return;
      listeners.delete(listener);
      resolve(JSON.parse(line.slice(tag.length + 1)));
    };
    listeners.add(listener);
    exited.then(({ code, signal }) => reject(new Error(`connect-load exited (${signal ?? `code ${code}`}) before reporting ${tag}:\n${output}${lines.join('\n')}`)), reject);
  });
  return { child, stop, exited, tagged };
}

/**
 * Short connections for `durationSeconds`, `concurrency` at a time (see connect-load.mjs);
 * resolves to its RESULT: connections made and answered, connections/s, latency percentiles,
 * socket errors and the generator's own CPU %.
 */
export async function runShortConnections({ port, concurrency, durationSeconds, payload, halfClose = false, expectPrefix, timeoutMs = 10_000 }) {
  const load = spawnLoad({ port, mode: 'short', concurrency, durationSeconds, payloadHex: payload.toString('hex'), halfClose, expectPrefix, timeoutMs });
  try {
    return await load.tagged('RESULT');
  } finally {
    await load.stop();
  }
}

/**
 * Opens `count` connections that send nothing and keeps them open. Resolves once they are
 * all up (or have failed) with the OPEN report and close(), which closes them all and
 * resolves to the final report (how many the server closed in the meantime).
 */
export async function openIdleConnections({ port, count, concurrency = 200 }) {
  const load = spawnLoad({ port, mode: 'idle', count, concurrency });
  let opened;
  try {
    opened = await load.tagged('OPEN');
  } catch (error) {
    await load.stop();
    throw error;
  }
  return {
    opened,
    async close() {
      const result = load.tagged('RESULT');
      load.child.stdin.end();
      try {
        return await result;
      } finally {
        await load.stop();
      }
    },
  };
}
