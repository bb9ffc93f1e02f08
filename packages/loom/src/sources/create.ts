import type { Input, InputDeps } from './input.js';

/** The inputs the config enables, besides the HTTP ingest API (which the service runs itself). */
export function createInputs(deps: InputDeps): Input[] {
  const inputs: Input[] = [];
  const { inputs: config } = deps.config;
  // Each enabled input adds itself here; none is enabled by default.
  void config;
  return inputs;
}
