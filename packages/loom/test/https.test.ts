import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { baseToml, runLoom, spipEvent, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { request } from './helpers/http.js';

const run = promisify(execFile);
const token = 'tls-token-5b1e0c7d9a';
const sensor = 'spip-tls';
const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

/**
 * A self-signed P-256 certificate made by the openssl CLI, as an operator would. The
 * subjectAltName lets clients verify it fully: for an IP address, neither node nor curl
 * accepts a CN alone.
 */
async function makeCertificate(dir: string): Promise<{ cert: string; key: string; pem: Buffer }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  return { cert, key, pem: await readFile(cert) };
}

function tlsToml(cert: string, key: string, limits = 'per_sensor_rps = -1\nmax_body_size_bytes = 4096'): string {
  return baseToml({ server: `tls = true\ncert_file = ${JSON.stringify(cert)}\nkey_file = ${JSON.stringify(key)}`, limits });
}

/** Resolves with the negotiated protocol, or rejects with the handshake error. */
function handshake(port: number, ca: Buffer, minVersion: tls.SecureVersion, maxVersion: tls.SecureVersion): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca,
      minVersion,
      maxVersion,
      // OpenSSL 3 refuses TLS 1.0/1.1 on the client side at the default security level;
      // level 0 makes the client really offer them, so the refusal tested is the server's.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    }, () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve(protocol);
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
  });
}

describe('HTTPS ingest', () => {
  let dir: string;
  let certificate: { cert: string; key: string; pem: Buffer };
  let loom: LoomProcess;

  before(async () => {
    dir = await tempDir('loom-tls-');
    certificate = await makeCertificate(dir);
    loom = await startLoom({ toml: tlsToml(certificate.cert, certificate.key), env: { [`LOOM_SENSOR_${sensor.replaceAll('-', '_')}`]: token } });
    assert.ok(loom.hasLog('ingest server (HTTPS) listening'), loom.stderrText);
    assert.ok(loom.ingestPort > 0);
  });
  after(async () => {
    assert.equal(await loom.stop(), 0);
    await loom.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('a batch over verified HTTPS gets 204 and its events are written', async () => {
    const event = spipEvent(101);
    const before = loom.stdoutLines.length;
    const res = await request(loom.url('/api/v1/ingest', 'https'), JSON.stringify([event]), { headers: { ...headers, 'X-Spip-ID': sensor }, ca: certificate.pem });
    assert.equal(res.status, 204, res.text);
    await loom.until(() => loom.stdoutLines.length > before, 'the event on stdout');
    assert.equal(loom.stdoutLines[before], JSON.stringify(event));
  });

  test('the real curl with --cacert gets 204', async () => {
    const before = loom.stdoutLines.length;
    const { stdout } = await run('curl', [
      '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', certificate.cert,
      '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${token}`, '-H', `X-Spip-ID: ${sensor}`,
      '--data-binary', JSON.stringify([spipEvent(102)]), loom.url('/ingest', 'https'),
    ]);
    assert.equal(stdout, '204');
    await loom.until(() => loom.stdoutLines.length > before, 'the event on stdout');
    assert.match(loom.stdoutLines[before] ?? '', /000000000102/);
  });

  test('plain HTTP to the HTTPS port is not served as an ingest request', async () => {
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${token}`, '--data-binary', '[{}]', loom.url('/ingest')]).catch((e: { stdout: string }) => e);
    assert.equal(stdout, '000');
  });

  test('TLS 1.2 and 1.3 handshakes succeed; a TLS 1.1-only client is refused by the server', async () => {
    assert.equal(await handshake(loom.ingestPort, certificate.pem, 'TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
    assert.equal(await handshake(loom.ingestPort, certificate.pem, 'TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
    await assert.rejects(handshake(loom.ingestPort, certificate.pem, 'TLSv1', 'TLSv1.1'), (error: Error) => {
      // A protocol_version alert comes from the server; a client that never offered
      // TLS 1.1 would fail with "no protocols available" instead.
      assert.match(error.message, /alert protocol version|unsupported protocol/i);
      assert.doesNotMatch(error.message, /no protocols available/i);
      return true;
    });
  });

  test('openssl s_client offering only TLS 1.1 fails the handshake', async () => {
    const result = await run('openssl', ['s_client', '-connect', `127.0.0.1:${loom.ingestPort}`, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'], { timeout: 5000 })
      .then((r) => ({ code: 0, out: r.stdout + r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
    assert.notEqual(result.code, 0, result.out);
    assert.match(result.out, /alert protocol version/i);
    assert.match(result.out, /Cipher is \(NONE\)/);
  });

  const statusCases: { name: string; headers: Record<string, string>; body: string; status: number; code: string }[] = [
    { name: 'a wrong token', headers: { ...headers, Authorization: 'Bearer not-the-token' }, body: '[{}]', status: 401, code: 'unauthorized' },
    { name: 'no token', headers: { 'Content-Type': 'application/json' }, body: '[{}]', status: 401, code: 'unauthorized' },
    { name: 'a wrong X-Spip-ID', headers: { ...headers, 'X-Spip-ID': 'someone-else' }, body: '[{}]', status: 401, code: 'unauthorized' },
    { name: 'text/plain', headers: { ...headers, 'Content-Type': 'text/plain' }, body: '[{}]', status: 415, code: 'invalid_content_type' },
    { name: 'a body over max_body_size_bytes', headers, body: JSON.stringify([{ pad: 'x'.repeat(5000) }]), status: 413, code: 'payload_too_large' },
    { name: 'a broken body', headers, body: '[{"a":', status: 400, code: 'invalid_request' },
  ];
  for (const c of statusCases) {
    test(`over HTTPS, ${c.name} → ${c.status} ${c.code}`, async () => {
      const before = loom.stdoutLines.length;
      const res = await request(loom.url('/api/v1/ingest', 'https'), c.body, { headers: c.headers, ca: certificate.pem });
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(res.json?.error, c.code);
      assert.equal(typeof res.json?.message, 'string');
      assert.equal(loom.stdoutLines.length, before);
    });
  }

  test('the token never reaches the logs', () => {
    assert.ok(!loom.stderrText.includes(token));
  });
});

describe('TLS startup errors (Go wording, exit status 1)', () => {
  let dir: string;
  let certificate: { cert: string; key: string; pem: Buffer };
  before(async () => {
    dir = await tempDir('loom-tls-errors-');
    certificate = await makeCertificate(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const env = { LOOM_SENSOR_s: 'startup-token' };

  test('tls = true without cert_file', async () => {
    const result = await runLoom({ toml: baseToml({ server: `tls = true\nkey_file = ${JSON.stringify(certificate.key)}` }), env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^config: server: tls enabled but cert_file or key_file missing$/m);
  });

  test('tls = true without key_file', async () => {
    const result = await runLoom({ toml: baseToml({ server: `tls = true\ncert_file = ${JSON.stringify(certificate.cert)}` }), env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /server: tls enabled but cert_file or key_file missing/);
  });

  test('a cert_file that does not exist is named', async () => {
    const missing = join(dir, 'no-such-cert.pem');
    const result = await runLoom({ toml: tlsToml(missing, certificate.key), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`config: server: cert_file "${missing}" not readable: no such file or directory`), result.stderr);
  });

  test('a key_file that does not exist is named', async () => {
    const missing = join(dir, 'no-such-key.pem');
    const result = await runLoom({ toml: tlsToml(certificate.cert, missing), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`server: key_file "${missing}" not readable: no such file or directory`), result.stderr);
  });

  // chmod 000 cannot make a file unreadable here: the tests run as root, and root reads it
  // anyway. A directory is a path that exists but can never be read as a key.
  test('a key_file that is a directory is named as not readable', async () => {
    const keyDir = join(dir, 'key-dir');
    await mkdir(keyDir, { recursive: true });
    const result = await runLoom({ toml: tlsToml(certificate.cert, keyDir), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`server: key_file "${keyDir}" not readable: is a directory`), result.stderr);
  });

  test('a readable key_file that holds no key fails startup naming the file', async () => {
    const garbage = join(dir, 'garbage-key.pem');
    await writeFile(garbage, 'this is not a PEM key\n');
    const result = await runLoom({ toml: tlsToml(certificate.cert, garbage), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(garbage), result.stderr);
    assert.match(result.stderr, /server\.key_file/);
    assert.doesNotMatch(result.stderr, /ingest server/);
  });

  test('a readable cert_file that holds no certificate fails startup naming the file', async () => {
    const garbage = join(dir, 'garbage-cert.pem');
    await writeFile(garbage, 'this is not a certificate\n');
    const result = await runLoom({ toml: tlsToml(garbage, certificate.key), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(garbage), result.stderr);
    assert.match(result.stderr, /server\.cert_file/);
  });

  test('a key that does not belong to the certificate fails startup naming both files', async () => {
    const other = await makeCertificate(await mkdirIn(dir, 'other'));
    const result = await runLoom({ toml: tlsToml(certificate.cert, other.key), env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(certificate.cert) && result.stderr.includes(other.key), result.stderr);
    assert.match(result.stderr, /does not belong to the certificate/);
  });

  test('cert_file and key_file with tls = false serve plain HTTP, unlike the Go version', async () => {
    const loom = await startLoom({ toml: baseToml({ server: `tls = false\ncert_file = ${JSON.stringify(certificate.cert)}\nkey_file = ${JSON.stringify(certificate.key)}` }), env });
    try {
      assert.ok(loom.hasLog('ingest server listening (no TLS)'), loom.stderrText);
      assert.ok(loom.logs.some((l) => l.level === 'warn' && /server\.tls = false although server\.cert_file and server\.key_file are set/.test(l.msg)), loom.stderrText);
      const res = await request(loom.url(), '[{}]', { headers: { Authorization: 'Bearer startup-token', 'Content-Type': 'application/json' } });
      assert.equal(res.status, 204);
    } finally {
      await loom.stop();
      await loom.cleanup();
    }
  });

  test('cert_file and key_file without a tls key serve HTTPS, as the Go version did, with a warning', async () => {
    const toml = baseToml({ server: `cert_file = ${JSON.stringify(certificate.cert)}\nkey_file = ${JSON.stringify(certificate.key)}` });
    const loom = await startLoom({ toml, env });
    try {
      assert.ok(loom.hasLog('ingest server (HTTPS) listening'), loom.stderrText);
      assert.ok(loom.logs.some((l) => l.level === 'warn' && /server\.tls is not set/.test(l.msg)), loom.stderrText);
      const res = await request(loom.url('/ingest', 'https'), '[{}]', { headers: { Authorization: 'Bearer startup-token', 'Content-Type': 'application/json' }, ca: certificate.pem });
      assert.equal(res.status, 204);
    } finally {
      await loom.stop();
      await loom.cleanup();
    }
  });
});

async function mkdirIn(parent: string, name: string): Promise<string> {
  const path = join(parent, name);
  await mkdir(path, { recursive: true });
  return path;
}
