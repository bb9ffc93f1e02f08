import type { Input, InputDeps } from '../input.js';
import { TcpJsonService } from './service.js';
import { loadTcpJsonSettings } from './settings.js';

/** JSON text an ECS event adds around a message when forwarded (server fields, event, network). */
const ECS_OVERHEAD_BYTES = 512;

/**
 * [inputs.tcp_json]: the TCP JSON logging protocol inside Loom, run from its own
 * config.json exactly as `loom tcp-json` runs it, with its metrics in Loom's registry and,
 * with forward = true, every accepted message also delivered through enrichment and the
 * outputs before the client hears "success".
 */
export function createTcpJsonInput(deps: InputDeps): Input {
  const { config, logger } = deps;
  const { config_file: file, forward } = config.inputs.tcp_json;
  let service: TcpJsonService | undefined;
  return {
    name: 'tcp_json',
    async start() {
      let settings;
      try {
        settings = await loadTcpJsonSettings(file);
      } catch (error) {
        throw new Error(`inputs.tcp_json.config_file: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      if (settings.logfile === undefined && !forward) {
        throw new Error(`inputs.tcp_json.config_file: ${settings.file}: logfile_settings: required unless inputs.tcp_json.forward = true`);
      }
      const eventLimit = config.limits.max_event_size_bytes;
      if (forward && settings.protocol.maxMessageBytes + ECS_OVERHEAD_BYTES > eventLimit) {
        throw new Error(`inputs.tcp_json.config_file: ${settings.file}: protocol_settings.max_message_bytes (${settings.protocol.maxMessageBytes}) plus ${ECS_OVERHEAD_BYTES} bytes of ECS fields must fit limits.max_event_size_bytes (${eventLimit}) when inputs.tcp_json.forward = true`);
      }
      try {
        service = await TcpJsonService.start({
          settings,
          logger,
          input: 'tcp_json',
          registry: deps.metrics.registry,
          loomMetrics: deps.metrics,
          ...(forward ? { forward: deps.submitter } : {}),
          sharedState: deps.sharedState,
        });
      } catch (error) {
        throw new Error(`inputs.tcp_json: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      logger.info({ address: service.address.address, port: service.address.port, forward, config_file: settings.file }, 'tcp_json input listening');
    },
    async stop() {
      // Loom's own shutdown deadline cuts off whatever is left after this one.
      await service?.stop(10_000);
      service = undefined;
    },
    async reload() {
      await service?.reload();
    },
  };
}
