import { ingestScenario } from '../lib/ingest.mjs';

export default ingestScenario({
  name: 'ingest-http',
  description: 'POST 100-event JSON batches over plain HTTP keep-alive, stdout output to /dev/null',
  target: { eventsPerSecond: 120_000 },
});
