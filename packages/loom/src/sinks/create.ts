import { join } from 'node:path';
import type { OutputConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../management/metrics.js';
import { ClickHouseDestination } from './clickhouse/destination.js';
import type { Destination } from './delivery.js';
import { DestinationSink } from './destination-sink.js';
import { ElasticsearchDestination, type ElasticsearchAuth } from './elasticsearch/destination.js';
import { FileSink } from './file.js';
import { SplunkHecDestination } from './splunk-hec/destination.js';
import { StdoutSink } from './stdout.js';
import type { Sink } from './types.js';

/** One sink per configured output, in config order. */
export function createSinks(outputs: readonly OutputConfig[], logger: Logger, metrics: Metrics): Sink[] {
  return outputs.map((output) => createSink(output, logger.child({ output: output.name }), metrics));
}

function createSink(output: OutputConfig, logger: Logger, metrics: Metrics): Sink {
  switch (output.type) {
    case 'stdout':
      return new StdoutSink(logger, { name: output.name });
    case 'file':
      return new FileSink(output, logger, { name: output.name });
    case 'clickhouse':
    case 'elasticsearch':
    case 'splunk_hec':
      return new DestinationSink({
        name: output.name,
        destination: createDestination(output),
        outbox: {
          enabled: output.outbox.enabled,
          dir: join(output.outbox.dir, output.name),
          maxBytes: output.outbox.max_bytes,
          whenFull: output.outbox.when_full,
          retryBackoffMs: output.outbox.retry_backoff_ms,
          retryMaxBackoffMs: output.outbox.retry_max_backoff_ms,
          // The earlier version kept ClickHouse spool files directly in outbox.dir.
          ...(output.key === 'output' && output.type === 'clickhouse' ? { importLegacyFrom: output.outbox.dir } : {}),
        },
        batchMaxEvents: output.batch_max_events,
        batchMaxBytes: output.batch_max_bytes,
        batchMaxWaitMs: output.batch_max_wait_ms,
        syncTimeoutMs: output.sync_timeout_ms,
        deadLetterMaxBytes: output.dead_letter_max_bytes,
        metrics,
        logger,
      });
  }
}

function createDestination(output: OutputConfig): Destination {
  const tls = { ...(output.ca_file === '' ? {} : { caFile: output.ca_file }), insecureSkipVerify: output.insecure_skip_verify };
  switch (output.type) {
    case 'clickhouse':
      return new ClickHouseDestination({
        url: output.clickhouse_url,
        database: output.clickhouse_database,
        table: output.clickhouse_table,
        ...(output.clickhouse_user === '' ? {} : { user: output.clickhouse_user }),
        ...(output.clickhouse_password === '' ? {} : { password: output.clickhouse_password }),
        mode: output.clickhouse_mode,
        compression: compressesFor(output, output.clickhouse_url),
        timeoutMs: output.request_timeout_ms,
        dedupToken: output.clickhouse_dedup_token,
        ...tls,
      });
    case 'elasticsearch': {
      let auth: ElasticsearchAuth | undefined;
      if (output.elasticsearch_api_key !== '') auth = { apiKey: output.elasticsearch_api_key };
      else if (output.elasticsearch_user !== '' && output.elasticsearch_pass !== '') auth = { user: output.elasticsearch_user, password: output.elasticsearch_pass };
      return new ElasticsearchDestination({
        url: output.elasticsearch_url,
        index: output.elasticsearch_index,
        action: output.elasticsearch_action,
        dataStream: output.elasticsearch_data_stream,
        documentIds: output.elasticsearch_document_ids,
        ...(auth === undefined ? {} : { auth }),
        compression: compressesFor(output, output.elasticsearch_url),
        timeoutMs: output.request_timeout_ms,
        ...(output.elasticsearch_pipeline === '' ? {} : { pipeline: output.elasticsearch_pipeline }),
        maxBulkBytes: output.elasticsearch_max_bulk_bytes,
        ...tls,
      });
    }
    case 'splunk_hec':
      return new SplunkHecDestination({
        url: output.splunk_hec_url,
        token: output.splunk_hec_token,
        ...(output.splunk_hec_index === '' ? {} : { index: output.splunk_hec_index }),
        sourcetype: output.splunk_hec_sourcetype,
        ...(output.splunk_hec_source === '' ? {} : { source: output.splunk_hec_source }),
        compression: compressesFor(output, output.splunk_hec_url) ? 'gzip' : 'none',
        timeoutMs: output.request_timeout_ms,
        ...(output.splunk_hec_host === '' ? {} : { host: output.splunk_hec_host }),
        maxRequestBytes: output.splunk_hec_max_request_bytes,
        ack: { enabled: output.splunk_hec_ack, timeoutMs: output.splunk_hec_ack_timeout_ms, pollIntervalMs: output.splunk_hec_ack_poll_interval_ms },
        ...tls,
      });
    default:
      throw new Error(`${output.key}: type "${output.type}" has no network destination`);
  }
}

/**
 * Whether to gzip request bodies. Written true or false is obeyed. Unset: yes, except to a
 * destination on a loopback address, where compressing saves no network and only costs CPU
 * on both ends (on a small host shared with ClickHouse it halves what can be delivered).
 */
export function compressesFor(output: Pick<OutputConfig, 'compression'>, url: string): boolean {
  if (output.compression !== 'auto') return output.compression;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return true;
  }
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}
