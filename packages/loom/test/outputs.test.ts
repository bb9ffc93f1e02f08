import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeElasticsearch, mappingError, rejectedExecution } from './fakes/elasticsearch.js';
import { request } from './helpers/http.js';
import { baseToml, spipEvent, startLoom, tempDir } from './helpers/loom-process.js';

/*
 * Several outputs at once, through a real Loom: stdout, a plaintext audit file and
 * Elasticsearch (the in-process fake) that refuses one document for good and asks for
 * another to be retried.
 */

const TOKEN = 'outputs-test-token-0123456789abcdef';
const env = { LOOM_SENSOR_spip_01: TOKEN };

let elasticsearch: FakeElasticsearch;
before(async () => {
  elasticsearch = await FakeElasticsearch.start();
});
after(async () => {
  await elasticsearch.close();
});

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('stdout, a plaintext file and Elasticsearch get every event; a refused document goes to the dead-letter file with its reason', async () => {
  const dir = await tempDir('loom-outputs-');
  const audit = join(dir, 'audit.log');
  const outbox = join(dir, 'outbox');
  // Event 3 has a field Elasticsearch cannot map: refused for good. Event 5 is refused once with 429, then accepted.
  let throttled = false;
  elasticsearch.failDocument = (document) => {
    if (document.source.includes('-000000000003"')) return mappingError('elasticsearch', elasticsearch.version, 'source.port', 'not-a-port');
    if (document.source.includes('-000000000005"') && !throttled) {
      throttled = true;
      return rejectedExecution();
    }
    return undefined;
  };
  const loom = await startLoom({
    env,
    toml: baseToml({
      extra: `
[outputs.audit]
type = "file"
file_path = "${audit}"
format = "plaintext"
column_order = ["@timestamp", "source.ip", "event.summary"]
plaintext_field_delimiter = "|"

[outputs.search]
type = "elasticsearch"
elasticsearch_url = "${elasticsearch.url}"
elasticsearch_index = "loom-%{+yyyy.MM.dd}"
batch_max_wait_ms = 20
[outputs.search.outbox]
dir = "${outbox}"
retry_backoff_ms = 50
`,
    }),
  });
  try {
    const events = Array.from({ length: 8 }, (_, i) => ({ ...spipEvent(i), event: { ...(spipEvent(i).event as object), summary: i === 1 ? 'GET /a|b' : `probe ${i}` } }));
    const reply = await request(`http://127.0.0.1:${loom.ingestPort}/api/v1/ingest`, JSON.stringify(events), {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(reply.status, 204, reply.text);

    await loom.until(() => loom.stdoutLines.filter((line) => line !== '').length === 8, '8 events on stdout');
    const lines = (await readFile(audit, 'utf8')).split('\n');
    assert.equal(lines[0], '2026-02-15T19:47:09Z|167.94.146.54|probe 0');
    assert.equal(lines[1], '2026-02-15T19:47:09Z|167.94.146.54|GET /a\\x7cb', 'a delimiter inside a value is escaped');
    assert.equal(lines.length, 9);

    await eventually(() => elasticsearch.documents('loom-2026.02.15').length === 7, '7 documents in the daily index');
    const stored = elasticsearch.documents('loom-2026.02.15').map((doc) => (doc.source as { event: { id: string } }).event.id);
    assert.equal(new Set(stored).size, 7, 'the retried document is stored once');
    assert.ok(!stored.some((id) => id.endsWith('000000000003')));

    const deadLetters = join(outbox, 'search', 'dead-letter.ndjson');
    await eventually(async () => (await readFile(deadLetters, 'utf8').catch(() => '')).length > 0, 'the dead letter');
    const [letter, ...more] = (await readFile(deadLetters, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { reason: string; error: string; event: { event: { id: string } } });
    assert.equal(more.length, 0);
    assert.equal(letter?.reason, 'rejected');
    assert.match(letter?.error ?? '', /^400 document_parsing_exception: .*failed to parse field \[source\.port\]/);
    assert.match(letter?.event.event.id ?? '', /000000000003$/);

    const metrics = (await request(`http://127.0.0.1:${loom.managementPort}/metrics`, undefined, { method: 'GET' })).text;
    assert.match(metrics, /loom_output_dead_letter_events_total\{output="search"\} 1\n/);
    assert.match(metrics, /loom_output_delivered_events_total\{output="search"\} 7\n/);
    assert.match(metrics, /loom_output_sent_events_total\{output="audit"\} 8\n/);
  } finally {
    await loom.stop();
  }
});
