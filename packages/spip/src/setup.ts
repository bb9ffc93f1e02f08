import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { loadSpipConfigText } from './config/load.js';
import { expandPorts } from './setup/answers.js';
import { ENV_FILE, GENERATED_CERT, GENERATED_KEY, TOKEN_VARIABLE, renderConfig, renderEnvFile } from './setup/config-text.js';
import { backup, installSelfSigned, writeFileAtomic } from './setup/files.js';
import { findExecutable, isRoot } from './setup/host.js';
import { interview, type Interview } from './setup/interview.js';
import { CHAIN, addressFamilies, applySteps, redirectPlans, shellLines, type FirewallPlan } from './setup/iptables.js';
import { Prompter, SetupAborted } from './setup/prompter.js';

const execFileAsync = promisify(execFile);

/**
 * `spip setup`: asks for the settings, writes a validated config (and optionally the Loom token to
 * an env file and a generated certificate), prints the redirect rules and applies them only on
 * request. Every file is written after the last question, so stopping early leaves no trace.
 */
export async function runSetup(configPath: string): Promise<number> {
  const prompter = new Prompter(process.stdin, process.stdout);
  try {
    return await setup(prompter, configPath);
  } catch (error) {
    if (!(error instanceof SetupAborted)) throw error;
    process.stderr.write('setup aborted: nothing was written\n');
    return 1;
  } finally {
    prompter.close();
  }
}

async function setup(prompter: Prompter, configPath: string): Promise<number> {
  const exists = existing(configPath);
  if (exists === 'other') {
    process.stderr.write(`setup: ${configPath} exists and is not a regular file\n`);
    return 1;
  }
  prompter.say(`This writes the Spip config ${configPath} and prints the iptables rules that send connections to the sensor.`);
  prompter.say('Press Enter to accept the [default]; end the input (Ctrl+D) to stop without writing anything.');
  prompter.say();
  if (exists === 'file' && !(await prompter.confirm(`${configPath} exists. Overwrite it (the current file is kept as .bak)?`, false))) {
    process.stderr.write(`setup: ${configPath} left unchanged\n`);
    return 1;
  }

  const answers = await interview(prompter, configPath);
  const text = renderConfig(answers.config, new Date());
  // Validated with the environment the sensor will have, so a token given here counts and nothing else does.
  const env: NodeJS.ProcessEnv = answers.token === '' ? {} : { [TOKEN_VARIABLE]: answers.token };
  try {
    const { warnings } = loadSpipConfigText(text, configPath, env);
    for (const warning of warnings) prompter.say(`warning: ${warning}`);
  } catch (error) {
    process.stderr.write(`setup: the generated config is not valid, nothing was written:\n${(error as Error).message}\n`);
    return 1;
  }

  const plans = redirectPlans({
    listenAddress: answers.config.ip,
    port: answers.config.port,
    sensorPorts: expandPorts([answers.config.port, ...answers.config.extraPorts]),
    sshPorts: answers.sshPorts,
  });
  printRules(prompter, plans, answers);
  const apply = await askToApply(prompter, plans);

  const written = await writeFiles(prompter, configPath, text, answers);
  if (written === undefined) return 1;
  let status = 0;
  if (apply) status = await applyRules(prompter, plans);
  printSummary(prompter, configPath, written, answers, apply && status === 0);
  return status;
}

function existing(path: string): 'none' | 'file' | 'other' {
  try {
    return lstatSync(path).isFile() ? 'file' : 'other';
  } catch {
    return 'none';
  }
}

function printRules(prompter: Prompter, plans: FirewallPlan[], answers: Interview): void {
  const { ip, port } = answers.config;
  prompter.say();
  prompter.say(`Redirect rules: every TCP connection to this host goes to port ${port}, except SSH (${answers.sshPorts.join(', ')}) and the sensor's own ports.`);
  prompter.say(`They live in their own nat chain ${CHAIN}, so nothing else in the nat table is touched:`);
  for (const plan of plans) for (const line of shellLines(plan.command, plan.apply)) prompter.say(`  ${line}`);
  prompter.say('To remove them again:');
  for (const plan of plans) for (const line of shellLines(plan.command, plan.undo)) prompter.say(`  ${line}`);
  if (!addressFamilies(ip).includes(6)) prompter.say(`No ip6tables rules: the sensor listens on ${ip}, which is IPv4 only (listen on :: to cover IPv6 too).`);
  if (ip !== '0.0.0.0' && ip !== '::') {
    prompter.say(`Note: REDIRECT delivers to the primary address of the receiving interface; the sensor only sees it when that is ${ip}.`);
  }
  prompter.say('The rules do not survive a reboot: save them (iptables-save, e.g. with iptables-persistent) or run them from a boot-time unit.');
  prompter.say();
}

async function askToApply(prompter: Prompter, plans: FirewallPlan[]): Promise<boolean> {
  if (!isRoot()) {
    prompter.say('Not running as root: run the commands above as root to apply them.');
    return false;
  }
  const missing = plans.filter((plan) => findExecutable(plan.command) === undefined).map((plan) => plan.command);
  if (missing.length > 0) {
    prompter.say(`${missing.join(' and ')} not found on PATH: install it and run the commands above to apply them.`);
    return false;
  }
  return prompter.confirm('Apply these rules now?', false);
}

async function applyRules(prompter: Prompter, plans: FirewallPlan[]): Promise<number> {
  for (const plan of plans) {
    const file = findExecutable(plan.command) as string;
    try {
      await applySteps(file, plan.apply, async (command, args) => {
        await execFileAsync(command, [...args], { timeout: 30_000 });
      });
    } catch (error) {
      const detail = ((error as { stderr?: string }).stderr ?? '').trim() || (error as Error).message;
      process.stderr.write(`setup: applying the ${plan.command} rules failed: ${detail}\n`);
      process.stderr.write('Remove whatever was applied with:\n');
      for (const undone of plans) for (const line of shellLines(undone.command, undone.undo)) process.stderr.write(`  ${line}\n`);
      return 1;
    }
  }
  prompter.say('Redirect rules applied.');
  return 0;
}

interface Written {
  backups: string[];
  envFile: string | undefined;
  certificate: string | undefined;
}

async function writeFiles(prompter: Prompter, configPath: string, text: string, answers: Interview): Promise<Written | undefined> {
  const dir = dirname(configPath);
  const written: Written = { backups: [], envFile: undefined, certificate: undefined };
  try {
    await mkdir(dir, { recursive: true });
    if (answers.config.tls.mode === 'generate-now') {
      prompter.say('Generating a self-signed certificate with openssl...');
      const certPath = join(dir, GENERATED_CERT);
      written.backups.push(...(await installSelfSigned(certPath, join(dir, GENERATED_KEY), answers.config.name)));
      written.certificate = certPath;
    }
    const configBackup = await backup(configPath);
    if (configBackup !== undefined) written.backups.push(configBackup);
    await writeFileAtomic(configPath, text, 0o644);
    if (answers.config.loom?.tokenInEnvFile === true) {
      written.envFile = join(dir, ENV_FILE);
      const envBackup = await backup(written.envFile);
      if (envBackup !== undefined) written.backups.push(envBackup);
      await writeFileAtomic(written.envFile, renderEnvFile(answers.token), 0o600);
    }
  } catch (error) {
    process.stderr.write(`setup: writing the files failed: ${(error as Error).message}\n`);
    return undefined;
  }
  return written;
}

/** Paths are printed as commands to paste, so one with a space must stay one argument. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function printSummary(prompter: Prompter, configPath: string, written: Written, answers: Interview, applied: boolean): void {
  const config = shellQuote(configPath);
  prompter.say();
  prompter.say(`Config written: ${configPath}`);
  if (written.certificate !== undefined) prompter.say(`Certificate:    ${written.certificate} (key ${join(dirname(configPath), GENERATED_KEY)}, mode 0600)`);
  if (written.envFile !== undefined) prompter.say(`Loom token:     ${written.envFile} (mode 0600)`);
  for (const copy of written.backups) prompter.say(`Previous file kept as ${copy}`);
  if (answers.config.loom !== undefined) {
    if (written.envFile !== undefined) {
      prompter.say(`The sensor needs ${TOKEN_VARIABLE} in its environment: EnvironmentFile=${written.envFile} in its systemd unit,`);
      prompter.say(`or in a shell: set -a; . ${shellQuote(written.envFile)}; set +a`);
    } else {
      prompter.say(`The token was not stored: set ${TOKEN_VARIABLE} in the sensor's environment (for example a systemd EnvironmentFile, mode 0600).`);
    }
  }
  prompter.say(`Check it:  spip check-config -config ${config}`);
  prompter.say(`Start it:  spip -config ${config}`);
  if (!applied) prompter.say('Then apply the redirect rules printed above (as root).');
}
