import type { LoomConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import type { SharedState } from '../shared-state/redis.js';
import type { EventSubmitter } from './submitter.js';

/** A listener or reader that turns what it receives into events for the pipeline. */
export interface Input {
  /** As in metrics and logs: "netflow", "zeek", "tcp_json". */
  readonly name: string;
  /** Binds its socket or opens its files; a failure is a startup error naming the key. */
  start(): Promise<void>;
  /** Stops receiving, lets what it accepted finish (or be refused cleanly), releases resources. */
  stop(): Promise<void>;
  /** SIGHUP: reopen files, reload lists. Optional. */
  reload?(): Promise<void>;
}

/** What every input gets from the service. */
export interface InputDeps {
  config: LoomConfig;
  submitter: EventSubmitter;
  metrics: Metrics;
  logger: Logger;
  /** Redis shared by several Loom instances ([shared_state]); undefined when each keeps its own state. */
  sharedState?: SharedState | undefined;
}
