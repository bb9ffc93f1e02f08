import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityIdPattern, md5, missing, runClient } from './helpers/e2e-clients.js';
import { startSpip, type SpipEvent, type SpipProcess } from './helpers/spip-process.js';

const running: SpipProcess[] = [];
after(async () => {
  for (const spip of running) await spip.stop();
});

const batch = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-F', 'none'];

/** Runs `ssh -v` and returns its debug output; the sensor ends every SSH connection after the KEXINIT. */
async function sshClient(port: number, options: string[] = []): Promise<string> {
  const res = await runClient('ssh', ['-v', '-p', String(port), ...batch, ...options, 'x@127.0.0.1', 'true'], { timeoutMs: 15_000 });
  assert.equal(res.code, 255, `ssh should fail to log in:\n${res.stderr}`);
  return res.stderr;
}

function sshEvent(spip: SpipProcess): Promise<SpipEvent> {
  return spip.until(() => spip.events.find((e) => e.event.action === 'ssh'), 'the ssh event');
}

describe('OpenSSH client against the real spip', { skip: missing('ssh') }, () => {
  test('default banner; identification and HASSH of the client', async () => {
    const spip = await startSpip('');
    running.push(spip);
    const debug = await sshClient(spip.port);
    assert.match(debug, /Remote protocol version 2\.0, remote software version spip\r?$/m);
    const local = /Local version string (SSH-2\.0-\S+(?: [^\r\n]*)?)\r?$/m.exec(debug)?.[1];
    assert.ok(local, debug);

    const e = await sshEvent(spip);
    assert.equal(e.network.protocol, 'ssh');
    assert.equal(e.ssh.client.identification, local, 'the line the client says it sent');
    assert.equal(e.ssh.client.protocol_version, '2.0');
    assert.match(e.ssh.client.software_version, /^OpenSSH_/);
    assert.equal(e.ssh.client.software_version, local.slice('SSH-2.0-'.length).split(' ')[0]);
    assert.match(e.ssh.client.hash.hassh, /^[0-9a-f]{32}$/);
    assert.equal(e.ssh.client.hash.hassh, md5(e.ssh.client.hassh_algorithms));
    assert.equal(e.destination.bytes, 'SSH-2.0-spip\r\n'.length, 'the banner, nothing else');
    assert.ok(e.source.bytes > local.length);
    assert.match(e.network.community_id, communityIdPattern);
    assert.equal(Buffer.from(e.event.original_payload_hex, 'hex').toString('latin1').slice(0, local.length + 2), `${local}\r\n`);
  });

  test('configured banner; HASSH reflects the algorithms the client was told to offer', async () => {
    const spip = await startSpip('[ssh]\nbanner = "SSH-2.0-OpenSSH_8.9p1"');
    running.push(spip);
    const debug = await sshClient(spip.port, ['-o', 'KexAlgorithms=curve25519-sha256', '-o', 'Ciphers=aes128-ctr', '-o', 'MACs=hmac-sha2-256', '-o', 'Compression=yes']);
    assert.match(debug, /Remote protocol version 2\.0, remote software version OpenSSH_8\.9p1\r?$/m);

    const e = await sshEvent(spip);
    const [kex = '', enc, mac, comp] = e.ssh.client.hassh_algorithms.split(';');
    const [firstKex, ...pseudo] = kex.split(',');
    assert.equal(firstKex, 'curve25519-sha256');
    // OpenSSH appends markers for extension negotiation and strict key exchange; they are not algorithms.
    for (const marker of pseudo) assert.match(marker, /^(ext-info-c|kex-strict-c-v00@openssh\.com)$/);
    assert.equal(enc, 'aes128-ctr');
    assert.equal(mac, 'hmac-sha2-256');
    // OpenSSH always lists every compression method it has; the option decides which comes first.
    assert.equal(comp?.split(',')[0], 'zlib@openssh.com');
    assert.equal(e.ssh.client.hash.hassh, md5(`${kex};aes128-ctr;hmac-sha2-256;${comp}`));
    assert.equal(e.destination.bytes, 'SSH-2.0-OpenSSH_8.9p1\r\n'.length);
  });
});
