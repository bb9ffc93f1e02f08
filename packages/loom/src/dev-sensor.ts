import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { developmentSensorPorts } from './config/dev.js';
import type { Logger } from './logging.js';

/** The Spip sensor of this monorepo, when it is there and built. */
const spipBin = fileURLToPath(new URL('../../../spip/bin/spip.js', import.meta.url));
const spipBuilt = fileURLToPath(new URL('../../../spip/dist/src', import.meta.url));

export interface DevelopmentSensor {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/**
 * `npm start` runs a local Spip sensor next to Loom, on loopback and unprivileged ports,
 * delivering to Loom's ingest API with the generated development token, so that a first
 * `curl`, `nc` or `ssh -p` shows up on the dashboard. Undefined when Spip is not available.
 */
export async function startDevelopmentSensor(ingestAddress: string, sensorId: string, token: string, logger: Logger): Promise<DevelopmentSensor | undefined> {
  if (!existsSync(spipBin) || !existsSync(spipBuilt)) {
    logger.warn('the development sensor (packages/spip) is not built; run `npm run build` to have it start with --dev');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'loom-dev-spip-'));
  const config = join(dir, 'spip.toml');
  await writeFile(config, `name = "spip-dev"
ip = "127.0.0.1"
ports = [${developmentSensorPorts.join(', ')}]
log_level = "warn"

[loom]
enabled = true
url = "http://${ingestAddress}/api/v1/ingest"
sensor_id = "${sensorId}"
batch_size = 1
flush_interval = "1s"
spool_dir = ${JSON.stringify(join(dir, 'spool'))}
`, { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, [spipBin, '-config', config], {
    cwd: dir,
    env: { ...process.env, SPIP_LOOM_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping = false;
  child.once('close', (code) => {
    if (!stopping) logger.warn({ code, stderr: stderr.trim().slice(-500) }, 'the development sensor exited');
    void rm(dir, { recursive: true, force: true });
  });
  return {
    ports: developmentSensorPorts,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
