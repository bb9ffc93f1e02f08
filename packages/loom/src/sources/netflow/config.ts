import type { Reader } from '../../config/reader.js';
import { address } from '../../config/reader.js';
import type { TableSpec } from '../../config/schema.js';

/** [inputs.netflow]: the NetFlow v5/v9/IPFIX collector. */
export interface NetflowConfig {
  enabled: boolean;
  /** UDP host:port. */
  listen_address: string;
}

export const netflowSpec: TableSpec = {
  enabled: 'boolean',
  listen_address: 'string',
};

export function decodeNetflowConfig(read: Reader, key = 'inputs.netflow'): NetflowConfig {
  return {
    enabled: read.bool(`${key}.enabled`, false),
    listen_address: address(read, `${key}.listen_address`, ':2055'),
  };
}
