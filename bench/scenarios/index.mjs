// Every benchmark scenario, in the order they run. A scenario is an object with
// { name, description, kind, unit?, target?, setup(options), run(options), teardown() }.
// `unit` names what an ingest scenario counts ('event' unless said otherwise, e.g. 'flow').
// `target` is what the scenario must reach, and the only place a target is written down:
// { eventsPerSecond | connectionsPerSecond: at least this many, p99Ms?: p99 latency below
// this, relativeTo?: { scenario, ratio } }. With relativeTo the rate target becomes that share
// of the other scenario's rate in the same run, and the written figure stands when the other
// did not run. No target: the scenario is measured, not judged. `kind` picks the table its
// figures go to (see ../lib/report.mjs):
//   'ingest'      Loom's ingest API under wrk; run() resolves to { eventsPerSecond, requestsPerSecond,
//                 latencyMs: {p50, p99}, cpuPercent, cpuMicrosecondsPerEvent, peakRssBytes,
//                 loadGeneratorCpuPercent, otherCpuPercent, non2xx, socketErrors, details };
//   'connections' Spip under short connections; { connectionsPerSecond, latencyMs, cpuPercent,
//                 cpuMicrosecondsPerConnection, peakRssBytes, loomCpuPercent, loadGeneratorCpuPercent,
//                 otherCpuPercent, failed, delivered: {events, connections, ratio}, details };
//   'idle'        Spip holding idle connections; { idleConnections, rssBeforeBytes, rssAfterBytes,
//                 bytesPerConnection, heapBytesPerConnection, probe: {answered, of, p50Ms}, details };
//   'stages'      enrichment stages on one thread, without HTTP; { stages: [rows of
//                 lib/enrichment-stages.mjs] }.
// New inputs, enrichment stages, outputs or sensor protocols add one entry here.
import enrichmentStages from './enrichment-stages.mjs';
import ingestClickhouse from './ingest-clickhouse.mjs';
import ingestEnriched from './ingest-enriched.mjs';
import ingestEnrichedRisk from './ingest-enriched-risk.mjs';
import ingestGzip from './ingest-gzip.mjs';
import ingestHttp from './ingest-http.mjs';
import ingestHttpProcesses from './ingest-http-processes.mjs';
import ingestHttps from './ingest-https.mjs';
import netflowV9 from './netflow-v9.mjs';
import spipHttpProbe from './spip-http-probe.mjs';
import spipIdleMemory from './spip-idle-memory.mjs';
import spipSshBanner from './spip-ssh-banner.mjs';
import spipTlsClientHello from './spip-tls-clienthello.mjs';
import tcpJson from './tcp-json.mjs';

export const scenarios = [ingestHttp, ingestHttpProcesses, ingestHttps, ingestGzip, ingestEnriched, ingestEnrichedRisk, ingestClickhouse, enrichmentStages, netflowV9, spipHttpProbe, spipTlsClientHello, spipSshBanner, spipIdleMemory, tcpJson];
