import { ingestScenario } from '../lib/ingest.mjs';

export default ingestScenario({
  name: 'ingest-https',
  description: 'as ingest-http, over TLS (self-signed P-256 certificate)',
  tls: true,
  target: { eventsPerSecond: 120_000 },
});
