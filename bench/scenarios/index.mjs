// Every benchmark scenario, in the order they run. A scenario is an object with
// { name, description, kind, target?, setup(options), run(options), teardown() }. `kind`
// picks the summary table its figures go to (see ../lib/report.mjs):
//   'ingest'      Loom's ingest API under wrk; run() resolves to { eventsPerSecond, requestsPerSecond,
//                 latencyMs: {p50, p99}, cpuPercent, cpuMicrosecondsPerEvent, peakRssBytes,
//                 loadGeneratorCpuPercent, otherCpuPercent, non2xx, socketErrors, details };
//   'connections' Spip under short connections; { connectionsPerSecond, latencyMs, cpuPercent,
//                 cpuMicrosecondsPerConnection, peakRssBytes, loomCpuPercent, loadGeneratorCpuPercent,
//                 otherCpuPercent, failed, delivered: {events, connections, ratio}, details };
//   'idle'        Spip holding idle connections; { idleConnections, rssBeforeBytes, rssAfterBytes,
//                 bytesPerConnection, heapBytesPerConnection, probe: {answered, of, p50Ms}, details }.
// New inputs, enrichment stages, outputs or sensor protocols add one entry here.
import ingestEnriched from './ingest-enriched.mjs';
import ingestGzip from './ingest-gzip.mjs';
import ingestHttp from './ingest-http.mjs';
import ingestHttps from './ingest-https.mjs';
import spipHttpProbe from './spip-http-probe.mjs';
import spipIdleMemory from './spip-idle-memory.mjs';
import spipSshBanner from './spip-ssh-banner.mjs';
import spipTlsClientHello from './spip-tls-clienthello.mjs';

export const scenarios = [ingestHttp, ingestHttps, ingestGzip, ingestEnriched, spipHttpProbe, spipTlsClientHello, spipSshBanner, spipIdleMemory];
