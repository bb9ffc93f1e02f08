import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecsHttpFields, parseHttpRequest } from './request.js';
import { MAX_BODY_CONTENT_BYTES } from './ecs-fields.js';

function fields(text: string | Buffer): Record<string, unknown> {
  const req = parseHttpRequest(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  assert.ok(req);
  return ecsHttpFields(req);
}

test('a GET with query, Host and User-Agent', () => {
  assert.deepEqual(fields('GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nReferer: http://r/\r\n\r\n'), {
    http: {
      version: '1.1',
      request: { method: 'GET', headers: { host: 'example.com:8080', 'user-agent': 'curl/8', referer: 'http://r/' }, referrer: 'http://r/' },
    },
    url: { original: '/a/b?x=1', path: '/a/b', query: 'x=1', domain: 'example.com', port: 8080 },
    user_agent: { original: 'curl/8' },
  });
});

test('repeated headers are joined with ", ", cookies with "; "', () => {
  const out = fields('GET / HTTP/1.1\r\nAccept: a\r\naccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n') as { http: { request: { headers: unknown } } };
  assert.deepEqual(out.http.request.headers, { accept: 'a, b', cookie: 'x=1; y=2' });
});

test('a header named __proto__ is data', () => {
  const out = fields('GET / HTTP/1.1\r\n__proto__: polluted\r\nconstructor: x\r\n\r\n') as { http: { request: { headers: Record<string, unknown> } } };
  const headers = out.http.request.headers;
  assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, 'polluted');
  assert.equal(JSON.stringify(headers), '{"__proto__":"polluted","constructor":"x"}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('body: bytes and lossy content, only when present, content bounded', () => {
  const body = Buffer.concat([Buffer.from('POST / HTTP/1.1\r\n\r\n'), Buffer.from('hé\xff', 'latin1')]);
  const out = fields(body) as { http: { request: { body: unknown } } };
  assert.deepEqual(out.http.request.body, { bytes: 3, content: 'h\uFFFD\uFFFD' });
  const none = fields('GET / HTTP/1.1\r\n\r\n') as { http: { request: Record<string, unknown> } };
  assert.equal('body' in none.http.request, false);
  assert.equal('headers' in none.http.request, false);
  const big = fields(Buffer.concat([Buffer.from('POST / HTTP/1.1\r\n\r\n'), Buffer.alloc(MAX_BODY_CONTENT_BYTES + 10, 0x61)])) as {
    http: { request: { body: { bytes: number; content: string } } };
  };
  assert.equal(big.http.request.body.bytes, MAX_BODY_CONTENT_BYTES + 10);
  assert.equal(big.http.request.body.content.length, MAX_BODY_CONTENT_BYTES);
});

test('IPv6 Host keeps its brackets in url.domain', () => {
  const out = fields('GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n') as { url: unknown };
  assert.deepEqual(out.url, { original: '/', path: '/', domain: '[2001:db8::1]', port: 443 });
});

test('proxy-style targets: absolute-form and CONNECT', () => {
  const absolute = fields('GET http://example.com:8080/x/y?q=1 HTTP/1.1\r\n\r\n') as { url: unknown };
  assert.deepEqual(absolute.url, { original: 'http://example.com:8080/x/y?q=1', scheme: 'http', path: '/x/y', query: 'q=1', domain: 'example.com', port: 8080 });
  const withHost = fields('GET HTTP://user@a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n') as { url: unknown };
  assert.deepEqual(withHost.url, { original: 'HTTP://user@a.example/', scheme: 'http', path: '/', domain: 'b.example' });
  const connect = fields('CONNECT example.com:443 HTTP/1.1\r\n\r\n') as { url: unknown };
  assert.deepEqual(connect.url, { original: 'example.com:443', domain: 'example.com', port: 443 });
  const star = fields('OPTIONS * HTTP/1.1\r\n\r\n') as { url: unknown };
  assert.deepEqual(star.url, { original: '*' });
});

test('an empty query is kept, an empty User-Agent too', () => {
  const out = fields('GET /? HTTP/1.0\r\nUser-Agent:\r\n\r\n') as { url: Record<string, unknown>; user_agent: unknown };
  assert.equal(out.url.query, '');
  assert.deepEqual(out.user_agent, { original: '' });
});

test('the h2 preface', () => {
  assert.deepEqual(fields('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), { http: { version: '2', request: { method: 'PRI' } }, url: { original: '*' } });
});
