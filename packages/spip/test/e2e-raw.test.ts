import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityIdPattern, exchange, missing, runClient } from './helpers/e2e-clients.js';
import { freePort, startSpip, type SpipEvent, type SpipProcess } from './helpers/spip-process.js';

let spip: SpipProcess;
before(async () => {
  spip = await startSpip('');
});
after(async () => {
  await spip?.stop();
});

/** ncat from a known source port, so its event can be told apart. */
async function ncat(args: string[], input: string | Buffer = ''): Promise<{ stdout: string; sourcePort: number }> {
  const sourcePort = await freePort();
  const res = await runClient('ncat', ['-p', String(sourcePort), ...args, '127.0.0.1', String(spip.port)], { input, timeoutMs: 15_000 });
  assert.equal(res.code, 0, res.stderr);
  return { stdout: res.stdout, sourcePort };
}

function assertPayloadEvent(e: SpipEvent, bytes: Buffer): void {
  assert.equal(e.event.action, 'payload');
  assert.equal(e.event.original_payload_hex, bytes.toString('hex'));
  assert.equal(e.source.bytes, bytes.length);
  assert.equal(e.destination.bytes, '127.0.0.1'.length);
  assert.equal(e.network.protocol, undefined);
  assert.equal(e.http, undefined);
  assert.equal(e.tls, undefined);
  assert.equal(e.ssh, undefined);
  assert.equal(e.spip.payload_captured_bytes, bytes.length);
  assert.equal(e.spip.payload_truncated, false);
  assert.match(e.network.community_id, communityIdPattern);
}

describe('ncat raw payloads', { skip: missing('ncat') }, () => {
  test('BitTorrent handshake text: summary and hex as in the Go sensor README', async () => {
    const res = await ncat([], 'BitTorrent protocol');
    assert.equal(res.stdout, '127.0.0.1');
    const e = await spip.eventFrom(res.sourcePort);
    assertPayloadEvent(e, Buffer.from('BitTorrent protocol'));
    assert.equal(e.event.summary, 'BitTorrent protocol');
    assert.equal(e.event.original_payload_hex, '426974546f7272656e742070726f746f636f6c');
  });

  test('invalid UTF-8: the hex is exact, the summary replaces what cannot be decoded', async () => {
    // 0xff never starts a UTF-8 sequence; 0xc3 0x28 is a lead byte without its continuation.
    const bytes = Buffer.from([0xff, 0x41, 0xc3, 0x28, 0xe2, 0x82, 0xac, 0x00, 0x5a]);
    const res = await ncat([], bytes);
    assert.equal(res.stdout, '127.0.0.1');
    const e = await spip.eventFrom(res.sourcePort);
    assertPayloadEvent(e, bytes);
    assert.equal(e.event.original_payload_hex, 'ff41c328e282ac005a');
    assert.equal(e.event.summary, '\ufffdA\ufffd(\u20ac\u0000Z');
  });

  test('ncat -z (connect, send nothing, close) is recorded as connect-only', async () => {
    const res = await ncat(['-z']);
    const e = await spip.eventFrom(res.sourcePort);
    assert.equal(e.event.action, 'connect-only');
    assert.equal(e.event.original_payload_hex, undefined);
    assert.equal(e.event.summary, undefined);
    assert.equal(e.source.bytes, 0);
    assert.equal(e.destination.bytes, 0);
    assert.equal(e.spip.payload_captured_bytes, 0);
    assert.equal(e.network.protocol, undefined);
    assert.match(e.network.community_id, communityIdPattern);
  });
});

test('raw socket "Hello TCP!" gets exactly the client address back', async () => {
  const { reply, sourcePort } = await exchange(spip.port, 'Hello TCP!', { replyBytes: '127.0.0.1'.length });
  assert.equal(reply, '127.0.0.1');
  const e = await spip.eventFrom(sourcePort);
  assertPayloadEvent(e, Buffer.from('Hello TCP!'));
  assert.equal(e.event.summary, 'Hello TCP!');
  assert.equal(e.source.ip, '127.0.0.1');
  assert.equal(e.destination.port, spip.port);
});
