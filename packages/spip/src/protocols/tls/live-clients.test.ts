// Real TLS clients (Node's own and the openssl command) connect to a plain
// TCP server that keeps only their first flight, so the parser is checked
// against the bytes those libraries actually put on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { withoutGrease } from '../../fingerprints/grease.js';
import { ja3 } from '../../fingerprints/ja3.js';
import { ja4 } from '../../fingerprints/ja4.js';
import { parseClientHello, probeClientHello, type ClientHello } from './client-hello.js';

/** Listens on 127.0.0.1, runs connect(port), resolves with the first complete ClientHello. */
async function captureHello(connect: (port: number) => () => void): Promise<Uint8Array> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let stop: (() => void) | undefined;
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 10 s')), 10_000);
      server.on('connection', (socket) => {
        let buf = new Uint8Array(0);
        socket.on('error', () => {});
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          const probe = probeClientHello(buf);
          if (probe.kind === 'need-more') return;
          clearTimeout(timer);
          socket.destroy();
          if (probe.kind === 'complete') resolve(buf.subarray(0, probe.length));
          else reject(new Error(`probe said ${probe.kind}`));
        });
      });
      stop = connect(port);
    });
  } finally {
    stop?.();
    await new Promise((resolve) => server.close(resolve));
  }
}

function parse(bytes: Uint8Array): ClientHello {
  const result = parseClientHello(bytes);
  if (!result.ok) assert.fail(result.error);
  assert.equal(result.length, bytes.length);
  return result.hello;
}

test("Node's TLS client: SNI, ALPN, versions and fingerprints", async () => {
  const bytes = await captureHello((port) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'x.example', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
    socket.on('error', () => {});
    return () => socket.destroy();
  });
  const h = parse(bytes);
  assert.equal(h.serverName, 'x.example');
  assert.deepEqual(h.alpnStrings, ['h2', 'http/1.1']);
  assert.ok(h.supportedVersions.includes(0x0304));
  assert.ok(h.ciphers.includes(0x1301));

  const fp4 = ja4(h);
  assert.match(fp4.ja4, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
  const fp3 = ja3(h);
  const [version, ciphers, extensions, groups, formats] = fp3.ja3.split(',');
  assert.equal(version, String(h.legacyVersion));
  assert.equal(ciphers, withoutGrease(h.ciphers).join('-'));
  assert.equal(extensions, withoutGrease(h.extensions).join('-'));
  assert.equal(groups, withoutGrease(h.supportedGroups).join('-'));
  assert.equal(formats, h.ecPointFormats.join('-'));
  assert.ok(extensions!.split('-').includes('0') && extensions!.split('-').includes('16'));
  assert.equal(fp3.ja3_hash, createHash('md5').update(fp3.ja3).digest('hex'));
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

test('openssl s_client: the SNI and ALPN it was given', { skip: !hasOpenssl && 'openssl is not installed' }, async () => {
  const bytes = await captureHello((port) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'x.example', '-alpn', 'http/1.1'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {});
    return () => child.kill();
  });
  const h = parse(bytes);
  assert.equal(h.serverName, 'x.example');
  assert.deepEqual(h.alpnStrings, ['http/1.1']);
  assert.ok(h.supportedVersions.includes(0x0304));
  assert.match(ja4(h).ja4, /^t13d\d{4}h1_[0-9a-f]{12}_[0-9a-f]{12}$/);
});
