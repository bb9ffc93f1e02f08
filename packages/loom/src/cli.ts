import { resolve } from 'node:path';
import { loadConfigFile } from './config/load.js';
import { developmentAdminToken, developmentConfig, developmentSensorPorts } from './config/dev.js';
import { formatEffectiveConfig } from './config/redact.js';
import { ConfigError, type LoadResult } from './config/types.js';
import { startDevelopmentSensor, type DevelopmentSensor } from './dev-sensor.js';
import { createLogger } from './logging.js';
import { startService } from './service.js';
import { runUntilStopped } from './signals.js';
import { version } from './version.js';

const usage = `Usage:
  loom [-config FILE]              run Loom (default config file: loom.toml)
  loom --dev                       run with the embedded development default (no config file)
  loom check-config [-config FILE] validate FILE and print the effective config, secrets redacted
  loom lookup IP… [-config FILE]   print the enrichment of each address (GeoIP, ASN, DNS, intel)
  loom outbox status [-config FILE] [--json]  what waits in each output's outbox
  loom outbox verify [-config FILE] [--json]  check every outbox record; exit 1 on damage
  loom tcp-json [-config FILE]     run the TCP JSON logging service alone (default config file: ./config.json)
  loom --version                   print the version

Flags take one or two dashes, and "-config FILE" or "-config=FILE".
Secrets are never taken from the command line: set LOOM_SENSOR_<sensor_id>=<token> or auth.token_file.
`;

interface Options {
  command: 'run' | 'check-config' | 'lookup' | 'outbox' | 'tcp-json' | 'version' | 'help';
  /** For `outbox`. */
  outboxAction: 'status' | 'verify' | undefined;
  json: boolean;
  configPath: string;
  dev: boolean;
  /** Addresses for `lookup`. */
  addresses: string[];
  configGiven: boolean;
}

/** Parses Go-flag-style arguments; returns an error message for anything it does not know. */
export function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = { command: 'run', configPath: 'loom.toml', dev: false, addresses: [], configGiven: false, outboxAction: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (i === 0 && (arg === 'check-config' || arg === 'lookup' || arg === 'outbox' || arg === 'tcp-json' || arg === 'version' || arg === 'help')) {
      options.command = arg;
      continue;
    }
    if (i === 1 && options.command === 'outbox') {
      if (arg !== 'status' && arg !== 'verify') return `outbox needs "status" or "verify", got "${arg}"`;
      options.outboxAction = arg;
      continue;
    }
    if (options.command === 'lookup' && !arg.startsWith('-')) {
      options.addresses.push(arg);
      continue;
    }
    if (!arg.startsWith('-')) return `unexpected argument "${arg}"`;
    const [flag, inline] = splitFlag(arg);
    switch (flag) {
      case 'config': {
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') return 'flag -config needs a file path';
        options.configPath = value;
        options.configGiven = true;
        break;
      }
      case 'dev':
        options.dev = true;
        break;
      case 'json':
        if (options.command !== 'outbox') return '--json is only for "loom outbox"';
        options.json = true;
        break;
      case 'version':
        options.command = 'version';
        break;
      case 'h':
      case 'help':
        options.command = 'help';
        break;
      default:
        return `unknown flag "${arg}"`;
    }
  }
  if (options.dev && options.configGiven) return '--dev runs without a config file; remove -config or --dev';
  if (options.command === 'outbox' && options.outboxAction === undefined) return 'outbox needs "status" or "verify"';
  if (options.command === 'tcp-json') {
    if (options.dev) return '--dev is not for "loom tcp-json"; it reads its config.json';
    // The protocol's configuration lives in config.json, not in loom.toml.
    if (!options.configGiven) options.configPath = 'config.json';
  }
  return options;
}

function splitFlag(arg: string): [string, string | undefined] {
  const name = arg.replace(/^--?/, '');
  const eq = name.indexOf('=');
  return eq < 0 ? [name, undefined] : [name.slice(0, eq), name.slice(eq + 1)];
}

/** Entry point of the `loom` command; resolves to the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  if (typeof options === 'string') {
    process.stderr.write(`loom: ${options}\n\n${usage}`);
    return 2;
  }
  if (options.command === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (options.command === 'version') {
    process.stdout.write(`loom ${version}\n`);
    return 0;
  }
  if (options.command === 'lookup') {
    const { runLookup } = await import('./lookup-command.js');
    return runLookup(options.addresses, options.configGiven ? resolve(options.configPath) : undefined);
  }

  if (options.command === 'outbox') {
    const { runOutbox } = await import('./outbox-command.js');
    return runOutbox(options.outboxAction ?? 'status', resolve(options.configPath), options.json);
  }

  if (options.command === 'tcp-json') {
    const { runTcpJson } = await import('./tcp-json-command.js');
    return runTcpJson(resolve(options.configPath));
  }

  let loaded: LoadResult;
  let generated: { sensorId: string; token: string } | undefined;
  try {
    if (options.dev) {
      ({ result: loaded, generated } = developmentConfig(process.env));
    } else {
      loaded = await loadConfigFile(resolve(options.configPath), process.env);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config: ${error.message}\n`);
    return 1;
  }

  if (options.command === 'check-config') {
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
    process.stdout.write(formatEffectiveConfig(loaded.config));
    process.stderr.write(`config ${loaded.config.source_path ?? '(development default)'} is valid\n`);
    return 0;
  }

  const { config } = loaded;
  const logger = createLogger(config.logging);
  for (const warning of loaded.warnings) logger.warn({ config: config.source_path }, warning);
  let admin: { token: string; generated: boolean } | undefined;
  if (options.dev) {
    // The service reads the dashboard's token from the environment, as in production.
    admin = developmentAdminToken(process.env);
    process.env.LOOM_ADMIN_TOKEN = admin.token;
  }
  if (generated !== undefined) printDevelopmentBanner(config.server.listen_address, config.server.management_listen_address, generated, admin);
  else if (admin?.generated === true) process.stderr.write(`\nDashboard: http://${config.server.management_listen_address}/   user admin, password ${admin.token}   (generated for this run only)\n\n`);

  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    logger.fatal(error instanceof Error ? error.message : String(error));
    logger.flush();
    return 1;
  }
  let sensor: DevelopmentSensor | undefined;
  if (generated !== undefined) {
    sensor = await startDevelopmentSensor(config.server.listen_address, generated.sensorId, generated.token, logger)
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'the development sensor did not start');
        return undefined;
      });
  }

  return runUntilStopped(logger, {
    stop: async () => {
      const [clean] = await Promise.all([service.stop(), sensor?.stop()]);
      logger.info({ clean }, 'stopped');
      return 0;
    },
    reload: () => service.reload(),
    reloadDescription: 'reloading tokens and reopening output files',
  });
}

function printDevelopmentBanner(ingest: string, management: string, dev: { sensorId: string; token: string }, admin: { token: string; generated: boolean } | undefined): void {
  const url = `http://${ingest}/api/v1/ingest`;
  const dashboard = admin === undefined ? '' : `  dashboard   http://${management}/   user admin, password ${admin.generated ? `${admin.token}   (generated for this run only)` : '$LOOM_ADMIN_TOKEN'}
`;
  const [ssh, telnet, web] = developmentSensorPorts;
  const host = ingest.slice(0, ingest.lastIndexOf(':'));
  process.stderr.write(`
Loom is running in development mode (embedded default config, no TLS, loopback only).
  ingest      ${url}
  management  http://${management}/health  /ready  /metrics
${dashboard}  sensor id   ${dev.sensorId}
  token       ${dev.token}   (generated for this run only; shown once)

A local Spip sensor delivers to it; knock on it and watch the dashboard:
  curl http://${host}:${web}/admin     nc ${host} ${telnet}     ssh -p ${ssh} root@${host}

Send a first event:
  curl -i ${url} -H 'Content-Type: application/json' -H 'Authorization: Bearer ${dev.token}' \\
    -d '[{"@timestamp":"${new Date().toISOString()}","source":{"ip":"89.160.20.112","port":40522},"destination":{"ip":"203.0.113.10","port":22},"network":{"transport":"tcp"}}]'

`);
}
