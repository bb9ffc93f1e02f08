import { ConfigError } from './config/types.js';
import { createLogger, type Logger } from './logging.js';
import { SharedState } from './shared-state/redis.js';
import { runUntilStopped } from './signals.js';
import { TcpJsonService } from './sources/tcp-json/service.js';
import { loadTcpJsonSettings, TcpJsonConfigError, type TcpJsonSettings } from './sources/tcp-json/settings.js';

/** How long SIGTERM waits for messages already read to be stored and answered. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * `loom tcp-json [-config FILE]`: the TCP JSON logging service on its own, configured only
 * by its config.json (no loom.toml, no tokens). Resolves to the exit status.
 */
export async function runTcpJson(configPath: string): Promise<number> {
  let settings: TcpJsonSettings;
  try {
    settings = await loadTcpJsonSettings(configPath);
  } catch (error) {
    if (!(error instanceof TcpJsonConfigError)) throw error;
    process.stderr.write(`config: ${error.message}\n`);
    return 1;
  }
  const logger = createLogger({ level: 'info', format: 'json' });
  let sharedState: SharedState | undefined;
  try {
    sharedState = sharedStateFromEnv(process.env, logger);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config: ${error.message}\n`);
    return 1;
  }
  let service: TcpJsonService;
  try {
    service = await TcpJsonService.start({ settings, logger, input: 'tcp_json', sharedState });
  } catch (error) {
    await sharedState?.close();
    logger.fatal(error instanceof Error ? error.message : String(error));
    logger.flush();
    return 1;
  }
  logger.info({ address: service.address.address, port: service.address.port, config: settings.file }, 'tcp-json listening');

  return runUntilStopped(logger, {
    // As for Loom: a shutdown that had to cut connections off is logged ("tcp-json stopped", clean: false), not an error exit.
    stop: () => service.stop(SHUTDOWN_DEADLINE_MS).then(() => sharedState?.close()).then(() => 0),
    reload: () => service.reload(),
    reloadDescription: 'reopening the logfile and the error log',
  });
}

/**
 * The standalone command has no loom.toml: several of them (or they and Loom's tcp_json
 * inputs) share strikes and blacklists through the Redis named by LOOM_REDIS_URL, with the
 * password in LOOM_REDIS_PASSWORD, the CA bundle in LOOM_REDIS_CA_FILE and the key prefix
 * in LOOM_REDIS_KEY_PREFIX (default "loom:", as in [shared_state]).
 */
function sharedStateFromEnv(env: NodeJS.ProcessEnv, logger: Logger): SharedState | undefined {
  return SharedState.create({
    redis_url: env.LOOM_REDIS_URL ?? '',
    redis_password_env: (env.LOOM_REDIS_PASSWORD ?? '') === '' ? '' : 'LOOM_REDIS_PASSWORD',
    key_prefix: env.LOOM_REDIS_KEY_PREFIX ?? 'loom:',
    timeout_ms: 250,
    ca_file: env.LOOM_REDIS_CA_FILE ?? '',
  }, { logger, env, keys: { url: 'LOOM_REDIS_URL', passwordEnv: 'LOOM_REDIS_PASSWORD', caFile: 'LOOM_REDIS_CA_FILE', passwordHint: 'put it in LOOM_REDIS_PASSWORD' } });
}
