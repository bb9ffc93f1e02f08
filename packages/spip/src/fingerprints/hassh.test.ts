import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../test/helpers/pcap.js';
import { parseKexInit, parseSshIdentification, type KexInit } from '../protocols/ssh/ssh.js';
import { buildKexInitPacket } from '../protocols/ssh/kexinit-builder.js';
import { hassh, hasshServer } from './hassh.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** RFC 4180 fields: quoted or bare, no newlines inside quotes in this file. */
function csvRow(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else {
          value += line[i++];
        }
      }
      fields.push(value);
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/** A client KEXINIT carrying the four HASSH lists, with host key and languages lists filled in too. */
function clientKexInit(algorithms: string): KexInit {
  const [kex = '', enc = '', mac = '', comp = ''] = algorithms.split(';');
  const packet = buildKexInitPacket({ lists: [kex, 'ssh-ed25519,rsa-sha2-512', enc, 'aes256-ctr', mac, 'hmac-sha2-512', comp, 'none', '', ''] });
  const parsed = parseKexInit(packet);
  assert.ok(typeof parsed === 'object' && 'kexinit' in parsed);
  return parsed.kexinit;
}

test('all 49 rows of hassh_fingerprints.csv', () => {
  const [header = '', ...lines] = readFileSync(join(fixtures, 'hassh', 'hassh_fingerprints.csv'), 'utf8').split(/\r?\n/).filter((l) => l !== '');
  const columns = csvRow(header);
  const hashColumn = columns.indexOf('hassh');
  const algorithmsColumn = columns.indexOf('hasshAlgorithms');
  assert.ok(hashColumn >= 0 && algorithmsColumn >= 0);
  assert.equal(lines.length, 49);
  for (const line of lines) {
    const row = csvRow(line);
    const algorithms = row[algorithmsColumn] ?? '';
    const result = hassh(clientKexInit(algorithms));
    assert.equal(result.hasshAlgorithms, algorithms);
    assert.equal(result.hassh, row[hashColumn], row.slice(0, 4).join(' '));
  }
});

test('published examples: Cyberduck 6.7.1 client, OpenSSH 5.3 server', () => {
  const cyberduck =
    'curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group15-sha512,diffie-hellman-group16-sha512,diffie-hellman-group17-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256@ssh.com,diffie-hellman-group15-sha256,diffie-hellman-group15-sha256@ssh.com,diffie-hellman-group15-sha384@ssh.com,diffie-hellman-group16-sha256,diffie-hellman-group16-sha384@ssh.com,diffie-hellman-group16-sha512@ssh.com,diffie-hellman-group18-sha512@ssh.com' +
    ';aes128-cbc,aes128-ctr,aes192-cbc,aes192-ctr,aes256-cbc,aes256-ctr,blowfish-cbc,blowfish-ctr,cast128-cbc,cast128-ctr,idea-cbc,idea-ctr,serpent128-cbc,serpent128-ctr,serpent192-cbc,serpent192-ctr,serpent256-cbc,serpent256-ctr,3des-cbc,3des-ctr,twofish128-cbc,twofish128-ctr,twofish192-cbc,twofish192-ctr,twofish256-cbc,twofish256-ctr,twofish-cbc,arcfour,arcfour128,arcfour256' +
    ';hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-sha2-256,hmac-sha2-512' +
    ';zlib@openssh.com,zlib,none';
  assert.equal(hassh(clientKexInit(cyberduck)).hassh, '8a8ae540028bf433cd68356c1b9e8d5b');

  const server = ['diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1',
    'aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour,rijndael-cbc@lysator.liu.se',
    'hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96',
    'none,zlib@openssh.com'];
  const kexinit: KexInit = { cookie: new Uint8Array(16), lists: [server[0]!, 'ssh-rsa', 'x', server[1]!, 'y', server[2]!, 'z', server[3]!, '', ''], firstKexPacketFollows: false };
  const result = hasshServer(kexinit);
  assert.equal(result.hasshServerAlgorithms, server.join(';'));
  // The README lists this server's algorithms but not their hash; this md5 was computed apart.
  assert.equal(result.hasshServer, 'b1c6c0d56317555b85c7005a3de29325');
});

test('the Go sensor vector: constructed KEXINIT behind an OpenSSH_8.0 banner', () => {
  const lists = ['curve25519-sha256', 'ssh-ed25519', 'chacha20-poly1305@openssh.com', 'chacha20-poly1305@openssh.com', 'umac-64-etm@openssh.com', 'umac-64-etm@openssh.com', 'none', 'none'];
  const stream = Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_8.0\r\n'), buildKexInitPacket({ lists })]);
  const id = parseSshIdentification(stream);
  assert.ok(typeof id === 'object');
  const kex = parseKexInit(stream.subarray(id.length));
  assert.ok(typeof kex === 'object' && 'kexinit' in kex);
  assert.equal(hassh(kex.kexinit).hassh, 'a17d59ed5f42f0cd92f2c5e3cc47c442');
  assert.equal(hassh(kex.kexinit).hasshAlgorithms, 'curve25519-sha256;chacha20-poly1305@openssh.com;umac-64-etm@openssh.com;none');
});

interface ExpectedSsh {
  ssh_extras?: { hassh: string; hassh_server: string; ssh_protocol_client: string; ssh_protocol_server: string };
}

for (const pcap of ['ssh.pcapng', 'ssh2-malformed.pcap']) {
  test(`capture ${pcap}: hassh and hasshServer from the reassembled streams`, () => {
    const rows = JSON.parse(readFileSync(join(fixtures, 'ja4', 'expected', `${pcap}.json`), 'utf8')) as ExpectedSsh[];
    const expected = rows.find((row) => row.ssh_extras !== undefined)?.ssh_extras;
    assert.ok(expected);
    const [stream] = readTcpStreams(join(fixtures, 'ja4', 'pcap', pcap));
    assert.ok(stream);
    const kexinitOf = (buf: Uint8Array, identification: string): KexInit => {
      const id = parseSshIdentification(buf);
      assert.ok(typeof id === 'object');
      assert.equal(id.ident.raw, identification);
      const kex = parseKexInit(buf.subarray(id.length));
      assert.ok(typeof kex === 'object' && 'kexinit' in kex);
      return kex.kexinit;
    };
    assert.equal(hassh(kexinitOf(stream.client, expected.ssh_protocol_client)).hassh, expected.hassh);
    assert.equal(hasshServer(kexinitOf(stream.server, expected.ssh_protocol_server)).hasshServer, expected.hassh_server);
  });
}

test('the ssh.pcapng client is the published OpenSSH 7.6/7.7 hassh', () => {
  const [stream] = readTcpStreams(join(fixtures, 'ja4', 'pcap', 'ssh.pcapng'));
  assert.ok(stream);
  const id = parseSshIdentification(stream.client);
  assert.ok(typeof id === 'object');
  const kex = parseKexInit(stream.client.subarray(id.length));
  assert.ok(typeof kex === 'object' && 'kexinit' in kex);
  assert.equal(hassh(kex.kexinit).hassh, '06046964c022c6407d15a27b12a6a4fb');
  assert.equal(hasshServer(kex.kexinit).hasshServer.length, 32);
});
