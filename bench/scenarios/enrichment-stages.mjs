import { runStages } from '../lib/enrichment-stages.mjs';

// Single-thread CPU cost per event of each enrichment stage (parse, enrich, serialise), without
// HTTP or the load generator: the figure to compare when working on enrichment.
export default {
  name: 'enrichment-stages',
  description: 'one decode thread\'s CPU per event with each set of enrichment stages',
  kind: 'stages',
  async setup() {},
  async run(options) {
    const stages = await runStages({ rounds: options.stageRounds, nodeArgs: options.loomNodeArgs });
    // One busy thread whose passes took longer than the CPU it got was waiting for a core that
    // other processes had: the runner's note about other load goes by this figure.
    const otherCpuPercent = Math.max(...stages.map((s) => (s.wallMicrosecondsPerEvent / s.cpuMicrosecondsPerEvent - 1) * 100));
    return { stages, otherCpuPercent };
  },
  async teardown() {},
};
