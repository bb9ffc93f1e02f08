import type { Input, InputDeps } from './input.js';
import { NetflowInput } from './netflow/collector.js';
import { createTcpJsonInput } from './tcp-json/input.js';
import { ZeekFileInput } from './zeek/tail/input.js';

/** The inputs the config enables, besides the HTTP ingest API (which the service runs itself). */
export function createInputs(deps: InputDeps): Input[] {
  const inputs: Input[] = [];
  const { inputs: config } = deps.config;
  // Each enabled input adds itself here; none is enabled by default.
  if (config.netflow.enabled) inputs.push(new NetflowInput(config.netflow, deps));
  if (config.zeek.enabled) inputs.push(new ZeekFileInput(deps));
  if (config.tcp_json.enabled) inputs.push(createTcpJsonInput(deps));
  return inputs;
}
