import type { Reader } from '../../config/reader.js';
import type { TableSpec } from '../../config/schema.js';

/** [inputs.zeek]: Zeek JSON logs, tailed from files (NDJSON posted over HTTP needs no switch). */
export interface ZeekConfig {
  enabled: boolean;
}

export const zeekSpec: TableSpec = {
  enabled: 'boolean',
};

export function decodeZeekConfig(read: Reader, key = 'inputs.zeek'): ZeekConfig {
  return {
    enabled: read.bool(`${key}.enabled`, false),
  };
}
