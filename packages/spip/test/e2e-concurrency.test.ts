import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { communityIdPattern, exchange, missing } from './helpers/e2e-clients.js';
import { startSpip, type SpipProcess } from './helpers/spip-process.js';

let spip: SpipProcess | undefined;
after(async () => {
  await spip?.stop();
});

test('20 plain and 20 TLS clients at once: every one answered, one event each', { skip: missing('openssl') }, async () => {
  spip = await startSpip('tls_self_signed = true');
  const port = spip.port;
  const clients = [
    ...Array.from({ length: 20 }, (_, i) => ({ tls: false, text: `TCP probe ${i}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ tls: true, text: `TLS probe ${i}` })),
  ];
  const results = await Promise.all(clients.map((c) => exchange(port, c.text, { tls: c.tls, replyBytes: '127.0.0.1'.length, timeoutMs: 15_000 })));
  for (const [i, r] of results.entries()) assert.equal(r.reply, '127.0.0.1', `client ${i}`);

  const running = spip;
  await running.until(() => running.events.length >= clients.length, `${clients.length} events`, 15_000);
  assert.equal(running.events.length, clients.length);
  for (const [i, client] of clients.entries()) {
    const sourcePort = results[i]?.sourcePort;
    const e = running.events.find((ev) => ev.source.port === sourcePort);
    assert.ok(e, `event of client ${i} (source port ${sourcePort})`);
    assert.equal(e.event.action, 'payload');
    assert.equal(e.event.summary, client.text);
    assert.equal(e.destination.port, port);
    assert.match(e.network.community_id, communityIdPattern);
    if (client.tls) {
      assert.equal(e.tls?.established, true);
      assert.equal(e.network.protocol, 'tls');
    } else {
      assert.equal(e.tls, undefined);
    }
  }
  assert.equal(new Set(running.events.map((e) => e.event.id)).size, clients.length, 'one event id per connection');
});
