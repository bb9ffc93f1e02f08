// The bytes each Spip scenario sends on every connection. Each one is checked once with
// Spip's own parsers, so a scenario that claims to send a ClientHello or a KEXINIT measures
// the fingerprinting path and not the "unknown payload" one.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pathToFileURL } from 'node:url';
import { root } from './loom.mjs';

const spipModule = (path) => import(pathToFileURL(join(root, 'packages/spip/dist/src', path)).href);

/** What a scanner looking for leaked secrets sends; Spip answers and closes. */
export const httpProbe = Buffer.from('GET /.env HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\n\r\n');

/**
 * A real ClientHello: Node's TLS client (OpenSSL, offering TLS 1.3 and 1.2, with SNI and
 * ALPN as curl sends them) connects once to a local socket that keeps the first record and
 * hangs up. Replaying those bytes costs the load generator no cryptography.
 */
export async function captureClientHello() {
  const bytes = await new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const server = createServer((socket) => {
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 5 && received.length >= 5 + received.readUInt16BE(3)) {
          socket.destroy();
          server.close();
          resolve(received.subarray(0, 5 + received.readUInt16BE(3)));
        }
      });
      socket.on('error', () => undefined);
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const client = tlsConnect({ host: '127.0.0.1', port: server.address().port, servername: 'www.example.com', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
      client.on('error', () => undefined);
      setTimeout(() => {
        server.close();
        client.destroy();
        reject(new Error('no ClientHello captured within 5 s'));
      }, 5000).unref();
    });
  });
  const { parseClientHello } = await spipModule('protocols/tls/client-hello.js');
  const { ja4 } = await spipModule('fingerprints/ja4.js');
  const parsed = parseClientHello(bytes);
  if (!parsed.ok) throw new Error(`the captured ClientHello does not parse: ${parsed.error}`);
  if (!parsed.hello.supportedVersions.includes(0x0304)) throw new Error('the captured ClientHello does not offer TLS 1.3');
  return { bytes, ja4: ja4(parsed.hello).ja4, serverName: parsed.hello.serverName };
}

// OpenSSH 9.2p1's client defaults (kex, host key, ciphers, MACs, compression), as it sends
// them in its KEXINIT, including the ext-info-c marker it appends to the kex list.
const openssh92 = [
  'sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c',
  'ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256',
  'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  'none,zlib@openssh.com',
  'none,zlib@openssh.com',
  '',
  '',
];

/** An OpenSSH 9.2p1 client's opening: identification line and KEXINIT, written together as a scanner does. */
export async function sshClientOpening() {
  const { buildKexInitPacket } = await spipModule('protocols/ssh/kexinit-builder.js');
  const { parseKexInit } = await spipModule('protocols/ssh/ssh.js');
  const { hassh } = await spipModule('fingerprints/hassh.js');
  // A fixed cookie keeps the bytes identical from run to run; Spip does not look at it.
  const packet = Buffer.from(buildKexInitPacket({ lists: openssh92, cookie: Buffer.alloc(16, 0x5a) }));
  const parsed = parseKexInit(packet);
  if (parsed === 'need-more' || 'error' in parsed) throw new Error(`the built KEXINIT does not parse: ${parsed === 'need-more' ? parsed : parsed.error}`);
  return { bytes: Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n'), packet]), hassh: hassh(parsed.kexinit).hassh };
}
