import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { baseToml, spipEvent, startLoom, type LoomProcess } from './helpers/loom-process.js';

const token = 'test-token-0123456789';
const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

async function post(loom: LoomProcess, body: string | Uint8Array, headers: Record<string, string> = auth, path = '/api/v1/ingest', method = 'POST') {
  const res = await fetch(loom.url(path), { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: text.startsWith('{') ? (JSON.parse(text) as { error: string; message: string }) : undefined };
}

describe('ingest API against a running loom', () => {
  let loom: LoomProcess;
  before(async () => {
    loom = await startLoom({ toml: baseToml({ limits: 'per_sensor_rps = -1\nmax_events_per_batch = 5\nmax_event_size_bytes = 2048\nmax_body_size_bytes = 65536' }), env: { LOOM_SENSOR_spip_001: token } });
    assert.ok(loom.ingestPort > 0, loom.stderrText);
  });
  after(async () => {
    assert.equal(await loom.stop(), 0);
  });

  test('a batch of Spip events gets 204 and each event is written unchanged, in order', async () => {
    const events = [spipEvent(1), spipEvent(2, '2001:db8::1')];
    const before = loom.stdoutLines.length;
    const res = await post(loom, JSON.stringify(events), { ...auth, 'X-Spip-ID': 'spip-001' });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await loom.until(() => loom.stdoutLines.length >= before + 2, 'two events on stdout');
    assert.deepEqual(loom.stdoutLines.slice(before), events.map((e) => JSON.stringify(e)));
  });

  test('all three paths are equivalent', async () => {
    for (const path of ['/', '/ingest', '/api/v1/ingest']) {
      assert.equal((await post(loom, '[{"a":1}]', auth, path)).status, 204, path);
    }
  });

  test('keys keep their order and events without source get none', async () => {
    const before = loom.stdoutLines.length;
    const body = '[{"zeta":1,"alpha":{"y":true,"b":null},"destination":{"port":22}}]';
    assert.equal((await post(loom, body)).status, 204);
    await loom.until(() => loom.stdoutLines.length > before, 'event on stdout');
    assert.equal(loom.stdoutLines[before], '{"zeta":1,"alpha":{"y":true,"b":null},"destination":{"port":22}}');
  });

  test('charset parameter, NDJSON, {"records"} and gzip bodies are accepted', async () => {
    const before = loom.stdoutLines.length;
    assert.equal((await post(loom, '[{"n":1}]', { ...auth, 'Content-Type': 'application/json; charset=utf-8' })).status, 204);
    assert.equal((await post(loom, '{"n":2}\n{"n":3}\n', { ...auth, 'Content-Type': 'application/x-ndjson' })).status, 204);
    assert.equal((await post(loom, '{"records":[{"n":4}]}')).status, 204);
    assert.equal((await post(loom, gzipSync('[{"n":5}]'), { ...auth, 'Content-Encoding': 'gzip' })).status, 204);
    await loom.until(() => loom.stdoutLines.length >= before + 5, 'five events');
    assert.deepEqual(loom.stdoutLines.slice(before, before + 5), [1, 2, 3, 4, 5].map((n) => `{"n":${n}}`));
  });

  test('an empty array is accepted as zero events', async () => {
    assert.equal((await post(loom, '[]')).status, 204);
  });

  const errorCases: { name: string; body?: string; headers?: Record<string, string>; path?: string; method?: string; status: number; code: string; message: RegExp }[] = [
    { name: 'GET', method: 'GET', status: 405, code: 'method_not_allowed', message: /use POST/ },
    { name: 'PUT', method: 'PUT', body: '[]', status: 405, code: 'method_not_allowed', message: /PUT/ },
    { name: 'unknown path', path: '/nope', body: '[]', status: 404, code: 'not_found', message: /\/nope/ },
    { name: 'text/plain', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '[]', status: 415, code: 'invalid_content_type', message: /text\/plain/ },
    { name: 'content type checked before auth', headers: { 'Content-Type': 'text/plain' }, body: '[]', status: 415, code: 'invalid_content_type', message: /Content-Type/ },
    { name: 'brotli', headers: { ...auth, 'Content-Encoding': 'br' }, body: '[]', status: 415, code: 'unsupported_encoding', message: /br/ },
    { name: 'no auth', headers: { 'Content-Type': 'application/json' }, body: '[]', status: 401, code: 'unauthorized', message: /missing bearer token/ },
    { name: 'wrong token', headers: { ...auth, Authorization: 'Bearer wrong' }, body: '[]', status: 401, code: 'unauthorized', message: /invalid bearer token/ },
    { name: 'superstring token', headers: { ...auth, Authorization: `Bearer ${token}x` }, body: '[]', status: 401, code: 'unauthorized', message: /invalid/ },
    { name: 'basic auth', headers: { ...auth, Authorization: 'Basic dXNlcjpwYXNz' }, body: '[]', status: 401, code: 'unauthorized', message: /missing bearer/ },
    { name: 'X-Spip-ID mismatch', headers: { ...auth, 'X-Spip-ID': 'other-sensor' }, body: '[]', status: 401, code: 'unauthorized', message: /X-Spip-ID/ },
    { name: 'object body', body: '{"a":1}', status: 400, code: 'invalid_request', message: /array of events/ },
    { name: 'null body', body: 'null', status: 400, code: 'invalid_request', message: /array of events/ },
    { name: 'empty body', body: '', status: 400, code: 'invalid_request', message: /empty/ },
    { name: 'broken JSON', body: '[{"a":', status: 400, code: 'invalid_request', message: /not valid JSON/ },
    { name: 'null event', body: '[{"a":1},null]', status: 400, code: 'invalid_request', message: /event 1 is null/ },
    { name: 'number event', body: '[3]', status: 400, code: 'invalid_request', message: /event 0 is a number/ },
    { name: 'too many events', body: JSON.stringify(Array.from({ length: 6 }, () => ({}))), status: 413, code: 'batch_too_large', message: /6 events; limits.max_events_per_batch is 5/ },
    { name: 'event too large', body: JSON.stringify([{ a: 'x'.repeat(3000) }]), status: 413, code: 'event_too_large', message: /event 0 is \d+ bytes/ },
    { name: 'body too large', body: JSON.stringify([{ a: 'x'.repeat(70_000) }]), status: 413, code: 'payload_too_large', message: /limits.max_body_size_bytes \(65536\)/ },
    { name: 'gzip bomb', headers: { ...auth, 'Content-Encoding': 'gzip' }, status: 413, code: 'payload_too_large', message: /decompressed body/ },
    { name: 'corrupt gzip', headers: { ...auth, 'Content-Encoding': 'gzip' }, status: 400, code: 'invalid_request', message: /gzip body is corrupt/ },
    { name: 'gzip declared, plain body', headers: { ...auth, 'Content-Encoding': 'gzip' }, body: '[{"a":1}]', status: 400, code: 'invalid_request', message: /does not start with a gzip header/ },
  ];
  for (const c of errorCases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = loom.stdoutLines.length;
      const body = c.name === 'gzip bomb' ? gzipSync(Buffer.alloc(50 << 20, 0x5b))
        : c.name === 'corrupt gzip' ? Buffer.concat([gzipSync('[{"a":1}]').subarray(0, 10), Buffer.from('garbage')])
        : (c.body ?? '');
      const res = await post(loom, body, c.headers ?? auth, c.path ?? '/api/v1/ingest', c.method ?? 'POST');
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal(res.json?.error, c.code);
      assert.match(res.json?.message ?? '', c.message);
      if (c.status === 405) assert.equal(res.headers.get('allow'), 'POST');
      assert.equal(loom.stdoutLines.length, before, 'a rejected batch writes nothing');
    });
  }

  test('Expect: 100-continue is answered only after the token is checked', async () => {
    const exchange = (authorization: string) => new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false;
      const req = request(loom.url(), { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: authorization, Expect: '100-continue' } });
      req.on('continue', () => {
        continued = true;
        req.end('[{"expect":1}]');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ continued, status: res.statusCode ?? 0 }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.deepEqual(await exchange('Bearer wrong'), { continued: false, status: 401 });
    assert.deepEqual(await exchange(`Bearer ${token}`), { continued: true, status: 204 });
  });

  test('the process is still healthy after every error', async () => {
    const res = await fetch(loom.managementUrl('/health'));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  });

  test('metrics count requests by sensor and status, events and rejects', async () => {
    const text = await (await fetch(loom.managementUrl('/metrics'))).text();
    assert.match(text, /loom_ingest_requests_total\{sensor_id="spip-001",status="204"\} \d+/);
    assert.match(text, /loom_ingest_requests_total\{sensor_id="unknown",status="401"\} [1-9]/);
    assert.match(text, /loom_ingest_requests_total\{sensor_id="spip-001",status="413"\} [1-9]/);
    assert.match(text, /loom_ingest_events_total\{sensor_id="spip-001"\} [1-9]/);
    assert.match(text, /loom_ingest_rejected_total\{reason="batch_too_large"\} 1/);
    assert.match(text, /loom_ingest_batch_duration_seconds_count [1-9]/);
    assert.match(text, /loom_output_up\{output="stdout",type="stdout"\} 1/);
    assert.match(text, /process_resident_memory_bytes \d+/);
    assert.doesNotMatch(text, new RegExp(token));
  });

  test('tokens and bodies never appear in the logs', () => {
    assert.doesNotMatch(loom.stderrText, new RegExp(token));
    assert.doesNotMatch(loom.stderrText, /well-known\/security/);
  });
});

describe('per-sensor rate limit', () => {
  test('a token bucket gives 429 with Retry-After, per sensor, and logs the flood once', async () => {
    const loom = await startLoom({
      toml: baseToml({ limits: 'per_sensor_rps = 1\nper_sensor_burst = 3' }),
      env: { LOOM_SENSOR_a: 'token-a', LOOM_SENSOR_b: 'token-b' },
    });
    try {
      const send = (t: string) => post(loom, '[{"a":1}]', { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' });
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await send('token-a')).status);
      assert.deepEqual(statuses.slice(0, 3), [204, 204, 204]);
      assert.ok(statuses.slice(3).every((s) => s === 429), statuses.join(','));
      const limited = await send('token-a');
      assert.equal(limited.status, 429);
      assert.equal(limited.json?.error, 'rate_limit_exceeded');
      assert.equal(limited.headers.get('retry-after'), '1');
      assert.equal((await send('token-b')).status, 204, 'another sensor keeps its share');
      const warnings = loom.logs.filter((l) => l.msg === 'rate limit exceeded (429)');
      assert.equal(warnings.length, 1, 'repeated warnings are throttled');
    } finally {
      await loom.stop();
    }
  });
});

describe('output failure', () => {
  test('an output that cannot write gives 503 with Retry-After and /ready says why', async () => {
    const loom = await startLoom({
      toml: baseToml({ output: 'type = "file"\nfile_path = "/dev/full"\nfile_fsync = false' }),
      env: { LOOM_SENSOR_s: 'token-s' },
    });
    try {
      assert.equal((await fetch(loom.managementUrl('/ready'))).status, 200);
      const res = await post(loom, '[{"a":1}]', { Authorization: 'Bearer token-s', 'Content-Type': 'application/json' });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json?.error, 'output_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      const ready = await fetch(loom.managementUrl('/ready'));
      assert.equal(ready.status, 503);
      const readyText = await ready.text();
      assert.match(readyText, /^not ready: output file/);
      assert.match(readyText, /\noutput file \(file\): NOT OK: /, 'each output has its own line');
      const readyJson = await fetch(loom.managementUrl('/ready'), { headers: { Accept: 'application/json' } });
      const body = await readyJson.json() as { ready: boolean; outputs: { name: string; ok: boolean; reason: string }[] };
      assert.equal(body.ready, false);
      assert.deepEqual(body.outputs.map((o) => [o.name, o.ok]), [['file', false]]);
      assert.match(body.outputs[0]?.reason ?? '', /dev\/full|ENOSPC|no space/i);
    } finally {
      await loom.stop();
    }
  });
});
