import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logging.js';
import { ThrottledLog } from '../../logging.js';
import type { Metrics } from '../../management/metrics.js';
import type { SharedState } from '../../shared-state/redis.js';
import { describeError } from '../../sinks/append-writer.js';
import type { FileSink } from '../../sinks/file.js';
import type { EventSubmitter } from '../submitter.js';
import { AbuseGuard, type AbuseSettings, type Guard } from './abuse.js';
import type { ConnectionContext } from './connection.js';
import { ErrorLog, errorLogSink, logfileSink, MessageStore, openFile } from './delivery.js';
import { MessageChecker } from './message.js';
import { registerTcpJsonMetrics, TcpJsonStats } from './metrics.js';
import { TcpJsonListener } from './server.js';
import { SharedAbuseGuard } from './shared-abuse.js';
import type { TcpJsonSettings } from './settings.js';

export interface TcpJsonServiceOptions {
  settings: TcpJsonSettings;
  logger: Logger;
  /** Name in metrics and logs. */
  input: string;
  /** Where the protocol's metrics go (Loom's registry); none for the standalone command. */
  registry?: Registry;
  /** Loom's shared metrics (loom_input_events_total, loom_input_rejected_total). */
  loomMetrics?: Metrics;
  /** Loom's pipeline, when accepted messages are forwarded to enrichment and the outputs. */
  forward?: EventSubmitter;
  /** Redis through which several instances share strikes and blacklists; none: this instance's own. */
  sharedState?: SharedState | undefined;
}

/**
 * The TCP JSON logging service, assembled from config.json: the logfile and error log,
 * the abuse guard, the message checker and the listener. The standalone `loom tcp-json`
 * command and Loom's [inputs.tcp_json] both run exactly this.
 */
export class TcpJsonService {
  private constructor(
    readonly address: AddressInfo,
    readonly stats: TcpJsonStats,
    private readonly listener: TcpJsonListener,
    private readonly files: readonly FileSink[],
    private readonly guard: Guard,
    private readonly logger: Logger,
  ) {}

  static async start(options: TcpJsonServiceOptions): Promise<TcpJsonService> {
    const { settings, logger, input, forward } = options;
    if (settings.logfile === undefined && forward === undefined) throw new Error(`${settings.file}: logfile_settings: required (the file accepted messages are written to)`);
    const { protocol, server } = settings;
    const abuse: AbuseSettings = {
      messagesPerMinute: protocol.messagesPerMinute,
      strikeThreshold: protocol.strikeThreshold,
      permanent: protocol.permanent,
      durationMs: protocol.durationSeconds * 1000,
      maxTracked: protocol.maxTrackedIps,
    };
    const guard = options.sharedState === undefined ? new AbuseGuard(abuse) : new SharedAbuseGuard(abuse, options.sharedState);
    const stats = new TcpJsonStats(input, options.loomMetrics, forward !== undefined);
    if (options.registry !== undefined) registerTcpJsonMetrics(options.registry, stats, guard);

    const files: FileSink[] = [];
    try {
      let logfile: FileSink | undefined;
      if (settings.logfile !== undefined) {
        logfile = logfileSink(settings.logfile, logger);
        await openFile(logfile, 'logfile_settings.path', settings.logfile.path);
        files.push(logfile);
      }
      let errorLog: ErrorLog | undefined;
      const errorLogPath = settings.errorHandling.errorLogPath;
      if (errorLogPath !== undefined) {
        const sink = errorLogSink(errorLogPath, logger);
        await openFile(sink, 'error_handling.error_log_path', errorLogPath);
        files.push(sink);
        errorLog = new ErrorLog(sink, errorLogPath, stats, logger);
      }
      const blacklists = new ThrottledLog(logger, 1000);
      const failures = new ThrottledLog(logger);
      const ctx: ConnectionContext = {
        guard,
        checker: new MessageChecker(protocol.schema),
        store: new MessageStore(input, logfile, forward),
        errorLog,
        stats,
        maxMessageBytes: protocol.maxMessageBytes,
        messagesPerMinute: protocol.messagesPerMinute,
        blacklistSeconds: protocol.permanent ? undefined : protocol.durationSeconds,
        preconfigured: (address) => protocol.blacklist.has(address),
        blacklisted: (address, strike) => {
          blacklists.warn('blacklist', { source_ip: address, strikes: strike.strikes, seconds: protocol.permanent ? 'until restart' : protocol.durationSeconds }, 'tcp-json: address blacklisted');
        },
        storeFailed: (error) => {
          failures.warn('store', { reason: describeError(error) }, 'tcp-json: accepted messages could not be stored; their clients were answered "internal server error"');
        },
      };
      const listener = new TcpJsonListener(ctx, {
        allowedNetworks: server.allowedNetworks,
        maxConnections: server.maxConnections,
        maxConnectionsPerIp: server.maxConnectionsPerIp,
        idleTimeoutMs: server.idleTimeoutSeconds * 1000,
      }, logger);
      const address = await listener.start(server.host, server.port);
      return new TcpJsonService(address, stats, listener, files, guard, logger);
    } catch (error) {
      for (const file of files) await file.close().catch(() => undefined);
      throw error;
    }
  }

  /** SIGHUP: reopen the logfile and the error log (after logrotate moved them). */
  async reload(): Promise<void> {
    await Promise.all(this.files.map((file) => file.reopen()));
  }

  /**
   * Stops accepting; every message already read is answered (its store finishes) before
   * its connection closes; after deadlineMs the rest is cut off. Then the files are
   * closed. Resolves true when nothing had to be cut off.
   */
  async stop(deadlineMs: number): Promise<boolean> {
    const clean = await this.listener.stop(deadlineMs);
    for (const file of this.files) await file.close().catch(() => undefined);
    this.logger.info({ messages: this.stats.messages, connections: this.stats.connections, blacklist: this.guard.counters, clean }, 'tcp-json stopped');
    return clean;
  }
}
