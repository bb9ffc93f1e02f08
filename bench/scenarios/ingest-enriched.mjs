import { ingestScenario } from '../lib/ingest.mjs';

// The enrichment target: with GeoIP, ASN and threat intel on, ingest is at most 15 % below plain
// ingest (ingest-http) in the same run; 102,000 is 85 % of plain ingest's own target when
// ingest-http does not run.
export default ingestScenario({
  name: 'ingest-enriched',
  description: 'as ingest-http, with bundled GeoIP and ASN and a 100,000-CIDR intel list',
  enrichment: { risk: false },
  target: { eventsPerSecond: 102_000, relativeTo: { scenario: 'ingest-http', ratio: 0.85 } },
});
