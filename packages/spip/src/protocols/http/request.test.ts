import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpRequest, probeHttp, type HttpRequest } from './request.js';
import { parseHost } from './host.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function parse(text: string, limits?: Parameters<typeof parseHttpRequest>[1]): HttpRequest {
  const req = parseHttpRequest(bytes(text), limits);
  assert.ok(req, `expected a request from ${JSON.stringify(text)}`);
  return req;
}

test('a typical request', () => {
  const req = parse('GET /index.php?id=1&x=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.1.2\r\nAccept: */*\r\n\r\n');
  assert.equal(req.method, 'GET');
  assert.equal(req.target, '/index.php?id=1&x=%20');
  assert.equal(req.version, '1.1');
  assert.deepEqual(req.headers, [
    { name: 'Host', value: 'example.com:8080' },
    { name: 'User-Agent', value: 'curl/8.1.2' },
    { name: 'Accept', value: '*/*' },
  ]);
  assert.equal(req.complete, true);
  assert.equal(req.body.length, 0);
  assert.equal(req.path, '/index.php');
  assert.equal(req.query, 'id=1&x=%20');
  assert.equal(req.host, 'example.com');
  assert.equal(req.hostPort, 8080);
  assert.equal(req.userAgent, 'curl/8.1.2');
  assert.equal(req.contentLength, undefined);
  assert.equal(req.droppedHeaders, 0);
});

test('any token method is recorded as sent', () => {
  for (const method of ['CONNECT', 'TRACE', 'PROPFIND', 'MKCOL', 'get', 'Post', 'X-CUSTOM!', 'M-SEARCH']) {
    assert.equal(parse(`${method} / HTTP/1.1\r\n\r\n`).method, method);
  }
  assert.equal(parseHttpRequest(bytes('GE(T / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(parseHttpRequest(bytes(`${'A'.repeat(33)} / HTTP/1.1\r\n\r\n`)), undefined);
  assert.equal(parse(`${'A'.repeat(32)} / HTTP/1.1\r\n\r\n`).method.length, 32);
});

test('versions', () => {
  assert.equal(parse('GET / HTTP/1.0\r\n\r\n').version, '1.0');
  assert.equal(parse('GET / HTTP/1.1\r\n\r\n').version, '1.1');
  assert.equal(parse('GET / HTTP/2.0\r\n\r\n').version, '2');
  assert.equal(parse('GET / HTTP/2\r\n\r\n').version, '2');
  assert.equal(parse('GET / HTTP/3.0\r\n\r\n').version, '3');
  assert.equal(parse('GET / HTTP/1.2\r\n\r\n').version, '1.2');
  assert.equal(parseHttpRequest(bytes('GET / HTTP/1.1x\r\n\r\n')), undefined);
  assert.equal(parseHttpRequest(bytes('GET / http/1.1\r\n\r\n')), undefined);
  assert.equal(parseHttpRequest(bytes('GET / HTTP/\r\n\r\n')), undefined);
  assert.equal(parseHttpRequest(bytes('GET / HTTP/1.1 extra\r\n\r\n')), undefined);
});

test('HTTP/0.9: a bare GET line is a request, other methods are not', () => {
  const req = parse('GET /index.html\r\n');
  assert.equal(req.version, '0.9');
  assert.equal(req.target, '/index.html');
  assert.equal(req.complete, false);
  assert.equal(parse('GET /index.html\r\n\r\n').complete, true);
  assert.equal(parseHttpRequest(bytes('POST /x\r\n\r\n')), undefined);
  // Identification lines of other protocols must not look like HTTP/0.9.
  assert.equal(parseHttpRequest(bytes('SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n')), undefined);
  assert.equal(probeHttp(bytes('SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n')), 'not-http');
});

test('bare LF line endings and mixed endings', () => {
  const req = parse('GET / HTTP/1.0\nUser-Agent:\nX-A: 1\r\n\nbody');
  assert.equal(req.complete, true);
  assert.deepEqual(req.headers, [{ name: 'User-Agent', value: '' }, { name: 'X-A', value: '1' }]);
  assert.equal(req.userAgent, '');
  assert.equal(Buffer.from(req.body).toString(), 'body');
});

test('targets with spaces keep them; whitespace between parts is lenient', () => {
  assert.equal(parse('GET /cgi-bin/a b.sh HTTP/1.1\r\n\r\n').target, '/cgi-bin/a b.sh');
  const req = parse('GET \t /x \t HTTP/1.1 \r\n\r\n');
  assert.equal(req.target, '/x');
  assert.equal(req.version, '1.1');
  assert.equal(parseHttpRequest(bytes('GET  HTTP/1.1\r\n\r\n')), undefined, 'no target');
  assert.equal(parseHttpRequest(bytes('GET /\x00 HTTP/1.1\r\n\r\n')), undefined, 'control byte in target');
  assert.equal(parseHttpRequest(bytes('GET /\r HTTP/1.1\r\n\r\n')), undefined, 'bare CR in the request line');
});

test('non-ASCII targets decode as UTF-8, invalid bytes as U+FFFD', () => {
  const req = parseHttpRequest(Buffer.concat([bytes('GET /caf'), Buffer.from('é', 'utf8'), bytes('/\xff HTTP/1.1\r\n\r\n')]));
  assert.equal(req?.target, '/café/\uFFFD');
});

test('leading empty lines are skipped, a few of them', () => {
  assert.equal(parse('\r\n\r\nGET / HTTP/1.1\r\n\r\n').method, 'GET');
  assert.equal(parseHttpRequest(bytes('\r\n'.repeat(5) + 'GET / HTTP/1.1\r\n\r\n')), undefined);
});

test('the HTTP/2 prior-knowledge preface', () => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const req = parseHttpRequest(Buffer.concat([bytes(preface), settings]));
  assert.ok(req);
  assert.equal(req.method, 'PRI');
  assert.equal(req.target, '*');
  assert.equal(req.version, '2');
  assert.deepEqual(req.headers, []);
  assert.equal(req.complete, true);
  assert.deepEqual([...req.body], [...settings]);
  for (let cut = 16; cut < preface.length; cut++) {
    const partial = parse(preface.slice(0, cut));
    assert.equal(partial.complete, false, `cut at ${cut}`);
    assert.equal(partial.version, '2');
  }
  for (let cut = 0; cut < 16; cut++) assert.equal(probeHttp(bytes(preface.slice(0, cut))), 'maybe');
  assert.equal(probeHttp(bytes(preface)), 'http');
});

test('Host: names, ports, IPv6 literals, oddities', () => {
  const host = (value: string): [string | undefined, number | undefined] => {
    const req = parse(`GET / HTTP/1.1\r\nHost: ${value}\r\n\r\n`);
    return [req.host, req.hostPort];
  };
  assert.deepEqual(host('example.com'), ['example.com', undefined]);
  assert.deepEqual(host('example.com:80'), ['example.com', 80]);
  assert.deepEqual(host('[::1]:8080'), ['::1', 8080]);
  assert.deepEqual(host('[2001:db8::1]'), ['2001:db8::1', undefined]);
  assert.deepEqual(host('2001:db8::1'), ['2001:db8::1', undefined]);
  assert.deepEqual(host('192.0.2.1:0'), ['192.0.2.1', undefined]);
  assert.deepEqual(host('192.0.2.1:65536'), ['192.0.2.1', undefined]);
  assert.deepEqual(host('example.com:'), ['example.com', undefined]);
  assert.deepEqual(host('example.com:http'), ['example.com:http', undefined]);
  assert.deepEqual(host('[::1]x'), ['[::1]x', undefined]);
  assert.deepEqual(host('[::1'), ['[::1', undefined]);
  assert.deepEqual(host(''), [undefined, undefined]);
  assert.deepEqual(parseHost(':443'), { host: undefined, port: 443 });
  const missing = parse('GET / HTTP/1.0\r\n\r\n');
  assert.equal(missing.host, undefined);
  assert.equal(missing.hostPort, undefined);
  assert.equal(parse('GET / HTTP/1.1\r\nhost: a\r\nHost: b\r\n\r\n').host, 'a', 'the first Host header wins');
});

test('duplicate headers are kept in order; names keep their case', () => {
  const req = parse('GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n');
  assert.deepEqual(req.headers.map((h) => `${h.name}=${h.value}`), ['X-A=1', 'x-a=2', 'Cookie=a=1', 'cookie=b=2']);
});

test('header lines: whitespace, folding, malformed lines', () => {
  const req = parse('GET / HTTP/1.1\r\nA :  spaced \t\r\nB: first\r\n  second\r\n\tthird\r\nno colon here\r\n: empty name\r\nC:\r\n\r\n');
  assert.deepEqual(req.headers, [
    { name: 'A', value: 'spaced' },
    { name: 'B', value: 'first second third' },
    { name: 'C', value: '' },
  ]);
  const folded = parse('GET / HTTP/1.1\r\n continuation without a field\r\nD: 1\r\n\r\n');
  assert.deepEqual(folded.headers, [{ name: 'D', value: '1' }]);
});

test('header count and size are bounded', () => {
  const many = 'GET / HTTP/1.1\r\n' + 'X: 1\r\n'.repeat(10_000) + '\r\n';
  const req = parse(many, { maxHeaderBytes: 1 << 20 });
  assert.equal(req.headers.length, 256);
  assert.equal(req.droppedHeaders, 10_000 - 256);
  assert.equal(req.complete, true);
  assert.equal(parse(many, { maxHeaders: 10, maxHeaderBytes: 1 << 20 }).headers.length, 10);

  const bounded = parse(many, { maxHeaderBytes: 1000 });
  assert.equal(bounded.complete, false);
  assert.ok(bounded.headers.length < 200);
  assert.equal(bounded.body.length, 0);
  assert.equal(parseHttpRequest(bytes(`GET /${'a'.repeat(2000)} HTTP/1.1\r\n\r\n`), { maxHeaderBytes: 1000 }), undefined);
  assert.equal(probeHttp(bytes(`GET /${'a'.repeat(70_000)}`)), 'not-http');
});

test('partial requests are incomplete and carry the header lines so far', () => {
  const full = 'POST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello';
  const headEnd = full.indexOf('\r\n\r\n') + 4;
  for (let cut = 0; cut <= full.length; cut++) {
    const req = parseHttpRequest(bytes(full.slice(0, cut)));
    const lineEnd = full.indexOf('\r\n') + 2;
    if (cut < lineEnd) {
      assert.equal(req, undefined, `cut ${cut}`);
      assert.equal(probeHttp(bytes(full.slice(0, cut))), 'maybe', `probe cut ${cut}`);
      continue;
    }
    assert.ok(req, `cut ${cut}`);
    assert.equal(probeHttp(bytes(full.slice(0, cut))), 'http');
    assert.equal(req.complete, cut >= headEnd, `complete at ${cut}`);
    assert.equal(req.body.length, Math.max(0, cut - headEnd));
    if (!req.complete) assert.ok(req.headers.every((h) => full.includes(`${h.name}: ${h.value}\r\n`)), `cut ${cut}`);
  }
});

test('the body is a copy of the bytes after the head', () => {
  const buf = bytes('POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc');
  const req = parseHttpRequest(buf);
  assert.ok(req);
  assert.equal(req.contentLength, 3);
  buf[buf.length - 1] = 0x7a;
  assert.equal(Buffer.from(req.body).toString(), 'abc');
});

test('Content-Length must be one decimal value', () => {
  const cl = (...values: string[]): number | undefined =>
    parse(`POST / HTTP/1.1\r\n${values.map((v) => `Content-Length: ${v}\r\n`).join('')}\r\n`).contentLength;
  assert.equal(cl('0'), 0);
  assert.equal(cl('42'), 42);
  assert.equal(cl('5, 5'), 5);
  assert.equal(cl('5', '5'), 5);
  assert.equal(cl('5', '6'), undefined);
  assert.equal(cl('-1'), undefined);
  assert.equal(cl('0x10'), undefined);
  assert.equal(cl(''), undefined);
  assert.equal(cl('9'.repeat(16)), undefined);
});

test('garbage is not a request', () => {
  for (const text of ['', 'hello', '\x16\x03\x01\x02\x00\x01', 'SSH-2.0-x\r\n', 'GET\r\n\r\n', ' GET / HTTP/1.1\r\n\r\n', '\x00\x00\x00', 'BitTorrent protocol']) {
    assert.equal(parseHttpRequest(bytes(text)), undefined, JSON.stringify(text));
  }
});

test('probeHttp on prefixes and non-HTTP', () => {
  const line = 'OPTIONS * HTTP/1.1\r\n';
  for (let cut = 0; cut < line.length; cut++) assert.equal(probeHttp(bytes(line.slice(0, cut))), 'maybe', `cut ${cut}`);
  assert.equal(probeHttp(bytes(line)), 'http');
  assert.equal(probeHttp(bytes('GET / HTTP/1.1\n')), 'http');
  assert.equal(probeHttp(bytes('GET /\r\n')), 'http');
  assert.equal(probeHttp(bytes('\x16\x03\x01')), 'not-http');
  assert.equal(probeHttp(bytes('\x00')), 'not-http');
  assert.equal(probeHttp(bytes('GET\r')), 'not-http');
  assert.equal(probeHttp(bytes('GET / HTTP/1.1\rX')), 'not-http');
  assert.equal(probeHttp(bytes('BitTorrent protocol')), 'maybe');
  assert.equal(probeHttp(bytes('\x13BitTorrent protocol')), 'not-http');
  assert.equal(probeHttp(bytes('hello world\n')), 'not-http');
});

test('a bare CR inside a field becomes a space (RFC 9112 §2.2)', () => {
  const req = parse('GET / HTTP/1.1\r\nAccept-Language: en\rUS\r\nX: a\r\r\n\r\n');
  assert.deepEqual(req.headers, [{ name: 'Accept-Language', value: 'en US' }, { name: 'X', value: 'a' }]);
});

test('pathological inputs stay linear', () => {
  const hugeValue = parse(`GET / HTTP/1.1\r\nX: ${' '.repeat(1 << 20)}x${' '.repeat(1 << 20)}\r\n\r\n`, { maxHeaderBytes: 4 << 20 });
  assert.equal(hugeValue.headers[0]?.value, 'x');
  const folds = parse(`GET / HTTP/1.1\r\nX: a\r\n${' b\r\n'.repeat(50_000)}\r\n`, { maxHeaderBytes: 1 << 20 });
  assert.equal(folds.headers[0]?.value.length, 1 + 2 * 50_000);
  const noLf = Buffer.alloc(1 << 20, 0x61);
  assert.equal(probeHttp(noLf), 'not-http');
  assert.equal(parseHttpRequest(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nX: '), noLf]))?.complete, false);
});
