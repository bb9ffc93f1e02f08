import { clickhouseOutput } from '../lib/clickhouse.mjs';
import { ingestScenario } from '../lib/ingest.mjs';

// The outputs target: HTTP ingest into a real ClickHouse on the same 2 cores, outbox on, at
// least 60,000 events/s sustained with p99 acknowledgement under 250 ms.
export default ingestScenario({
  name: 'ingest-clickhouse',
  description: 'as ingest-http (no enrichment), into a real ClickHouse through the outbox',
  target: { eventsPerSecond: 60_000, p99Ms: 250 },
  output: clickhouseOutput(),
});
