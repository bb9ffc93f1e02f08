import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { FakeSplunkHec, type FakeHecOptions } from '../../../test/fakes/splunk-hec.js';
import { request } from '../../../test/helpers/http.js';

// The destination's tests rely on the fake answering as HEC documents; these pin that down
// with hand-written requests, independent of the destination.

const fakes: FakeSplunkHec[] = [];
after(async () => {
  for (const fake of fakes) await fake.close();
});

async function start(options: FakeHecOptions = {}): Promise<FakeSplunkHec> {
  const fake = await FakeSplunkHec.start(options);
  fakes.push(fake);
  return fake;
}

function post(fake: FakeSplunkHec, path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return request(`${fake.url}${path}`, body, { headers: { authorization: `Splunk ${fake.token}`, ...headers } });
}

test('the token is checked with the documented codes', async () => {
  const fake = await start();
  const body = '{"event":"x"}';
  const missing = await request(`${fake.url}/services/collector/event`, body);
  assert.deepEqual([missing.status, missing.json], [401, { text: 'Token is required', code: 2 }]);
  const bearer = await post(fake, '/services/collector/event', body, { authorization: `Bearer ${fake.token}` });
  assert.deepEqual([bearer.status, bearer.json], [401, { text: 'Invalid authorization', code: 3 }]);
  const wrong = await post(fake, '/services/collector/event', body, { authorization: 'Splunk nope' });
  assert.deepEqual([wrong.status, wrong.json], [403, { text: 'Invalid token', code: 4 }]);
  const empty = await post(fake, '/services/collector/event', '');
  assert.deepEqual([empty.status, empty.json], [400, { text: 'No data', code: 5 }]);
  const health = await request(`${fake.url}/services/collector/health`, undefined, { method: 'GET' });
  assert.deepEqual([health.status, health.json], [200, { text: 'HEC is healthy', code: 17 }]);
});

test('concatenated events, with or without whitespace and gzip; malformed JSON stops at its position', async () => {
  const fake = await start();
  const ok = await post(fake, '/services/collector/event', gzipSync('{"event":{"a":1}}{"event":"b","index":"x"}\n  {"event":{"c":"}{"}}'), { 'content-encoding': 'gzip' });
  assert.deepEqual([ok.status, ok.json], [200, { text: 'Success', code: 0 }]);
  assert.deepEqual(fake.events.map((e) => [e.event, e.index]), [[{ a: 1 }, 'main'], ['b', 'x'], [{ c: '}{' }, 'main']]);
  const bad = await post(fake, '/services/collector/event', '{"event":"d"}\n{"event": "e\n{"event":"f"}');
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json, { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 });
  assert.deepEqual(fake.events.map((e) => e.event).slice(3), ['d'], 'the event before the malformed one is indexed, the one after is not');
});

test('missing or blank event fields and disallowed indexes are refused at their position', async () => {
  const fake = await start({ indexes: ['main'] });
  const noEvent = await post(fake, '/services/collector/event', '{"event":1}{"host":"h"}');
  assert.deepEqual(noEvent.json, { text: 'Event field is required', code: 12, 'invalid-event-number': 1 });
  const blank = await post(fake, '/services/collector/event', '{"event":"  "}');
  assert.deepEqual(blank.json, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': 0 });
  const index = await post(fake, '/services/collector/event', '{"event":1,"index":"main"}{"event":2,"index":"other"}');
  assert.deepEqual(index.json, { text: 'Incorrect index', code: 7, 'invalid-event-number': 1 });
  assert.deepEqual(fake.events.map((e) => e.event), [1, 1]);
});

test('acknowledgement: channel required, ackIds per channel, true once then forgotten', async () => {
  const fake = await start({ ack: true });
  const channel = 'fe0ecfad-13d5-401b-847d-77043bd77131';
  const noChannel = await post(fake, '/services/collector/event', '{"event":1}');
  assert.deepEqual([noChannel.status, noChannel.json], [400, { text: 'Data channel is missing', code: 10 }]);
  const badChannel = await post(fake, '/services/collector/event', '{"event":1}', { 'x-splunk-request-channel': 'abc' });
  assert.deepEqual(badChannel.json, { text: 'Invalid data channel', code: 11 });
  const first = await post(fake, '/services/collector/event', '{"event":1}', { 'x-splunk-request-channel': channel });
  const second = await post(fake, `/services/collector/event?channel=${channel}`, '{"event":2}');
  assert.deepEqual([first.json, second.json], [{ text: 'Success', code: 0, ackId: 0 }, { text: 'Success', code: 0, ackId: 1 }]);
  const acks = await post(fake, `/services/collector/ack?channel=${channel}`, '{"acks":[0,1,7]}');
  assert.deepEqual(acks.json, { acks: { 0: true, 1: true, 7: false } });
  const again = await post(fake, `/services/collector/ack?channel=${channel}`, '{"acks":[0]}');
  assert.deepEqual(again.json, { acks: { 0: false } });
  const noAck = await start();
  const disabled = await post(noAck, `/services/collector/ack?channel=${channel}`, '{"acks":[0]}');
  assert.deepEqual([disabled.status, disabled.json], [400, { text: 'ACK is disabled', code: 14 }]);
});
