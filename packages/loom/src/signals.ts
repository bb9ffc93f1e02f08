import type { Logger } from './logging.js';

export interface SignalHandlers {
  /** SIGTERM or SIGINT: stop gracefully; resolves to the exit status. */
  stop(): Promise<number>;
  /** SIGHUP. */
  reload(): Promise<void>;
  /** What SIGHUP does, for the log line. */
  reloadDescription: string;
}

/**
 * Runs a long-lived command until SIGTERM or SIGINT has stopped it: resolves to the exit
 * status. A second stop signal exits at once (an operator who presses Ctrl-C twice means
 * it); SIGHUP reloads without stopping.
 */
export function runUntilStopped(logger: Logger, handlers: SignalHandlers): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        logger.flush();
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      handlers.stop().then((code) => {
        logger.flush();
        resolveExit(code);
      }, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        resolveExit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      logger.info(`SIGHUP: ${handlers.reloadDescription}`);
      handlers.reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
    });
  });
}
