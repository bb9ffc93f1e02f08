import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LoggingConfig } from './config/types.js';

export type { Logger } from 'pino';

/**
 * Operator diagnostics go to stderr: stdout belongs to the stdout output (events).
 * Secrets never reach a log line: tokens and bodies are not passed to the logger, and the
 * redact list is a second line of defence for headers that might be logged by mistake.
 */
export function createLogger(config: LoggingConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'token', '*.token'], censor: '<redacted>' },
  };
  if (config.format === 'console') {
    return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:standard', ignore: 'pid,hostname' }));
  }
  return pino(options, pino.destination({ dest: 2, sync: false, minLength: 0 }));
}

/**
 * Emits a warning at most once per interval per key and counts what it held back, so that
 * a flood (a sensor hammering its rate limit) produces a few lines, not one per request.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 10_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    if (!entry && this.last.size >= this.maxKeys) this.last.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed_since_last: suppressed } : fields, message);
  }
}
