import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  expandPorts,
  parseBatchSize,
  parseFlushInterval,
  parseListenAddress,
  parseLoomUrl,
  parseName,
  parseOptionalPath,
  parsePath,
  parsePort,
  parsePortList,
  parseSensorId,
  parseToken,
  parseTlsChoice,
  tlsChoices,
  type Parsed,
} from './answers.js';
import { certificateProblem, opensslAvailable } from './certificates.js';
import { ENV_FILE, TOKEN_VARIABLE, type ConfigAnswers, type LoomAnswers, type TlsAnswer } from './config-text.js';
import { detectSshPorts, listenAddressHints, shortHostname } from './host.js';
import type { Prompter } from './prompter.js';

const DEFAULT_LOOM_URL = 'https://loom.example.com/api/v1/ingest';

export interface Interview {
  config: ConfigAnswers;
  /** "" when Loom is not enabled. Kept apart from the config, which never holds it. */
  token: string;
  sshPorts: number[];
}

/** Asks every question; throws SetupAborted when the input ends. Nothing is written here. */
export async function interview(prompter: Prompter, configPath: string): Promise<Interview> {
  const configDir = dirname(configPath);
  const name = await prompter.ask('Sensor name (used in every event)', shortHostname(), parseName);

  const hints = listenAddressHints();
  prompter.say('Listen address: 0.0.0.0 = every IPv4 address, :: = every IPv4 and IPv6 address');
  if (hints.length > 0) prompter.say(`  addresses of this host: ${hints.map((h) => `${h.address} (${h.interfaceName})`).join(', ')}`);
  const ip = await prompter.ask('Listen address', '0.0.0.0', parseListenAddress);
  const port = await prompter.ask('Port the redirected connections go to', '8080', parsePort);
  const extraPorts = await prompter.ask('Extra ports or ranges to listen on directly, e.g. 2222,8000-8100 (empty for none)', '', parsePortList);

  const tls = await askTls(prompter);
  // Typed paths are taken relative to where setup runs, as at a shell, and written absolute so the config is unambiguous.
  const logAnswer = await prompter.ask('Event log file (empty = stdout)', '', parseOptionalPath);
  const logFile = logAnswer === '' ? '' : resolve(logAnswer);
  if (logFile !== '' && !existsSync(dirname(logFile))) prompter.say(`  note: ${dirname(logFile)} does not exist yet; create it before starting the sensor`);

  const loom = await askLoom(prompter, name, configDir);

  const detected = detectSshPorts();
  const sensorPorts = expandPorts([port, ...extraPorts]);
  const sshPorts = await prompter.ask('SSH port(s) to exclude from the redirect', detected.join(','), (text) => {
    const parsed = parsePortList(text);
    if (!parsed.ok) return parsed;
    const ports = expandPorts(parsed.value);
    return ports.length === 0 ? { ok: false, error: 'at least one port is needed, or the redirect would lock SSH out' } : { ok: true, value: ports };
  });
  const clash = sshPorts.filter((p) => sensorPorts.includes(p));
  if (clash.length > 0) prompter.say(`  warning: port ${clash.join(', ')} is both an SSH port and a sensor port; only one of them can listen there`);

  return { config: { name, ip, port, extraPorts, tls, logFile, loom: loom?.answers }, token: loom?.token ?? '', sshPorts };
}

async function askTls(prompter: Prompter): Promise<TlsAnswer> {
  prompter.say('TLS:');
  tlsChoices.forEach((choice, i) => prompter.say(`  ${i + 1}) ${choice.label}`));
  for (;;) {
    const mode = await prompter.ask('TLS', '1', parseTlsChoice);
    if (mode === 'none') return { mode };
    if (mode === 'files') return askCertificateFiles(prompter);
    if (await opensslAvailable()) return { mode };
    prompter.say(
      mode === 'generate-now'
        ? '  the openssl command is not available, so no certificate can be generated; choose another option'
        : '  the openssl command is not available, and the sensor needs it at every start; choose another option',
    );
  }
}

async function askCertificateFiles(prompter: Prompter): Promise<TlsAnswer> {
  for (;;) {
    const certPath = resolve(await prompter.ask('Certificate file (PEM)', undefined, parsePath));
    const keyPath = resolve(await prompter.ask('Private key file (PEM, unencrypted)', undefined, parsePath));
    const problem = certificateProblem(certPath, keyPath);
    if (problem === undefined) return { mode: 'files', certPath, keyPath };
    prompter.say(`  ${problem}`);
    // The files may be readable only by the account the sensor runs as, or not issued yet.
    if (await prompter.confirm('Use these paths anyway?', false)) return { mode: 'files', certPath, keyPath };
  }
}

async function askLoom(prompter: Prompter, name: string, configDir: string): Promise<{ answers: LoomAnswers; token: string } | undefined> {
  if (!(await prompter.confirm('Ship events to Loom?', false))) return undefined;
  const url = await prompter.ask('Loom ingest URL', DEFAULT_LOOM_URL, parseLoomUrl);
  const https = url.toLowerCase().startsWith('https:');
  if (!https) prompter.say('  note: with http:// the token and the events cross the network unencrypted');
  const sensorId = await prompter.ask('Sensor id (as registered in Loom)', name, parseSensorId);
  const token = await prompter.secret('Loom token (not shown; empty to skip Loom for now)', parseToken);
  if (token === '') {
    prompter.say('  no token: Loom shipping is left disabled. Run setup again, or edit [loom] and set SPIP_LOOM_TOKEN, once you have one.');
    return undefined;
  }
  const envPath = join(configDir, ENV_FILE);
  prompter.say(`  the token is never written to the config; the sensor reads it from ${TOKEN_VARIABLE}`);
  const tokenInEnvFile = await prompter.confirm(`Write ${TOKEN_VARIABLE} to ${envPath} (mode 0600)?`, false);
  const batchSize = await prompter.ask('Batch size (events per request)', '50', parseBatchSize);
  const flushInterval = await prompter.ask('Flush interval', '10s', parseFlushInterval);
  const verifyTls = https ? await prompter.confirm("Verify Loom's TLS certificate?", true) : true;
  const defaultSpool = join(configDir, 'spool');
  const spoolDir = await prompter.ask('Spool directory for events not yet delivered ("none" = memory only)', defaultSpool, (text): Parsed<string | undefined> => {
    if (text.trim().toLowerCase() === 'none') return { ok: true, value: '' };
    const parsed = parsePath(text);
    if (!parsed.ok) return parsed;
    const path = resolve(parsed.value);
    return { ok: true, value: path === defaultSpool ? undefined : path };
  });
  return { answers: { url, sensorId, batchSize, flushInterval, verifyTls, spoolDir, tokenInEnvFile }, token };
}
