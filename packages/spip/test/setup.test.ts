// `spip setup` end to end: the real command with answers piped to stdin. PATH holds only openssl and
// an iptables stand-in that records any call, so the host's firewall is never touched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { loadSpipConfigFile, loadSpipConfigText } from '../src/config/load.js';
import {
  collapsePorts,
  expandPorts,
  parseFlushInterval,
  parseListenAddress,
  parseLoomUrl,
  parsePort,
  parsePortList,
  parseToken,
  parseYesNo,
} from '../src/setup/answers.js';
import { subjectForName } from '../src/setup/certificates.js';
import { renderConfig, renderEnvFile, tomlString, type ConfigAnswers } from '../src/setup/config-text.js';
import { detectSshPorts, findExecutable, shortHostname, sshPortsFromConfig } from '../src/setup/host.js';
import { applySteps, redirectPlans, shellLines } from '../src/setup/iptables.js';

const bin = new URL('../../bin/spip.js', import.meta.url).pathname;
const openssl = findExecutable('openssl');

let root: string;
let fakeBin: string;
let iptablesLog: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'spip-setup-test-'));
  fakeBin = join(root, 'bin');
  mkdirSync(fakeBin);
  iptablesLog = join(root, 'iptables-calls.log');
  for (const name of ['iptables', 'ip6tables']) {
    writeFileSync(join(fakeBin, name), `#!/bin/sh\necho "${name} $*" >> '${iptablesLog}'\nexit 1\n`, { mode: 0o755 });
  }
  if (openssl !== undefined) symlinkSync(openssl, join(fakeBin, 'openssl'));
});

after(() => rmSync(root, { recursive: true, force: true }));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `spip setup` with one answer per line; the input then ends, as a closed pipe does. */
function runSetup(configPath: string, answers: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'setup', '-config', configPath], {
      env: { PATH: fakeBin, HOME: root, LANG: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(answers.map((a) => `${a}\n`).join(''));
  });
}

let dirCount = 0;
function freshDir(): string {
  const dir = join(root, `case-${++dirCount}`);
  mkdirSync(dir);
  return dir;
}

function assertIptablesNeverRun(): void {
  assert.equal(existsSync(iptablesLog), false, 'iptables must not be invoked');
}

// name, ip, port, extra ports, TLS, log file, Loom?, SSH ports, apply?
const DEFAULTS = ['', '', '', '', '', '', '', '', 'n'];

describe('spip setup (the command)', () => {
  test('empty answers take the defaults and write a config that loads', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const outcome = await runSetup(configPath, DEFAULTS);
    assert.equal(outcome.code, 0, outcome.stderr);
    const { config, warnings } = await loadSpipConfigFile(configPath, {});
    assert.deepEqual(warnings, []);
    assert.equal(config.name, shortHostname());
    assert.equal(config.ip, '0.0.0.0');
    assert.deepEqual(config.ports, [8080]);
    assert.equal(config.cert_path, '');
    assert.equal(config.tls_self_signed, false);
    assert.equal(config.log_file, '');
    assert.equal(config.loom.enabled, false);
    assert.equal(statSync(configPath).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), ['config.toml']);
    assert.match(outcome.stdout, /-p tcp --dport \d+ -j RETURN/);
    assert.match(outcome.stdout, /-j REDIRECT --to-ports 8080/);
    assert.ok(outcome.stdout.includes(`spip -config ${configPath}`));
    assert.ok(outcome.stdout.includes(`spip check-config -config ${configPath}`));
    assertIptablesNeverRun();
  });

  test('an invalid port is asked again, and the rules keep SSH out without flushing the nat table', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const outcome = await runSetup(configPath, ['', '', '0', '65536', 'http', '9090', '2222, 8000-8100', '', '', '', '2022', 'n']);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.equal(outcome.stdout.match(/is not a TCP port/g)?.length, 3);
    const { config } = await loadSpipConfigFile(configPath, {});
    assert.deepEqual(config.ports.slice(0, 2), [2222, 8000]);
    assert.ok(config.ports.includes(9090) && config.ports.includes(8100));
    assert.equal(config.ports.length, 2 + 101);

    const rules = outcome.stdout.split('\n').filter((line) => /^\s+ip6?tables /.test(line));
    assert.ok(rules.some((line) => line.includes('iptables -t nat -A SPIP -p tcp --dport 2022 -j RETURN')));
    assert.ok(rules.some((line) => line.includes('--dport 8000:8100 -j RETURN')));
    assert.ok(rules.some((line) => line.includes('--dport 9090 -j RETURN')));
    assert.ok(rules.some((line) => line.includes('-j REDIRECT --to-ports 9090')));
    assert.ok(rules.some((line) => /-A PREROUTING .*-j SPIP/.test(line)));
    for (const line of rules) {
      for (const flush of line.matchAll(/ -F(?: (\S+))?/g)) assert.equal(flush[1], 'SPIP', `only the SPIP chain may be flushed: ${line}`);
    }
    assert.ok(!rules.some((line) => /-A PREROUTING .*REDIRECT/.test(line)), 'redirects belong in the SPIP chain');
    assertIptablesNeverRun();
  });

  test('the Loom token goes to spip.env (mode 0600), never to the config', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const token = 'tok-Very-Secret-42';
    const answers = ['', '', '', '', '', '', 'y', 'https://loom.test/api/v1/ingest', 'sensor-7', token, 'y', '25', '1m30s', 'n', 'none', '22', 'n'];
    const outcome = await runSetup(configPath, answers);
    assert.equal(outcome.code, 0, outcome.stderr);
    const text = readFileSync(configPath, 'utf8');
    assert.ok(!text.includes(token));
    assert.ok(!outcome.stdout.includes(token) && !outcome.stderr.includes(token), 'the token is never printed');

    const envPath = join(dir, 'spip.env');
    assert.equal(statSync(envPath).mode & 0o777, 0o600);
    const envLine = readFileSync(envPath, 'utf8').split('\n').find((line) => line.startsWith('SPIP_LOOM_TOKEN='));
    assert.equal(envLine, `SPIP_LOOM_TOKEN=${token}`);
    assert.match(outcome.stdout, /EnvironmentFile=/);

    const { config } = await loadSpipConfigFile(configPath, { SPIP_LOOM_TOKEN: token });
    assert.equal(config.loom.enabled, true);
    assert.equal(config.loom.url, 'https://loom.test/api/v1/ingest');
    assert.equal(config.loom.sensor_id, 'sensor-7');
    assert.equal(config.loom.token, token);
    assert.equal(config.loom.token_origin, 'env SPIP_LOOM_TOKEN');
    assert.equal(config.loom.batch_size, 25);
    assert.equal(config.loom.flush_interval_ms, 90_000);
    assert.equal(config.loom.insecure_skip_verify, true);
    assert.equal(config.loom.spool_dir, '');
    assertIptablesNeverRun();
  });

  test('an empty token leaves Loom disabled', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const outcome = await runSetup(configPath, ['', '', '', '', '', '', 'y', '', '', '', '22', 'n']);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /no token: Loom shipping is left disabled/);
    assert.equal((await loadSpipConfigFile(configPath, {})).config.loom.enabled, false);
    assert.deepEqual(readdirSync(dir), ['config.toml']);
  });

  test('an existing config is kept on "no" and backed up on "yes"', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const original = 'name = "old"\nip = "127.0.0.1"\nport = 1234\n';
    writeFileSync(configPath, original, { mode: 0o640 });

    const refused = await runSetup(configPath, ['', ...DEFAULTS]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /left unchanged/);
    assert.equal(readFileSync(configPath, 'utf8'), original);
    assert.deepEqual(readdirSync(dir), ['config.toml']);

    const accepted = await runSetup(configPath, ['yes', ...DEFAULTS]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(readFileSync(`${configPath}.bak`, 'utf8'), original);
    assert.equal(statSync(`${configPath}.bak`).mode & 0o777, 0o640);
    assert.deepEqual((await loadSpipConfigFile(configPath, {})).config.ports, [8080]);
  });

  test('input ending mid-way exits 1 and writes nothing', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const early = await runSetup(configPath, ['', '', '']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /aborted: nothing was written/);
    assert.deepEqual(readdirSync(dir), []);

    // Past the certificate choice and the token, so there would be a certificate and an env file to write.
    const late = await runSetup(configPath, ['', '', '', '', '2', '', 'y', '', '', 'tok-1', 'y', '', '', '', '']);
    assert.equal(late.code, 1);
    assert.deepEqual(readdirSync(dir), []);
    assertIptablesNeverRun();
  });

  test('a self-signed certificate generated now is P-256 for the name, with a private key file', { skip: openssl === undefined && 'openssl not installed' }, async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const outcome = await runSetup(configPath, ['web-01', '', '', '', '2', '', '', '', 'n']);
    assert.equal(outcome.code, 0, outcome.stderr);
    const certPath = join(dir, 'certs', 'cert.pem');
    const keyPath = join(dir, 'certs', 'key.pem');
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const cert = new X509Certificate(readFileSync(certPath));
    assert.equal(cert.subject, 'CN=web-01');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.ok(Math.abs(days - 365) < 1, `valid for ${days} days`);
    assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath))));

    const text = readFileSync(configPath, 'utf8');
    assert.match(text, /^cert_path = "certs\/cert.pem"$/m);
    assert.match(text, /^key_path = "certs\/key.pem"$/m);
    const { config } = await loadSpipConfigFile(configPath, {});
    assert.equal(config.cert_path, certPath);
    assert.equal(config.key_path, keyPath);
    assert.deepEqual(readdirSync(dir).sort(), ['certs', 'config.toml']);
    assert.deepEqual(readdirSync(join(dir, 'certs')).sort(), ['cert.pem', 'key.pem']);
  });

  test('existing certificate files are checked, and :: gets ip6tables rules too', { skip: openssl === undefined && 'openssl not installed' }, async () => {
    const dir = freshDir();
    const pair = await runSetup(join(dir, 'pair', 'config.toml'), ['pair', '', '', '', '2', '', '', '', 'n']);
    assert.equal(pair.code, 0, pair.stderr);
    const certPath = join(dir, 'pair', 'certs', 'cert.pem');
    const keyPath = join(dir, 'pair', 'certs', 'key.pem');

    const configPath = join(dir, 'config.toml');
    const answers = ['', '::', '', '', '4', join(dir, 'missing.pem'), keyPath, 'n', certPath, keyPath, '', '', '22', 'n'];
    const outcome = await runSetup(configPath, answers);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /missing\.pem/);
    const { config } = await loadSpipConfigFile(configPath, {});
    assert.equal(config.ip, '::');
    assert.equal(config.cert_path, certPath);
    assert.equal(config.key_path, keyPath);
    assert.match(outcome.stdout, /^ {2}ip6tables -t nat -A SPIP -p tcp --dport 22 -j RETURN$/m);
    assert.match(outcome.stdout, /^ {2}iptables -t nat -A SPIP -p tcp --dport 22 -j RETURN$/m);
  });

  test('self-signed at every start sets tls_self_signed', async () => {
    const dir = freshDir();
    const configPath = join(dir, 'config.toml');
    const outcome = await runSetup(configPath, ['', '', '', '', '3', '', '', '', 'n']);
    assert.equal(outcome.code, 0, outcome.stderr);
    const { config } = await loadSpipConfigFile(configPath, {});
    assert.equal(config.tls_self_signed, true);
    assert.equal(config.cert_path, '');
    assert.deepEqual(readdirSync(dir), ['config.toml']);
  });
});

describe('setup answers', () => {
  test('ports and port lists', () => {
    assert.deepEqual(parsePort(' 22 '), { ok: true, value: 22 });
    for (const bad of ['0', '65536', '-1', '8080x', '', '1e3']) assert.equal(parsePort(bad).ok, false, bad);
    assert.deepEqual(parsePortList(''), { ok: true, value: [] });
    assert.deepEqual(parsePortList('2222, 8000-8100 9000-9000'), { ok: true, value: [2222, { from: 8000, to: 8100 }, 9000] });
    for (const bad of ['8100-8000', '1-5000', '70000', 'ssh', '1-2-3']) assert.equal(parsePortList(bad).ok, false, bad);
    assert.deepEqual(expandPorts([3, { from: 1, to: 3 }]), [1, 2, 3]);
    assert.deepEqual(collapsePorts([22, 8080, 8000, 8001, 8002, 23]), [{ from: 22, to: 23 }, { from: 8000, to: 8002 }, 8080]);
  });

  test('yes/no, addresses, URLs, durations and tokens', () => {
    assert.deepEqual(['y', 'YES', 'n', 'No'].map((a) => parseYesNo(a)), [true, true, false, false].map((value) => ({ ok: true, value })));
    assert.equal(parseYesNo('ja').ok, false);
    assert.deepEqual(parseListenAddress('[::]'), { ok: true, value: '::' });
    assert.equal(parseListenAddress('localhost').ok, false);
    assert.equal(parseLoomUrl('ftp://loom/').ok, false);
    assert.equal(parseLoomUrl('loom.example.com').ok, false);
    assert.equal(parseLoomUrl('http://loom:8080/api/v1/ingest').ok, true);
    assert.deepEqual(parseFlushInterval('1m30s'), { ok: true, value: '1m30s' });
    for (const bad of ['10', '0s', '-1s', 'soon']) assert.equal(parseFlushInterval(bad).ok, false, bad);
    assert.deepEqual(parseToken('  abc  '), { ok: true, value: 'abc' });
    assert.equal(parseToken('a b').ok, false);
    assert.equal(parseToken("a'b").ok, false);
  });

  test('sshd Port lines, drop-in files included, default 22', () => {
    assert.deepEqual(sshPortsFromConfig('#Port 22\nPort 2222\n  port 22 # both\nMatch User x\n  Port 3\n'), [2222, 22]);
    const dir = join(root, 'ssh');
    mkdirSync(join(dir, 'sshd_config.d'), { recursive: true });
    assert.deepEqual(detectSshPorts(dir), [22]);
    writeFileSync(join(dir, 'sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\n');
    writeFileSync(join(dir, 'sshd_config.d', '10-port.conf'), 'Port 2022\n');
    assert.deepEqual(detectSshPorts(dir), [2022]);
  });

  test('openssl subjects keep odd names as one CN', () => {
    assert.equal(subjectForName('web-01'), '/CN=web-01');
    assert.equal(subjectForName('a/b+c\\d'), '/CN=a\\/b\\+c\\\\d');
  });
});

describe('setup config text', () => {
  const base: ConfigAnswers = { name: 'n', ip: '0.0.0.0', port: 8080, extraPorts: [], tls: { mode: 'none' }, logFile: '', loom: undefined };
  const load = (answers: ConfigAnswers, env: NodeJS.ProcessEnv = {}) => loadSpipConfigText(renderConfig(answers, new Date(0)), '/etc/spip/config.toml', env).config;

  test('strings survive TOML whatever they contain', () => {
    for (const value of ['plain', 'quote " and \\ backslash', 'tab\tdel\u007f', 'é ☃']) {
      assert.equal((parse(`v = ${tomlString(value)}`) as { v: string }).v, value);
    }
    assert.equal(load({ ...base, name: 'web "01" \\ x' }).name, 'web "01" \\ x');
  });

  test('every TLS choice and the Loom block load as answered', () => {
    assert.equal(load({ ...base, tls: { mode: 'generate-now' } }).cert_path, '/etc/spip/certs/cert.pem');
    assert.equal(load({ ...base, tls: { mode: 'self-signed-at-start' } }).tls_self_signed, true);
    assert.equal(load({ ...base, tls: { mode: 'files', certPath: '/c.pem', keyPath: '/k.pem' } }).key_path, '/k.pem');
    assert.deepEqual(load({ ...base, extraPorts: [2222, { from: 9000, to: 9001 }] }).ports, [2222, 8080, 9000, 9001]);
    assert.equal(load({ ...base, logFile: '/var/log/spip.log' }).log_file, '/var/log/spip.log');

    const loom = { url: 'https://l/api', sensorId: 's1', batchSize: 10, flushInterval: '2s', verifyTls: true, spoolDir: undefined, tokenInEnvFile: false };
    const text = renderConfig({ ...base, loom }, new Date(0));
    assert.doesNotMatch(text, /^\s*token\s*=/m);
    assert.throws(() => load({ ...base, loom }), /loom\.token is required/);
    const config = load({ ...base, loom }, { SPIP_LOOM_TOKEN: 't' });
    assert.equal(config.loom.spool_dir, '/etc/spip/spool');
    assert.equal(config.loom.insecure_skip_verify, false);
    assert.equal(load({ ...base, loom: { ...loom, spoolDir: '/var/spool/spip' } }, { SPIP_LOOM_TOKEN: 't' }).loom.spool_dir, '/var/spool/spip');
  });

  test('the env file quotes tokens a shell or systemd would interpret', () => {
    assert.match(renderEnvFile('abc-123_x.y'), /^SPIP_LOOM_TOKEN=abc-123_x\.y$/m);
    assert.match(renderEnvFile('a$b#c"d'), /^SPIP_LOOM_TOKEN='a\$b#c"d'$/m);
  });
});

describe('setup redirect rules', () => {
  const options = { listenAddress: '0.0.0.0', port: 8080, sensorPorts: [2222, 8080], sshPorts: [22] };

  test('a dedicated chain, SSH and the sensor ports first, hooked from PREROUTING; undo removes only that', () => {
    const [plan, ...others] = redirectPlans(options);
    assert.equal(others.length, 0);
    assert.equal(plan?.command, 'iptables');
    assert.deepEqual(shellLines('iptables', plan?.apply ?? []), [
      'iptables -t nat -N SPIP 2>/dev/null || iptables -t nat -F SPIP',
      'iptables -t nat -A SPIP -p tcp --dport 22 -j RETURN',
      'iptables -t nat -A SPIP -p tcp --dport 2222 -j RETURN',
      'iptables -t nat -A SPIP -p tcp --dport 8080 -j RETURN',
      'iptables -t nat -A SPIP -p tcp -j REDIRECT --to-ports 8080',
      'iptables -t nat -C PREROUTING -p tcp -m addrtype --dst-type LOCAL -j SPIP 2>/dev/null || iptables -t nat -A PREROUTING -p tcp -m addrtype --dst-type LOCAL -j SPIP',
    ]);
    assert.deepEqual(shellLines('iptables', plan?.undo ?? []), [
      'iptables -t nat -D PREROUTING -p tcp -m addrtype --dst-type LOCAL -j SPIP',
      'iptables -t nat -F SPIP',
      'iptables -t nat -X SPIP',
    ]);
    assert.deepEqual(redirectPlans({ ...options, listenAddress: '::' }).map((p) => p.command), ['iptables', 'ip6tables']);
    assert.deepEqual(redirectPlans({ ...options, listenAddress: '2001:db8::1' }).map((p) => p.command), ['ip6tables']);
  });

  test('applying refills a leftover chain and does not hook it twice', async () => {
    const calls: string[] = [];
    const run = async (file: string, args: readonly string[]): Promise<void> => {
      const line = [file, ...args].join(' ');
      calls.push(line);
      if (line.includes(' -N ') || line.includes(' -C ')) throw new Error('exists');
    };
    const [plan] = redirectPlans(options);
    await applySteps('/sbin/iptables', plan?.apply ?? [], run);
    assert.equal(calls[0], '/sbin/iptables -t nat -N SPIP');
    assert.equal(calls[1], '/sbin/iptables -t nat -F SPIP');
    assert.ok(calls.some((c) => c.includes('-A PREROUTING')), 'hooked when the check fails');

    calls.length = 0;
    const present = async (file: string, args: readonly string[]): Promise<void> => {
      calls.push([file, ...args].join(' '));
    };
    await applySteps('/sbin/iptables', plan?.apply ?? [], present);
    assert.ok(!calls.some((c) => c.includes('-A PREROUTING')), 'not hooked twice');

    const failing = async (_file: string, args: readonly string[]): Promise<void> => {
      if (args.includes('REDIRECT')) throw new Error('no REDIRECT target');
    };
    await assert.rejects(applySteps('/sbin/iptables', plan?.apply ?? [], failing), /no REDIRECT target/);
  });

  test('an executable is looked up on PATH only', () => {
    const dir = join(root, 'path-lookup');
    mkdirSync(dir);
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    assert.equal(findExecutable('tool', dir), undefined, 'not executable');
    chmodSync(join(dir, 'tool'), 0o755);
    assert.equal(findExecutable('tool', `relative:${dir}`), join(dir, 'tool'));
    assert.equal(findExecutable('tool', ''), undefined);
  });
});
