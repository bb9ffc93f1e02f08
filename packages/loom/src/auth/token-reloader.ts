import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { mergeTokens, readTokenFile, tokensFromEnv } from '../config/secrets.js';
import type { LoomConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import type { TokenStore } from './token-store.js';

/**
 * Re-reads auth.token_file on SIGHUP and whenever the file changes, and swaps the token set
 * in one step. Requests already past authentication are unaffected. A reload that fails
 * (unreadable file, a sensor with two tokens) keeps the previous tokens and says why.
 *
 * The file is polled by stat rather than watched with inotify because deployments replace
 * it by rename or symlink swap (editors, Kubernetes secrets), which inotify watches lose.
 */
export class TokenReloader {
  private watching = false;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly config: LoomConfig,
    private readonly store: TokenStore,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly onSensorsChanged: (sensors: ReadonlySet<string>) => void,
    private readonly pollIntervalMs = 1000,
  ) {}

  watch(): void {
    const path = this.config.auth.token_file;
    if (path === '' || this.watching) return;
    this.watching = true;
    watchFile(path, { interval: this.pollIntervalMs, persistent: false }, this.onChange);
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    unwatchFile(this.config.auth.token_file, this.onChange);
  }

  /**
   * Reloads now. A trigger that arrives while a reload runs gets one more reload after it:
   * the running one may have read the file before the change that caused the trigger.
   * Triggers arriving meanwhile share that one.
   */
  reload(trigger: string): Promise<void> {
    if (this.running === undefined) {
      this.running = this.doReload(trigger).finally(() => (this.running = undefined));
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.reload(trigger);
    });
    return this.queued;
  }

  private readonly onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    void this.reload('token file changed');
  };

  private async doReload(trigger: string): Promise<void> {
    const path = this.config.auth.token_file;
    try {
      // Same precedence as at startup: [auth.tokens], then LOOM_SENSOR_*, then the file.
      const sources = [inlineTokens(this.config), tokensFromEnv(process.env)];
      if (path !== '') {
        const file = await readTokenFile(path);
        for (const warning of file.warnings) this.logger.warn(warning);
        sources.push(file);
      }
      const merged = mergeTokens(...sources);
      if (merged.tokens.size === 0) throw new Error('auth: no tokens configured (use token_file or LOOM_SENSOR_* env)');
      this.store.replace(merged.tokens);
      this.onSensorsChanged(new Set(merged.tokens.values()));
      this.metrics.authTokens.set(this.store.size);
      this.metrics.authReloads.inc({ result: 'ok' });
      this.logger.info({ trigger, sensors: this.store.size }, 'tokens reloaded');
    } catch (error) {
      this.metrics.authReloads.inc({ result: 'failed' });
      this.logger.error({ trigger, error: error instanceof Error ? error.message : String(error) }, 'token reload failed; keeping the previous tokens');
    }
  }
}

/** Tokens written in [auth.tokens] of the config file: they do not change until restart. */
function inlineTokens(config: LoomConfig): { tokens: Map<string, string>; origins: Map<string, string> } {
  const tokens = new Map<string, string>();
  const origins = new Map<string, string>();
  for (const [token, origin] of config.auth.token_origins) {
    if (!origin.startsWith('auth.tokens')) continue;
    const sensor = config.auth.tokens.get(token);
    if (sensor === undefined) continue;
    tokens.set(token, sensor);
    origins.set(token, origin);
  }
  return { tokens, origins };
}
