import { availableParallelism } from 'node:os';
import { ingestScenario } from '../lib/ingest.mjs';

// The same load as ingest-http, taken by one ingest process per core (server.processes = 0)
// while the primary keeps the output. On a machine with few cores the processes and the load
// generator share them, so compare CPU per event as well as the rate.
export default ingestScenario({
  name: 'ingest-http-processes',
  description: `as ingest-http, with server.processes = 0 (${availableParallelism()} ingest processes here) and the stdout output in the primary`,
  processes: 0,
});
