import type { OutputConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import { FileSink } from './file.js';
import { StdoutSink } from './stdout.js';
import type { Sink } from './types.js';

/** An array because several outputs at once are planned; today the config names one. */
export function createSinks(output: OutputConfig, logger: Logger): Sink[] {
  const type: string = output.type;
  switch (output.type) {
    case 'stdout':
      return [new StdoutSink(logger.child({ sink: 'stdout' }))];
    case 'file':
      return [new FileSink(output, logger.child({ sink: 'file' }))];
    default:
      throw new Error(`output.type "${type}" is not available in this build`);
  }
}
