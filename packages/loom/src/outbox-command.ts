import { join } from 'node:path';
import { loadConfigFile } from './config/load.js';
import { ConfigError, type OutputConfig } from './config/types.js';
import { inspectOutbox, type OutboxReport } from './sinks/outbox/inspect.js';

/**
 * `loom outbox status|verify [-config FILE] [--json]`: what waits in each output's outbox,
 * read from disk (safe while Loom runs). verify also checks every record's checksum and
 * exits 1 when it finds damage.
 */
export async function runOutbox(action: 'status' | 'verify', configPath: string, json: boolean): Promise<number> {
  let outputs: OutputConfig[];
  try {
    outputs = (await loadConfigFile(configPath, process.env)).config.outputs;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config: ${error.message}\n`);
    return 1;
  }
  const withOutbox = outputs.filter((output) => output.outbox.enabled);
  if (withOutbox.length === 0) {
    process.stderr.write('no output of this config has an outbox (only clickhouse, elasticsearch and splunk_hec outputs do)\n');
    return json ? (process.stdout.write('[]\n'), 0) : 0;
  }
  const reports: (OutboxReport & { output: string; type: string })[] = [];
  for (const output of withOutbox) {
    reports.push({ output: output.name, type: output.type, ...(await inspectOutbox(join(output.outbox.dir, output.name), action === 'verify')) });
  }
  if (json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else for (const report of reports) process.stdout.write(formatReport(report, action));
  const damaged = reports.some((report) => report.problems.length > 0);
  return action === 'verify' && damaged ? 1 : 0;
}

function formatReport(report: OutboxReport & { output: string; type: string }, action: string): string {
  const lines = [`output ${report.output} (${report.type}): ${report.dir}`];
  if (!report.exists) {
    lines.push('  empty (the directory does not exist yet)');
  } else {
    const age = report.oldestReceivedAt === undefined ? '-' : formatAge(Date.now() - report.oldestReceivedAt);
    lines.push(`  undelivered   ${report.events} events in ${report.records} batches; oldest received ${age} ago`);
    lines.push(`  on disk       ${report.segments} segment files, ${report.bytes} bytes`);
    const sensors = Object.entries(report.bySensor).sort((a, b) => b[1] - a[1]).slice(0, 10);
    if (sensors.length > 0) lines.push(`  by sensor     ${sensors.map(([sensor, n]) => `${sensor || '(none)'}=${n}`).join(' ')}`);
    lines.push(`  dead letters  ${report.deadLetterBytes} bytes in dead-letter.ndjson`);
    if (report.quarantined.length > 0) lines.push(`  quarantined   ${report.quarantined.join(', ')}`);
    if (action === 'verify') lines.push(report.problems.length === 0 ? '  verify        every record is intact' : `  verify        ${report.problems.length} problem(s):`);
    for (const problem of report.problems) lines.push(`    ${problem}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}
