export { SplunkHecDestination } from './destination.js';
export { SPLUNK_HEC_DEFAULTS, type SplunkHecAckOptions, type SplunkHecOptions } from './options.js';
