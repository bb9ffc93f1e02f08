// The fake stands in for servers that cannot run here, so it is held to what the real ones
// are documented and observed to do, including what their official clients send and require.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { request } from '../../../test/helpers/http.js';
import { FakeElasticsearch, type FakeElasticsearchOptions } from '../../../test/fakes/elasticsearch.js';

const fakes: FakeElasticsearch[] = [];
after(async () => {
  for (const fake of fakes) await fake.close();
});

async function start(options: FakeElasticsearchOptions = {}): Promise<FakeElasticsearch> {
  const fake = await FakeElasticsearch.start(options);
  fakes.push(fake);
  return fake;
}

const ndjson = '{"index":{"_index":"logs","_id":"1"}}\n{"@timestamp":"2024-01-01T00:00:00Z","a":1}\n{"create":{"_index":"logs","_id":"1"}}\n{"a":2}\n';

/** Headers of @elastic/elasticsearch 9.x bulk(). */
const elasticClient9 = {
  'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=9',
  accept: 'application/vnd.elasticsearch+json; compatible-with=9',
};
/** Headers of @opensearch-project/opensearch bulk(). */
const openSearchClient = { 'content-type': 'application/x-ndjson' };

test('GET /: Elasticsearch names itself in X-Elastic-Product, which its official client requires', async () => {
  const fake = await start();
  const reply = await request(`${fake.url}/`, undefined, { method: 'GET' });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['x-elastic-product'], 'Elasticsearch');
  const info = JSON.parse(reply.text) as { version: Record<string, unknown>; tagline: string; cluster_name: string };
  assert.equal(info.version.number, '8.15.0');
  assert.equal(info.version.build_flavor, 'default');
  assert.equal(info.version.distribution, undefined);
  assert.equal(info.tagline, 'You Know, for Search');
  const head = await request(`${fake.url}/`, undefined, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('GET /: OpenSearch reports its distribution and sends no product header', async () => {
  const fake = await start({ flavour: 'opensearch' });
  const reply = await request(`${fake.url}/`, undefined, { method: 'GET' });
  assert.equal(reply.headers['x-elastic-product'], undefined);
  const info = JSON.parse(reply.text) as { version: Record<string, unknown>; tagline: string };
  assert.deepEqual([info.version.distribution, info.version.number], ['opensearch', '2.17.0']);
  assert.equal(info.tagline, 'The OpenSearch Project: https://opensearch.org/');
});

test('versions before 7.14 send no product header', async () => {
  const fake = await start({ version: '7.10.2' });
  assert.equal((await request(`${fake.url}/`, undefined, { method: 'GET' })).headers['x-elastic-product'], undefined);
});

test('bulk: item shapes for created, and for create on an existing _id (409)', async () => {
  const fake = await start();
  const reply = await request(`${fake.url}/_bulk`, ndjson, { headers: openSearchClient });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['x-elastic-product'], 'Elasticsearch');
  const body = JSON.parse(reply.text) as { took: number; errors: boolean; items: Array<Record<string, Record<string, unknown>>> };
  assert.equal(typeof body.took, 'number');
  assert.equal(body.errors, true);
  const created = body.items[0]?.index ?? {};
  assert.deepEqual(Object.keys(created).sort(), ['_id', '_index', '_primary_term', '_seq_no', '_shards', '_version', 'result', 'status']);
  assert.deepEqual([created._index, created._id, created._version, created.result, created.status], ['logs', '1', 1, 'created', 201]);
  const conflict = body.items[1]?.create ?? {};
  assert.equal(conflict.status, 409);
  assert.deepEqual(conflict.error, {
    type: 'version_conflict_engine_exception',
    reason: '[1]: version conflict, document already exists (current version [1])',
    index_uuid: 'aAsn2ZKrQYa6qSgeX6bcvw',
    shard: '0',
    index: 'logs',
  });
  assert.deepEqual(fake.documents('logs').map((d) => d.source), [{ '@timestamp': '2024-01-01T00:00:00Z', a: 1 }]);

  // index on an existing _id replaces it: 200 "updated", version 2.
  const again = JSON.parse((await request(`${fake.url}/_bulk`, ndjson.split('\n').slice(0, 2).join('\n') + '\n', { headers: openSearchClient })).text) as typeof body;
  assert.deepEqual([again.errors, again.items[0]?.index?.status, again.items[0]?.index?.result, again.items[0]?.index?._version], [false, 200, 'updated', 2]);
});

test('bulk: the official Elasticsearch 9 client media types work against 9 and are refused by 8', async () => {
  const nine = await start({ version: '9.1.0' });
  const ok = await request(`${nine.url}/_bulk`, ndjson, { headers: elasticClient9 });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-elastic-product'], 'Elasticsearch');
  const eight = await start();
  const refused = await request(`${eight.url}/_bulk`, ndjson, { headers: elasticClient9 });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /"type":"media_type_header_exception"/);
  const eightClient = await request(`${eight.url}/_bulk`, ndjson, {
    headers: { 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8', accept: 'application/vnd.elasticsearch+json; compatible-with=8' },
  });
  assert.equal(eightClient.status, 200);
});

test('bulk: OpenSearch takes application/x-ndjson and refuses Elastic media types', async () => {
  const fake = await start({ flavour: 'opensearch' });
  const ok = await request(`${fake.url}/_bulk`, ndjson, { headers: openSearchClient });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-elastic-product'], undefined);
  const refused = await request(`${fake.url}/_bulk`, ndjson, { headers: elasticClient9 });
  assert.equal(refused.status, 406);
  assert.deepEqual(JSON.parse(refused.text), { error: `Content-Type header [${elasticClient9['content-type']}] is not supported`, status: 406 });
});

test('bulk: malformed requests are refused whole, with the servers\' messages', async () => {
  const fake = await start();
  const missingNewline = await request(`${fake.url}/_bulk`, ndjson.trimEnd(), { headers: openSearchClient });
  assert.equal(missingNewline.status, 400);
  assert.match(missingNewline.text, /The bulk request must be terminated by a newline \[\\\\n\]/);
  const noIndex = await request(`${fake.url}/_bulk`, '{"index":{}}\n{"a":1}\n', { headers: openSearchClient });
  assert.match(noIndex.text, /Validation Failed: 1: index is missing;/);
  const pathIndex = await request(`${fake.url}/from-path/_bulk`, '{"index":{}}\n{"a":1}\n', { headers: openSearchClient });
  assert.equal(pathIndex.status, 200);
  assert.equal(fake.documents('from-path').length, 1);
  const noType = await request(`${fake.url}/_bulk`, 'text\n', { headers: { 'content-type': 'text/plain' } });
  assert.equal(noType.status, 406);
  const typeParam = await request(`${fake.url}/_bulk`, '{"index":{"_index":"x","_type":"doc"}}\n{}\n', { headers: openSearchClient });
  assert.match(typeParam.text, /contains an unknown parameter \[_type\]/);
  const get = await request(`${fake.url}/_bulk`, undefined, { method: 'GET' });
  assert.equal(get.status, 405);
});

test('bulk: per-document errors for bad JSON, an uppercase index, and index on a data stream', async () => {
  const fake = await start({ dataStreams: ['logs-app-default'] });
  const body = [
    '{"index":{"_index":"ok"}}', '{"a":',
    '{"index":{"_index":"Upper"}}', '{"a":1}',
    '{"index":{"_index":"logs-app-default"}}', '{"@timestamp":"2024-01-01T00:00:00Z"}',
    '{"create":{"_index":"logs-app-default"}}', '{"@timestamp":"2024-01-01T00:00:00Z"}',
    '',
  ].join('\n');
  const reply = JSON.parse((await request(`${fake.url}/_bulk`, body, { headers: openSearchClient })).text) as { items: Array<Record<string, { status: number; _index: string; error?: { type: string; reason: string } }>> };
  const results = reply.items.map((item) => Object.values(item)[0]);
  assert.deepEqual(results.map((r) => [r?.status, r?.error?.type]), [
    [400, 'document_parsing_exception'],
    [400, 'invalid_index_name_exception'],
    [400, 'illegal_argument_exception'],
    [201, undefined],
  ]);
  assert.equal(results[1]?.error?.reason, 'Invalid index name [Upper], must be lowercase');
  assert.equal(results[2]?.error?.reason, 'only write ops with an op_type of create are allowed in data streams');
  assert.match(results[3]?._index ?? '', /^\.ds-logs-app-default-/);
});

test('gzip and deflate request bodies are decoded; 413 (empty body) above http.max_content_length', async () => {
  const fake = await start({ maxContentLength: 150 });
  const small = '{"index":{"_index":"z"}}\n{"a":1}\n';
  const gz = await request(`${fake.url}/_bulk`, gzipSync(small), { headers: { ...openSearchClient, 'content-encoding': 'gzip' } });
  assert.equal(gz.status, 200);
  assert.equal(fake.documents('z').length, 1);
  const big = `{"index":{"_index":"z"}}\n{"a":"${'x'.repeat(200)}"}\n`;
  const tooLarge = await request(`${fake.url}/_bulk`, gzipSync(big), { headers: { ...openSearchClient, 'content-encoding': 'gzip' } });
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.text, '');
});

test('security: 401 bodies and challenges as Elasticsearch sends them, without the product header', async () => {
  const fake = await start({ auth: { user: 'elastic', password: 'changeme' } });
  const missing = await request(`${fake.url}/_bulk`, ndjson, { headers: openSearchClient });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['x-elastic-product'], undefined);
  assert.ok(String(missing.headers['www-authenticate']).includes('Basic realm="security"'));
  const body = JSON.parse(missing.text) as { error: { type: string; reason: string; root_cause: unknown[] }; status: number };
  assert.deepEqual([body.status, body.error.type, body.error.reason], [401, 'security_exception', 'missing authentication credentials for REST request [/_bulk]']);
  assert.equal(body.error.root_cause.length, 1);
  const wrong = await request(`${fake.url}/`, undefined, { method: 'GET', headers: { authorization: `Basic ${Buffer.from('elastic:nope').toString('base64')}` } });
  assert.match(wrong.text, /unable to authenticate user \[elastic\] for REST request \[\/\]/);
  const right = await request(`${fake.url}/`, undefined, { method: 'GET', headers: { authorization: `Basic ${Buffer.from('elastic:changeme').toString('base64')}` } });
  assert.equal(right.status, 200);
});

test('security: the OpenSearch security plugin answers 401 in plain text', async () => {
  const fake = await start({ flavour: 'opensearch', auth: { user: 'admin', password: 'admin' } });
  const reply = await request(`${fake.url}/_bulk`, ndjson, { headers: openSearchClient });
  assert.equal(reply.status, 401);
  assert.equal(reply.text, 'Unauthorized');
  assert.equal(reply.headers['www-authenticate'], 'Basic realm="OpenSearch Security"');
});
