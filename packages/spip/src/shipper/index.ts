export { Shipper } from './shipper.js';
export type { LogFn, LogLevel, ShipperOptions, ShipperStats } from './options.js';
