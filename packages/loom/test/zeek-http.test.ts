import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { baseToml, startLoom, type LoomProcess } from './helpers/loom-process.js';
import { request, type Reply } from './helpers/http.js';

const token = 'zeek-token-0123456789abcdef';
const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' };
const fixture = (log: string): string => readFileSync(new URL(`../../test/fixtures/zeek/${log}.log`, import.meta.url), 'utf8');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('Zeek logs over HTTP', () => {
  let loom: LoomProcess;
  const post = (path: string, body: string | Uint8Array, extra: Record<string, string> = {}): Promise<Reply> =>
    request(loom.url(path), body, { headers: { ...headers, ...extra } });
  async function accepted(path: string, body: string | Uint8Array, count: number, extra: Record<string, string> = {}): Promise<Json[]> {
    const from = loom.stdoutLines.length;
    const reply = await post(path, body, extra);
    assert.equal(reply.status, 204, reply.text);
    await loom.until(() => loom.stdoutLines.length >= from + count, `${count} events`);
    return loom.stdoutLines.slice(from, from + count).map((line) => JSON.parse(line) as Json);
  }

  before(async () => {
    loom = await startLoom({ toml: baseToml({ limits: 'per_sensor_rps = -1\nmax_events_per_batch = 10' }), env: { LOOM_SENSOR_zeek_sensor_1: token } });
    assert.ok(loom.ingestPort > 0, loom.stderrText);
  });
  after(async () => {
    assert.equal(await loom.stop(), 0);
  });

  for (const log of ['conn', 'dns', 'ssl', 'http']) {
    test(`${log}.log lines posted to /api/v1/zeek/${log} become zeek.${log} events`, async () => {
      const lines = fixture(log).trim().split('\n');
      const events = await accepted(`/api/v1/zeek/${log}`, fixture(log), lines.length);
      lines.forEach((line, i) => {
        const zeek = JSON.parse(line) as Json;
        const event = events[i] as Json;
        assert.equal(event.event.dataset, `zeek.${log}`);
        assert.equal(event.zeek.session_id, zeek.uid);
        assert.equal(event.source.ip, zeek['id.orig_h']);
        assert.equal(event.destination.ip, zeek['id.resp_h']);
        assert.deepEqual(event.observer, { name: 'zeek-sensor-1', product: 'zeek' });
        assert.match(event.network.community_id, /^1:[A-Za-z0-9+/]{27}=$/);
      });
    });
  }

  test('the log-specific fields arrive, and the same connection has the same Community ID in every log', async () => {
    const [conn] = await accepted('/api/v1/zeek/conn', fixture('conn').split('\n')[1] as string, 1);
    const [ssl] = await accepted('/api/v1/zeek/ssl', fixture('ssl').split('\n')[0] as string, 1);
    const [dns] = await accepted('/api/v1/zeek/dns', fixture('dns').split('\n')[0] as string, 1);
    const [http] = await accepted('/api/v1/zeek/http', fixture('http').split('\n')[0] as string, 1);
    assert.equal(conn?.network.community_id, ssl?.network.community_id);
    assert.equal(ssl?.tls.client.server_name, 'example.com');
    assert.equal(dns?.dns.question.name, 'example.com');
    assert.equal(http?.http.response.status_code, 404);
    assert.equal(conn?.source.bytes, 1652);
  });

  test('gzip, a JSON array, and /api/v1/zeek with "_path" on each line (json-streaming-logs)', async () => {
    assert.equal((await accepted('/api/v1/zeek/dns', gzipSync(fixture('dns')), 3)).length, 3);
    const array = `[${fixture('http').trim().split('\n').join(',')}]`;
    assert.equal((await accepted('/api/v1/zeek/http', array, 2, { 'Content-Type': 'application/json' })).length, 2);
    const streaming = ['conn', 'dns'].map((log) => JSON.stringify({ _path: log, _write_ts: '2024-08-11T04:40:01.000000Z', ...(JSON.parse(fixture(log).split('\n')[0] as string) as Json) })).join('\n');
    const events = await accepted('/api/v1/zeek', streaming, 2);
    assert.deepEqual(events.map((e) => e.event.dataset), ['zeek.conn', 'zeek.dns']);
    assert.equal(events[0]?.zeek.conn._path, undefined);
    assert.equal(events[0]?.zeek.conn._write_ts, '2024-08-11T04:40:01.000000Z');
  });

  test('a bad line refuses the batch with 400 naming the record and field', async () => {
    const lines = fixture('conn').trim().split('\n');
    lines[3] = lines[3]?.replace('"ts":1723351203.0,', '') ?? '';
    lines[4] = lines[4]?.replace('"id.resp_p":22', '"id.resp_p":"22"') ?? '';
    const from = loom.stdoutLines.length;
    const reply = await post('/api/v1/zeek/conn', lines.join('\n'));
    assert.equal(reply.status, 400, reply.text);
    assert.match(String(reply.json?.message), /^record 3: ts is missing \(2 problems in 2 records, listed in "records"\)/);
    assert.deepEqual((JSON.parse(reply.text) as Json).records, [
      { index: 3, field: 'ts', message: 'ts is missing' },
      { index: 4, field: 'id.resp_p', message: 'id.resp_p "22" is not a port (0–65535)' },
    ]);
    const tsv = await post('/api/v1/zeek/conn', '#separator \\x09\n#fields\tts\tuid\n');
    assert.equal(tsv.status, 400);
    assert.match(String(tsv.json?.message), /line 1 is not valid JSON/);
    const streaming = await post('/api/v1/zeek', JSON.stringify({ _path: 'weird', ts: 1 }));
    assert.equal(streaming.status, 400);
    assert.match(String(streaming.json?.message), /record 0: names log "weird" in "_path"; Loom maps conn, dns, ssl, http/);
    assert.equal(loom.stdoutLines.length, from);
  });

  test('an unknown log is 404, before authentication; a missing token is 401', async () => {
    const unknown = await post('/api/v1/zeek/files', fixture('conn'), { Authorization: '' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json?.error, 'not_found');
    assert.match(String(unknown.json?.message), /no Zeek log "files": Loom maps conn, dns, ssl, http/);
    const anonymous = await post('/api/v1/zeek/conn', fixture('conn'), { Authorization: '' });
    assert.equal(anonymous.status, 401);
    const tooMany = await post('/api/v1/zeek/conn', `${fixture('conn')}${fixture('conn')}${fixture('conn')}`);
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.json?.error, 'batch_too_large');
  });

  test('metrics count Zeek events and refusals by reason', async () => {
    const text = (await (await fetch(loom.managementUrl('/metrics'))).text()).split('\n').filter((line) => line.startsWith('loom_input')).join('\n');
    assert.match(text, /loom_input_events_total\{input="zeek"\} 23$/m);
    assert.match(text, /loom_input_rejected_total\{input="zeek",reason="invalid_record"\} 2$/m);
    assert.match(text, /loom_input_rejected_total\{input="zeek",reason="invalid_json"\} 1$/m);
    assert.match(text, /loom_input_rejected_total\{input="zeek",reason="unknown_log"\} 1$/m);
    assert.match(text, /loom_input_rejected_total\{input="zeek",reason="batch_too_large"\} 1$/m);
  });
});
