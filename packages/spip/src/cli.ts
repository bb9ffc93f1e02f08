import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadSpipConfigFile } from './config/load.js';
import { SpipConfigError } from './config/types.js';
import { createLog } from './diagnostics.js';
import { startSensor } from './sensor.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const usage = `Usage:
  spip [-config FILE]              run the sensor (default config file: config.toml)
  spip check-config [-config FILE] validate FILE and exit 0 (valid) or 1
  spip setup [-config FILE]        interactive setup: writes a config, prints iptables rules
  spip --version                   print the version
`;

/** Entry point of the `spip` command; resolves to the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  let command = 'run';
  let configPath = 'config.toml';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (i === 0 && (arg === 'check-config' || arg === 'setup')) {
      command = arg;
      continue;
    }
    const [flag, inline] = arg.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    if (!arg.startsWith('-')) {
      process.stderr.write(`spip: unexpected argument "${arg}"\n\n${usage}`);
      return 2;
    }
    if (flag === 'config') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') {
        process.stderr.write('spip: flag -config needs a file path\n');
        return 2;
      }
      configPath = value;
    } else if (flag === 'version') {
      process.stdout.write(`spip ${version}\n`);
      return 0;
    } else if (flag === 'h' || flag === 'help') {
      process.stdout.write(usage);
      return 0;
    } else {
      process.stderr.write(`spip: unknown flag "${arg}"\n\n${usage}`);
      return 2;
    }
  }
  if (command === 'setup') {
    const { runSetup } = await import('./setup.js');
    return runSetup(resolve(configPath));
  }

  let loaded;
  try {
    loaded = await loadSpipConfigFile(resolve(configPath), process.env);
  } catch (error) {
    if (!(error instanceof SpipConfigError)) throw error;
    const prefix = error.message.startsWith('read config') || error.message.startsWith('parse config') ? 'Failed to load configuration' : 'Invalid configuration';
    process.stderr.write(`${prefix}: ${error.message}\n`);
    return 1;
  }
  const { config, warnings } = loaded;
  const log = createLog(config.log_level);
  for (const warning of warnings) log('warn', warning);
  if (command === 'check-config') {
    process.stderr.write(`config ${config.source_path} is valid\n`);
    return 0;
  }

  let sensor;
  try {
    sensor = await startSensor(config, log);
  } catch (error) {
    log('error', (error as Error).message);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) process.exit(1);
      stopping = true;
      sensor.stop().then(() => resolveExit(0), (error: unknown) => {
        log('error', 'shutdown failed', { error: (error as Error).message });
        resolveExit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      log('info', 'SIGHUP: reopening the log file');
      sensor.reopen();
    });
  });
}
