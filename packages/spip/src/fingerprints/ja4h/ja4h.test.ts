import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcpStreams } from '../../../test/helpers/pcap.js';
import { parseHttpRequest, type HttpRequest } from '../../protocols/http/request.js';
import { ja4h } from './ja4h.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/ja4/', import.meta.url));

function request(text: string): HttpRequest {
  const req = parseHttpRequest(Buffer.from(text, 'utf8'));
  assert.ok(req?.complete, JSON.stringify(text));
  return req;
}

// The request of the reference implementation's unit test (test_http_stats_into_out).
const CNN_HEADERS = [
  'Host: www.cnn.com',
  'Cookie: FastAB=0=6859,1=8174,2=4183,3=3319,4=3917,5=2557,6=4259,7=6070,8=0804,9=6453,10=1942,11=4435,12=4143,13=9445,14=6957,15=8682,16=1885,17=1825,18=3760,19=0929; sato=1; countryCode=US; stateCode=VA; geoData=purcellville|VA|20132|US|NA|-400|broadband|39.160|-77.700|511; usprivacy=1---; umto=1; _dd_s=logs=1&id=b5c2d770-eaba-4847-8202-390c4552ff9a&created=1686159462724&expire=1686160422726',
  'Sec-Ch-Ua: ',
  'Sec-Ch-Ua-Mobile: ?0',
  'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.110 Safari/537.36',
  'Sec-Ch-Ua-Platform: ""',
  'Accept: */*',
  'Sec-Fetch-Site: same-origin',
  'Sec-Fetch-Mode: cors',
  'Sec-Fetch-Dest: empty',
  'Sec-Fetch-Mode: cors',
  'Sec-Fetch-Dest: empty',
  'Referer: https://www.cnn.com/',
  'Accept-Encoding: gzip, deflate',
  'Accept-Language: en-US,en;q=0.9',
];

test('the reference unit vector (CNN request)', () => {
  const fp = ja4h(request(`GET / HTTP/1.1\r\n${CNN_HEADERS.join('\r\n')}\r\n\r\n`));
  assert.equal(fp.ja4h, 'ge11cr13enus_88d2d584d47f_0f2659b474bf_161698816dab');
  assert.equal(fp.ja4h_o, 'ge11cr13enus_88d2d584d47f_457935509480_ff4b0b83634b');
  const headers = 'Host,Sec-Ch-Ua,Sec-Ch-Ua-Mobile,User-Agent,Sec-Ch-Ua-Platform,Accept,Sec-Fetch-Site,Sec-Fetch-Mode,Sec-Fetch-Dest,Sec-Fetch-Mode,Sec-Fetch-Dest,Accept-Encoding,Accept-Language';
  const fastAb = 'FastAB=0=6859,1=8174,2=4183,3=3319,4=3917,5=2557,6=4259,7=6070,8=0804,9=6453,10=1942,11=4435,12=4143,13=9445,14=6957,15=8682,16=1885,17=1825,18=3760,19=0929';
  const ddS = '_dd_s=logs=1&id=b5c2d770-eaba-4847-8202-390c4552ff9a&created=1686159462724&expire=1686160422726';
  const geo = 'geoData=purcellville|VA|20132|US|NA|-400|broadband|39.160|-77.700|511';
  assert.equal(
    fp.ja4h_r,
    `ge11cr13enus_${headers}_FastAB,_dd_s,countryCode,geoData,sato,stateCode,umto,usprivacy_${fastAb},${ddS},countryCode=US,${geo},sato=1,stateCode=VA,umto=1,usprivacy=1---`,
  );
  assert.equal(
    fp.ja4h_ro,
    `ge11cr13enus_${headers}_FastAB,sato,countryCode,stateCode,geoData,usprivacy,umto,_dd_s_${fastAb},sato=1,countryCode=US,stateCode=VA,${geo},usprivacy=1---,umto=1,${ddS}`,
  );
});

interface ExpectedHttp {
  JA4H?: string;
  JA4H_ro?: string;
}

function fromCapture(pcap: string): { fp: ReturnType<typeof ja4h>; expected: ExpectedHttp } {
  const [stream] = readTcpStreams(join(fixtures, 'pcap', pcap));
  assert.ok(stream);
  const req = parseHttpRequest(stream.client);
  assert.ok(req?.complete);
  const rows = JSON.parse(readFileSync(join(fixtures, 'expected', `${pcap}.json`), 'utf8')) as ExpectedHttp[];
  const expected = rows.find((row) => row.JA4H !== undefined);
  assert.ok(expected);
  return { fp: ja4h(req), expected };
}

test('capture http1-with-cookies.pcapng matches the reference output', () => {
  const { fp, expected } = fromCapture('http1-with-cookies.pcapng');
  assert.equal(fp.ja4h, expected.JA4H);
  assert.equal(fp.ja4h, 'ge11cr04da00_8ddaef5d77af_280f366eaa04_c2fb0fe53442');
  assert.equal(fp.ja4h_ro, expected.JA4H_ro);
});

test('capture http-empty-useragent.pcap (HTTP/1.0, bare LF line endings)', () => {
  const { fp, expected } = fromCapture('http-empty-useragent.pcap');
  assert.equal(fp.ja4h, expected.JA4H);
  assert.equal(fp.ja4h, 'ge10nn010000_b8bcd45ac095_000000000000_000000000000');
  // The Python tool omits the empty last section of the raw form; the Rust reference and we
  // always print four sections.
  assert.equal(expected.JA4H_ro, 'ge10nn010000_User-Agent_');
  assert.equal(fp.ja4h_ro, `${expected.JA4H_ro}_`);
});

test('a request with only Host (the Go sensor got this one wrong)', () => {
  const fp = ja4h(request('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(fp.ja4h, 'ge11nn010000_4a823118b9ba_000000000000_000000000000');
  assert.equal(fp.ja4h_o, fp.ja4h);
  assert.equal(fp.ja4h_r, 'ge11nn010000_Host__');
});

test('no headers at all', () => {
  const fp = ja4h(request('GET / HTTP/1.0\r\n\r\n'));
  assert.equal(fp.ja4h, 'ge10nn000000_000000000000_000000000000_000000000000');
  assert.equal(fp.ja4h_r, 'ge10nn000000___');
});

test('lowercase header names: hashed as sent, Cookie and Referer still recognised', () => {
  const fp = ja4h(request('GET / HTTP/1.1\r\nhost: x\r\nuser-agent: y\r\ncookie: b=1; a=2\r\nreferer: z\r\n\r\n'));
  assert.equal(fp.ja4h, 'ge11cr020000_3ed38b250d3d_1eb7c54d5283_69d0e313a5d8');
  assert.equal(fp.ja4h_r, 'ge11cr020000_host,user-agent_a,b_a=2,b=1');
  assert.equal(fp.ja4h_ro, 'ge11cr020000_host,user-agent_b,a_b=1,a=2');
  assert.equal(fp.ja4h_o, 'ge11cr020000_3ed38b250d3d_71db20d952cd_d3165532d742');
});

test('cookies sort by the whole cookie string, as the reference does', () => {
  // '-' sorts before '=', so "a-b=1" precedes "a=2" although the name "a" is shorter.
  const fp = ja4h(request('GET / HTTP/1.1\r\nCookie: a=2; a-b=1\r\n\r\n'));
  assert.equal(fp.ja4h_r, 'ge11cn000000__a-b,a_a-b=1,a=2');
  assert.equal(fp.ja4h, 'ge11cn000000_000000000000_62c8d5c010cc_844f571ac69e');
});

test('every Cookie line contributes; an empty Cookie still marks c', () => {
  assert.equal(ja4h(request('GET / HTTP/1.1\r\nCookie: b=1\r\nCookie: a=2\r\n\r\n')).ja4h_r, 'ge11cn000000__a,b_a=2,b=1');
  assert.equal(ja4h(request('GET / HTTP/1.1\r\nCookie:\r\n\r\n')).ja4h, 'ge11cn000000_000000000000_000000000000_000000000000');
});

test('Accept-Language variants', () => {
  const lang = (value: string): string => ja4h(request(`GET / HTTP/1.1\r\nAccept-Language: ${value}\r\n\r\n`)).ja4h.slice(8, 12);
  assert.equal(lang('en-US,en;q=0.9'), 'enus');
  assert.equal(lang('da, en-GB;q=0.8, en;q=0.7'), 'da00');
  assert.equal(lang('fr'), 'fr00');
  assert.equal(lang('zh-Hant-TW'), 'zhha');
  assert.equal(lang('*'), '*000');
  assert.equal(lang('EN'), 'en00');
  // The reference cuts at ',' only, so a quality value on the first language shows.
  assert.equal(lang('en;q=0.8'), 'en;q');
  assert.equal(lang(''), '0000');
  assert.equal(ja4h(request('GET / HTTP/1.1\r\n\r\n')).ja4h.slice(8, 12), '0000');
  const twice = ja4h(request('GET / HTTP/1.1\r\nAccept-Language: de\r\nAccept-Language: en\r\n\r\n'));
  assert.equal(twice.ja4h.slice(0, 12), 'ge11nn02de00', 'the first Accept-Language counts');
});

test('method and version codes', () => {
  const a = (line: string): string => ja4h(request(`${line}\r\n\r\n`)).ja4h.slice(0, 4);
  const codes: Record<string, string> = { CONNECT: 'co', DELETE: 'de', GET: 'ge', HEAD: 'he', OPTIONS: 'op', PATCH: 'pa', POST: 'po', PUT: 'pu', TRACE: 'tr' };
  for (const [method, code] of Object.entries(codes)) assert.equal(a(`${method} / HTTP/1.1`), `${code}11`);
  assert.equal(a('PROPFIND / HTTP/1.1'), 'pr11');
  assert.equal(a('get / HTTP/1.1'), 'ge11');
  assert.equal(a('X / HTTP/1.1'), 'x011');
  assert.equal(a('GET / HTTP/1.0'), 'ge10');
  assert.equal(a('GET / HTTP/2.0'), 'ge20');
  assert.equal(a('GET / HTTP/3'), 'ge30');
  assert.equal(a('GET /'), 'ge09');
  assert.equal(ja4h(request('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).ja4h, 'pr20nn000000_000000000000_000000000000_000000000000');
});

test('header count is capped at 99 and excludes Cookie and Referer', () => {
  const many = Array.from({ length: 120 }, (_, i) => `X-${i}: v`).join('\r\n');
  assert.equal(ja4h(request(`GET / HTTP/1.1\r\n${many}\r\n\r\n`)).ja4h.slice(6, 8), '99');
  assert.equal(ja4h(request('GET / HTTP/1.1\r\nReferer: r\r\nCookie: a=1\r\nA: 1\r\n\r\n')).ja4h.slice(0, 8), 'ge11cr01');
});

test('thousands of cookies', () => {
  const cookies = Array.from({ length: 10_000 }, (_, i) => `c${(i * 7919) % 10_000}=${i}`).join('; ');
  const req = parseHttpRequest(Buffer.from(`GET / HTTP/1.1\r\nCookie: ${cookies}\r\n\r\n`), { maxHeaderBytes: 1 << 20 });
  assert.ok(req?.complete);
  const fp = ja4h(req);
  assert.match(fp.ja4h, /^ge11cn000000_000000000000_[0-9a-f]{12}_[0-9a-f]{12}$/);
  // Whole-string order: "c1000=…" sorts before "c10=…" because '0' < '='.
  assert.ok(fp.ja4h_r.includes('__c0,c1000,c1001,'));
});
