import { ingestScenario } from '../lib/ingest.mjs';

export default ingestScenario({
  name: 'ingest-gzip',
  description: 'as ingest-http, bodies gzip-compressed (Content-Encoding: gzip)',
  gzip: true,
  target: { eventsPerSecond: 120_000 },
});
