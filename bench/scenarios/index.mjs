// Every benchmark scenario, in the order they run. A scenario is an object with
// { name, description, target?, setup(options), run(options), teardown() }; run() resolves to
// { eventsPerSecond, requestsPerSecond, latencyMs: {p50, p99}, cpuPercent, cpuMicrosecondsPerEvent,
//   peakRssBytes, loadGeneratorCpuPercent, otherCpuPercent, non2xx, socketErrors, details }.
// New inputs, enrichment stages or outputs add one entry here.
import ingestGzip from './ingest-gzip.mjs';
import ingestHttp from './ingest-http.mjs';
import ingestHttps from './ingest-https.mjs';

export const scenarios = [ingestHttp, ingestHttps, ingestGzip];
