import { ingestScenario } from '../lib/ingest.mjs';

// What Loom does by default with an intel list configured: ingest-enriched plus the risk score.
// Held against the same 15 % threshold as ingest-enriched, for comparison.
export default ingestScenario({
  name: 'ingest-enriched-risk',
  description: 'as ingest-enriched, with the risk score on (the default)',
  enrichment: { risk: true },
  target: { eventsPerSecond: 102_000, relativeTo: { scenario: 'ingest-http', ratio: 0.85 } },
});
