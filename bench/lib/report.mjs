// How the runner reports each kind of scenario: the line printed when it finishes, its table,
// the notes under that table, and the problems that make a run's figures invalid. Loom's
// ingest counts events, Spip counts connections, and the idle scenario counts bytes, so each
// kind has its own columns; one summary table at the end puts the headline figure of every
// scenario next to its target.

import { tableLines } from '../../scripts/lib/runner.mjs';

const fmtInt = (n) => (n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n === undefined ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtMiB = (bytes) => (bytes === undefined ? '-' : `${Math.round(bytes / 2 ** 20)} MiB`);
const fmtPct = (n) => (n === undefined ? '-' : n.toFixed(0));

const unitOf = (r) => r.unit ?? 'event';

/**
 * A scenario's target (see ../scenarios/index.mjs) as text, and whether the result meets it;
 * undefined for a scenario without one. A relative target reads the other scenario's result
 * among `results`, and falls back to the written figure when that one did not run.
 */
export function targetVerdict(r, results) {
  const target = r.target;
  if (target === undefined) return undefined;
  const parts = [];
  let met = true;
  const rate = (wanted, measured, unit) => {
    const relativeTo = target.relativeTo;
    const reference = results.find((other) => other.name === relativeTo?.scenario && other.error === undefined);
    if (reference !== undefined) {
      wanted = relativeTo.ratio * reference.eventsPerSecond;
      parts.push(`≥ ${(relativeTo.ratio * 100).toFixed(0)} % of ${reference.name} (${fmtInt(wanted)} ${unit})`);
    } else {
      parts.push(`≥ ${fmtInt(wanted)} ${unit}`);
    }
    if (!(measured >= wanted)) met = false;
  };
  if (target.eventsPerSecond !== undefined) rate(target.eventsPerSecond, r.eventsPerSecond, `${unitOf(r)}s/s`);
  if (target.connectionsPerSecond !== undefined) rate(target.connectionsPerSecond, r.connectionsPerSecond, 'conn/s');
  if (target.p99Ms !== undefined) {
    parts.push(`p99 < ${fmtInt(target.p99Ms)} ms`);
    if (!(r.latencyMs?.p99 < target.p99Ms)) met = false;
  }
  return { text: parts.join(', '), met: r.error === undefined && met };
}

const metCell = (verdict) => (verdict === undefined ? '—' : verdict.met ? 'met' : 'MISSED');

const ingest = {
  title: 'Loom ingest (wrk, keep-alive)',
  header: ['scenario', 'events/s', 'requests/s', 'p50 ms', 'p99 ms', 'Loom CPU %', 'CPU µs/event', 'Loom peak RSS', 'wrk CPU %', 'non-2xx'],
  row: (r) => [
    r.name,
    fmtInt(r.eventsPerSecond),
    fmtInt(r.requestsPerSecond),
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p99),
    fmtPct(r.cpuPercent),
    r.cpuMicrosecondsPerEvent === undefined ? '-' : r.cpuMicrosecondsPerEvent.toFixed(1),
    fmtMiB(r.peakRssBytes),
    fmtPct(r.loadGeneratorCpuPercent),
    `${r.non2xx}${r.socketErrors > 0 ? ` (+${r.socketErrors} socket)` : ''}`,
  ],
  failedRow: (r) => [r.name, 'FAILED', ...Array(8).fill('-')],
  summary: (r) => `${fmtInt(r.eventsPerSecond)} ${unitOf(r)}s/s${r.non2xx + r.socketErrors > 0 ? `, ${r.non2xx + r.socketErrors} FAILED REQUESTS` : ''}`,
  notes: [
    'CPU % is of one core (all threads summed): the machine has 200 %, shared by Loom and wrk.',
    'CPU µs/event: Loom CPU time per acknowledged event, the figure least disturbed by other load.',
  ],
  // Scenarios held against another one in the same run (the enrichment target), one line each.
  comparisons(results) {
    const lines = [];
    for (const r of results) {
      const relativeTo = r.target?.relativeTo;
      const reference = results.find((other) => other.name === relativeTo?.scenario && other.error === undefined);
      if (r.error !== undefined || reference === undefined) continue;
      const share = r.eventsPerSecond / reference.eventsPerSecond;
      const cpu = r.cpuMicrosecondsPerEvent / reference.cpuMicrosecondsPerEvent - 1;
      lines.push(`${r.name}: ${(share * 100).toFixed(1)} % of ${reference.name}'s events/s (target: at least ${(relativeTo.ratio * 100).toFixed(0)} %, ${share >= relativeTo.ratio ? 'met' : 'MISSED'}); CPU µs/event ${cpu >= 0 ? '+' : ''}${(cpu * 100).toFixed(1)} %`);
    }
    return lines;
  },
  problems(r) {
    const out = [];
    if (r.non2xx > 0) {
      const byStatus = Object.entries(r.details.statuses ?? {}).filter(([status]) => !status.startsWith('2')).map(([status, n]) => `${status}: ${n}`).join(', ');
      out.push(`${r.non2xx} responses were not 2xx${byStatus ? ` (${byStatus})` : ''}; its throughput figure counts only the 2xx ones`);
    }
    if (r.socketErrors > 0) out.push(`${r.socketErrors} socket errors (${JSON.stringify(r.details.socket_errors)})`);
    if (r.details?.warmup.non2xx > 0 || r.details?.warmup.socket_errors > 0) {
      out.push(`${r.details.warmup.non2xx} non-2xx responses and ${r.details.warmup.socket_errors} socket errors during the warm-up`);
    }
    for (const l of r.details?.log_problems ?? []) out.push(`Loom logged: ${l}`);
    return out;
  },
};

const connections = {
  title: 'Spip, short connections (bench/lib/connect-load.mjs), shipping to Loom',
  header: ['scenario', 'conn/s', 'p50 ms', 'p99 ms', 'Spip CPU %', 'CPU µs/conn', 'Spip peak RSS', 'Loom CPU %', 'client CPU %', 'failed', 'delivered to Loom'],
  row: (r) => [
    r.name,
    fmtInt(r.connectionsPerSecond),
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p99),
    fmtPct(r.cpuPercent),
    fmtInt(r.cpuMicrosecondsPerConnection),
    fmtMiB(r.peakRssBytes),
    fmtPct(r.loomCpuPercent),
    fmtPct(r.loadGeneratorCpuPercent),
    fmtInt(r.failed),
    `${fmtInt(r.delivered.events)} (${(r.delivered.ratio * 100).toFixed(r.delivered.ratio === 1 ? 0 : 2)} %)`,
  ],
  failedRow: (r) => [r.name, 'FAILED', ...Array(9).fill('-')],
  summary: (r) => `${fmtInt(r.connectionsPerSecond)} connections/s, ${fmtInt(r.delivered.events)} of ${fmtInt(r.delivered.connections)} events in Loom${r.failed > 0 ? `, ${r.failed} FAILED CONNECTIONS` : ''}`,
  notes: [
    'Latency: from connect() to the close of the connection, as the client sees it. CPU % as above; Spip,',
    'Loom and the load generator share the 200 %. CPU µs/conn: Spip CPU time per connection.',
    'delivered: events Loom acknowledged (loom_ingest_events_total) for every connection made, warm-up included.',
  ],
  problems(r) {
    const out = [];
    if (r.failed > 0) out.push(`${r.failed} connections were not answered (socket errors: ${JSON.stringify(r.details.socket_errors)}, warm-up: ${JSON.stringify(r.details.warmup.socket_errors)})`);
    const { events, connections: made, ratio } = r.delivered;
    if (ratio < 0.99) out.push(`Loom received ${events} events for ${made} connections (${(ratio * 100).toFixed(1)} %); shipper drops: ${JSON.stringify(r.details.spip_shipper_dropped)}`);
    if (events > made) out.push(`Loom received ${events - made} more events than connections were made: duplicates`);
    const recorded = r.details.spip_actions?.[r.details.expected_action] ?? 0;
    if (recorded < 0.99 * made) out.push(`Spip recorded only ${recorded} of ${made} connections as "${r.details.expected_action}" (${JSON.stringify(r.details.spip_actions)})`);
    for (const l of r.details?.log_problems ?? []) out.push(`logged: ${l}`);
    return out;
  },
};

const idle = {
  title: 'Spip, idle connections',
  header: ['scenario', 'idle conns', 'RSS before', 'RSS after', 'bytes/conn (RSS)', 'bytes/conn (JS heap)', 'probe answered', 'probe p50 ms', 'Spip CPU % idle'],
  row: (r) => [
    r.name,
    fmtInt(r.idleConnections),
    fmtMiB(r.rssBeforeBytes),
    fmtMiB(r.rssAfterBytes),
    fmtInt(r.bytesPerConnection),
    fmtInt(r.heapBytesPerConnection),
    `${r.probe.answered}/${r.probe.of}`,
    fmtMs(r.probe.p50Ms),
    r.cpuPercent.toFixed(1),
  ],
  failedRow: (r) => [r.name, 'FAILED', ...Array(7).fill('-')],
  summary: (r) => `${fmtInt(r.idleConnections)} idle connections, ${fmtInt(r.bytesPerConnection)} bytes each, ${r.probe.answered}/${r.probe.of} probes answered`,
  notes: [
    'bytes/conn: growth of Spip\'s resident set (VmRSS) and of its used JS heap, divided by the idle connections;',
    'kernel socket buffers are not included. Probes: HTTP probes sent one by one while the connections are open.',
  ],
  problems(r) {
    const out = [];
    if (r.idleConnections < r.details.requested) out.push(`Spip held only ${r.idleConnections} of ${r.details.requested} idle connections`);
    if (r.probe.answered < r.probe.of) out.push(`Spip answered only ${r.probe.answered} of ${r.probe.of} HTTP probes while holding the idle connections`);
    if (r.details.closed_by_spip_while_measured > 0) out.push(`Spip closed ${r.details.closed_by_spip_while_measured} idle connections during the measurement`);
    for (const l of r.details?.log_problems ?? []) out.push(`logged: ${l}`);
    return out;
  },
};

// One row per set of enrichment stages (lib/enrichment-stages.mjs) rather than per scenario.
const stages = {
  title: 'Enrichment stages, one thread (parse, enrich, serialise; bench/lib/enrichment-stages.mjs)',
  header: ['stages on', 'CPU µs/event', 'added', 'range', 'wall µs/event', 'output bytes/event', 'intel matched', 'output SHA-256'],
  rows: (r) => r.stages.map((s) => {
    const none = r.stages.find((other) => other.name === 'none');
    return [
      s.label,
      s.cpuMicrosecondsPerEvent.toFixed(2),
      none === undefined || s === none ? '-' : (s.cpuMicrosecondsPerEvent - none.cpuMicrosecondsPerEvent).toFixed(2),
      s.cpuMicrosecondsPerEventRange.map((n) => n.toFixed(2)).join('–'),
      s.wallMicrosecondsPerEvent.toFixed(2),
      fmtInt(s.outputBytesPerEvent),
      `${(s.intelMatchedShare * 100).toFixed(2)} %`,
      s.outputSha256.slice(0, 16),
    ];
  }),
  failedRow: (r) => [r.name, 'FAILED', ...Array(6).fill('-')],
  summary: (r) => r.stages.map((s) => `${s.name} ${s.cpuMicrosecondsPerEvent.toFixed(2)}`).join(', ').concat(' µs/event'),
  notes: [
    'CPU µs/event: median over the measured passes (range: fastest and slowest) of the process\'s CPU time, GC',
    'helper threads included, per event of 200 bodies × 100 events; each set of stages runs in its own process.',
    'Equal SHA-256 for a set of stages on two commits: byte-identical output for the whole load.',
  ],
  problems: () => [],
};

export const layouts = { ingest, connections, idle, stages };

/** The text after "<name>: <description> ... " once a scenario has finished. */
export function summaryLine(result) {
  return layouts[result.kind].summary(result);
}

function printTable(title, header, rows, leftAligned = [0]) {
  console.log(`\n${title}\n\n${tableLines(header, rows, leftAligned).join('\n')}`);
}

/** One table per kind of scenario that ran, in the order the kinds first appear. */
export function printTables(results) {
  const kinds = [...new Set(results.map((r) => r.kind))];
  for (const kind of kinds) {
    const layout = layouts[kind];
    const rows = results.filter((r) => r.kind === kind).flatMap((r) => (r.error !== undefined ? [layout.failedRow(r)] : layout.rows?.(r) ?? [layout.row(r)]));
    printTable(layout.title, layout.header, rows);
    console.log(`\n${layout.notes.join('\n')}`);
    const comparisons = layout.comparisons?.(results.filter((r) => r.kind === kind)) ?? [];
    if (comparisons.length > 0) console.log(`\n${comparisons.join('\n')}`);
  }
}

/** Everything that makes a run's figures invalid, one line each, prefixed with the scenario. */
export function collectProblems(results) {
  const problems = [];
  for (const r of results) {
    if (r.error !== undefined) problems.push(`${r.name}: failed: ${r.error.split('\n')[0]}`);
    if (r.teardownError !== undefined) problems.push(`${r.name}: teardown failed: ${r.teardownError.split('\n')[0]}`);
    if (r.error === undefined) for (const p of layouts[r.kind].problems(r)) problems.push(`${r.name}: ${p}`);
  }
  return problems;
}

const cpuCell = (percent, micros, per) => `${fmtPct(percent)} %${micros === undefined || Number.isNaN(micros) ? '' : ` (${micros.toFixed(1)} µs/${per})`}`;

/** The headline figures of one scenario: [rate, p50 ms, p99 ms, CPU, peak RSS]. */
function headline(r) {
  switch (r.kind) {
    case 'ingest':
      return [`${fmtInt(r.eventsPerSecond)} ${unitOf(r)}s/s`, fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p99), cpuCell(r.cpuPercent, r.cpuMicrosecondsPerEvent, unitOf(r)), fmtMiB(r.peakRssBytes)];
    case 'connections':
      return [`${fmtInt(r.connectionsPerSecond)} conn/s`, fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p99), cpuCell(r.cpuPercent, r.cpuMicrosecondsPerConnection, 'conn'), fmtMiB(r.peakRssBytes)];
    case 'idle':
      return [`${fmtInt(r.idleConnections)} idle conns, ${fmtInt(r.bytesPerConnection)} B/conn`, fmtMs(r.probe.p50Ms), '-', `${r.cpuPercent.toFixed(1)} % idle`, fmtMiB(r.peakRssBytes)];
    case 'stages': {
      const all = r.stages.find((s) => s.name === 'all') ?? r.stages.at(-1);
      const none = r.stages.find((s) => s.name === 'none');
      return ['-', '-', '-', `${none === undefined ? '' : `${none.cpuMicrosecondsPerEvent.toFixed(2)} µs/event bare, `}${all.cpuMicrosecondsPerEvent.toFixed(2)} with ${all.name}`, '-'];
    }
    default:
      return ['-', '-', '-', '-', '-'];
  }
}

/**
 * The last table of a run: every scenario's headline figures, its target and whether the run
 * met it. "other load" is the CPU that processes outside the scenario used meanwhile (% of one
 * core), which lowers every other figure in the row.
 */
export function printSummary(results) {
  const header = ['scenario', 'rate', 'p50 ms', 'p99 ms', 'CPU % of a core', 'peak RSS', 'other load %', 'target', 'result'];
  const rows = results.map((r) => {
    const verdict = targetVerdict(r, results);
    const figures = r.error === undefined ? headline(r) : ['FAILED', '-', '-', '-', '-'];
    const other = r.error === undefined && r.otherCpuPercent !== undefined ? fmtPct(Math.max(0, r.otherCpuPercent)) : '-';
    return [r.name, ...figures, other, verdict?.text ?? '—', r.error !== undefined ? 'FAILED' : metCell(verdict)];
  });
  printTable('Summary', header, rows, [0, 7, 8]);
  console.log('\nCPU: the measured process, all threads, in % of one core (the machine has 200 %); µs per event, flow,');
  console.log('message or connection in brackets. Scenarios without a target are measured, not judged.');
}
