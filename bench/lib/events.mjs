// Synthetic sensor events for load generation, in the exact wire shape of the Go Spip sensor
// (ECS field names as Spip places them, keys sorted and <>& escaped as Go's map encoding does,
// second-precision @timestamp, the payload as hex). Everything derives from a seeded PRNG, so
// two runs send byte-identical bodies and figures stay comparable across commits.
import { createHash } from 'node:crypto';

/** mulberry32: tiny, fast, and good enough to make test data look varied. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rand, min, max) => min + Math.floor(rand() * (max - min + 1));
const pick = (rand, list) => list[Math.floor(rand() * list.length)];

// Private, shared, documentation, benchmarking, multicast and reserved IPv4 blocks (RFC 6890):
// enrichment (GeoIP, ASN, rDNS) treats these specially, so a realistic load must avoid them.
const nonPublic = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3],
].map(([base, bits]) => [toInt(base), (~0 << (32 - bits)) >>> 0]);

function toInt(ip) {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function isPublicIPv4(ip) {
  const n = toInt(ip);
  return !nonPublic.some(([base, mask]) => ((n & mask) >>> 0) === base);
}

export function publicIPv4(rand) {
  for (;;) {
    const ip = [int(rand, 1, 223), int(rand, 0, 255), int(rand, 0, 255), int(rand, 1, 254)].join('.');
    if (isPublicIPv4(ip)) return ip;
  }
}

const hexString = (rand, length) => Array.from({ length }, () => int(rand, 0, 15).toString(16)).join('');

function uuid(rand) {
  const s = hexString(rand, 32).split('');
  s[12] = '4';
  s[16] = (8 + int(rand, 0, 3)).toString(16);
  const h = s.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Community ID v1 (seed 0, TCP), computed for real so downstream dedup sees plausible values. */
function communityId(srcIp, srcPort, dstIp, dstPort) {
  const src = Buffer.from(srcIp.split('.').map(Number));
  const dst = Buffer.from(dstIp.split('.').map(Number));
  const order = Buffer.compare(src, dst);
  const srcFirst = order < 0 || (order === 0 && srcPort <= dstPort);
  const [a, ap, b, bp] = srcFirst ? [src, srcPort, dst, dstPort] : [dst, dstPort, src, srcPort];
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(ap, 0);
  ports.writeUInt16BE(bp, 2);
  const digest = createHash('sha1').update(Buffer.from([0, 0])).update(a).update(b).update(Buffer.from([6, 0])).update(ports).digest('base64');
  return `1:${digest}`;
}

/**
 * Go's encoding/json for a map[string]any: keys sorted at every level; <, >, &, U+2028 and
 * U+2029 escaped; \b and \f written as \u0008 and \u000c; and U+FFFD (what invalid UTF-8 in a
 * payload became) written as the escape \ufffd, so Spip's output is ASCII for any payload.
 */
export function goJson(value) {
  const sorted = (v) => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
  };
  // Escape pairs are matched as a unit so that an escaped backslash is never re-read as the start of one.
  return JSON.stringify(sorted(value)).replace(/\\(.)|[<>&\u2028\u2029\ufffd]/g, (match, escaped) => {
    if (escaped === undefined) return `\\u${match.charCodeAt(0).toString(16).padStart(4, '0')}`;
    if (escaped === 'b') return '\\u0008';
    if (escaped === 'f') return '\\u000c';
    return match;
  });
}

// What scanners ask a honeypot for; [method, target, body].
const httpRequests = [
  ['GET', '/', ''], ['GET', '/.env', ''], ['GET', '/.git/config', ''], ['GET', '/wp-login.php', ''],
  ['POST', '/wp-login.php', 'log=admin&pwd=admin123&wp-submit=Log+In&testcookie=1'],
  ['GET', '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', ''], ['POST', '/boaform/admin/formLogin', 'username=admin&psd=Feefifofum'],
  ['GET', '/actuator/env', ''], ['GET', '/.aws/credentials', ''], ['GET', '/owa/auth/logon.aspx?url=https%3a%2f%2f1%2fecp%2f', ''],
  ['GET', '/server-status', ''], ['GET', '/api/v1/pods', ''], ['GET', '/cgi-bin/luci/;stok=/locale?form=country', ''],
  ['GET', '/solr/admin/info/system?wt=json', ''], ['GET', '/robots.txt', ''], ['GET', '/favicon.ico', ''],
  ['POST', '/xmlrpc.php', '<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params></params></methodCall>'],
  ['GET', '/config.json', ''], ['GET', '/?XDEBUG_SESSION_START=phpstorm', ''], ['GET', '/login.rsp', ''],
];

const userAgents = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 13_2_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.3 Mobile/15E148 Safari/604.1',
];
const shortUserAgents = ['Mozilla/5.0 zgrab/0.x', 'python-requests/2.31.0', 'Go-http-client/1.1', 'curl/7.88.1', 'Hello World', 'libwww-perl/6.72', 'masscan/1.3'];

const ja4s = [
  't13d1516h2_8daaf6152771_02713d6af862', 't13d1715h2_5b57614c22b0_3d5424432f57', 't12d190800_d83cc789557e_7af1ed941c26',
  't13d311100_e8f1e7e78f70_d41ae481755e', 't10d070600_c50f5591e341_1a3805c3aa63', 't13i171300_5b57614c22b0_97ba8a98ce6c',
];

// Payloads of common non-HTTP probes (RDP cookie, Redis, SIP, MQTT, Telnet, the README's BitTorrent).
const probes = [
  Buffer.from('030000130ee000000000000100080003000000', 'hex'),
  Buffer.from('*1\r\n$4\r\nINFO\r\n'),
  Buffer.from('OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n'),
  Buffer.from('101000044d5154540402003c0000', 'hex'),
  Buffer.from('fffb1ffffb20fffb18fffb27fffd01fffb03fffd03', 'hex'),
  // BitTorrent handshake: the info hash and peer id are random bytes, as on the wire.
  (rand) => Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(hexString(rand, 40), 'hex'), Buffer.from(`-qB4630-${hexString(rand, 12)}`)]),
  Buffer.from('\r\n\r\n'),
];

function probe(rand) {
  const p = pick(rand, probes);
  return typeof p === 'function' ? p(rand) : p;
}

const sshBanners = ['SSH-2.0-Go\r\n', 'SSH-2.0-libssh_0.9.6\r\n', 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n', 'SSH-2.0-PuTTY_Release_0.78\r\n'];
// A real client KEXINIT (dropbear 2018.76) with its HASSH, so the binary part is the right size.
const kexinit = {
  hassh: 'e22efe3cde8b396b874c3f13fdb6c61a',
  lists: [
    'curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,kexguess2@matt.ucc.asn.au',
    'ecdsa-sha2-nistp256,ssh-rsa,ssh-dss',
    'aes128-ctr,aes256-ctr,aes128-cbc,aes256-cbc,3des-ctr,3des-cbc', 'aes128-ctr,aes256-ctr,aes128-cbc,aes256-cbc,3des-ctr,3des-cbc',
    'hmac-sha1-96,hmac-sha1,hmac-sha2-256', 'hmac-sha1-96,hmac-sha1,hmac-sha2-256',
    'zlib@openssh.com,zlib,none', 'zlib@openssh.com,zlib,none', '', '',
  ],
};

function kexinitPacket(rand) {
  const body = [Buffer.from([20]), Buffer.from(hexString(rand, 32), 'hex')];
  for (const list of kexinit.lists) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(list.length);
    body.push(len, Buffer.from(list));
  }
  body.push(Buffer.from([0, 0, 0, 0, 0]));
  const payload = Buffer.concat(body);
  const padding = 8 - ((payload.length + 5) % 8) + 4;
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length + padding + 1);
  header[4] = padding;
  return Buffer.concat([header, payload, Buffer.alloc(padding)]);
}

const sensors = Array.from({ length: 8 }, (_, i) => `spip-${['fra', 'ams', 'sgp', 'nyc'][i % 4]}${Math.floor(i / 4) + 1}`);

/** A JA4H-shaped value: method, version, cookie/referer flags, header count, hash of the header names. */
function ja4h(method, headerNames) {
  const names = createHash('sha256').update(headerNames.join(',')).digest('hex').slice(0, 12);
  return `${method.slice(0, 2).toLowerCase()}11nn${String(headerNames.length).padStart(2, '0')}0000_${names}_000000000000_000000000000`;
}

function httpFields(rand, destination, dstPort) {
  const [method, target, body] = pick(rand, httpRequests);
  // Scanners mostly send short tool names; full browser strings are the minority.
  const ua = rand() < 0.7 ? pick(rand, shortUserAgents) : pick(rand, userAgents);
  const host = dstPort === 80 || dstPort === 443 ? destination : `${destination}:${dstPort}`;
  const headers = [['Host', host], ['User-Agent', ua], ['Accept', '*/*']];
  if (rand() < 0.3) headers.push(['Accept-Encoding', 'gzip']);
  if (rand() < 0.25) headers.push(['Connection', 'close']);
  if (body !== '') headers.push(['Content-Type', body.startsWith('<') ? 'text/xml' : 'application/x-www-form-urlencoded'], ['Content-Length', String(Buffer.byteLength(body))]);
  const payload = Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
  const request = {
    method,
    headers: Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v])),
    hash: { ja4h: ja4h(method, headers.map(([k]) => k)) },
  };
  if (body !== '') request.body = { content: body, bytes: Buffer.byteLength(body) };
  const url = { path: target, domain: destination };
  if (dstPort !== 80 && dstPort !== 443) url.port = dstPort;
  return { payload, fields: { http: { request }, url, user_agent: { original: ua } } };
}

/**
 * One event as the Go Spip sensor posts it. Mix: plain HTTP, HTTP inside TLS, non-HTTP probes,
 * SSH banners and KEXINITs. Source IPs are drawn with a skew from `ips`, because honeypot
 * traffic repeats a few noisy sources a lot (which later enrichment caches will see too).
 */
export function makeEvent(rand, ips, honeypotIps, baseSeconds) {
  const source = ips[Math.floor(ips.length * rand() ** 2)];
  const destination = pick(rand, honeypotIps);
  const sensor = pick(rand, sensors);
  const srcPort = int(rand, 1024, 65535);
  const roll = rand();
  const kind = roll < 0.6 ? 'http' : roll < 0.8 ? 'https' : roll < 0.92 ? 'probe' : roll < 0.97 ? 'ssh-banner' : 'ssh-kexinit';
  const dstPort = kind === 'https' ? pick(rand, [443, 8443]) : kind === 'http' ? pick(rand, [80, 8080, 8000, 8888])
    : kind.startsWith('ssh') ? pick(rand, [22, 2222]) : pick(rand, [3389, 6379, 5060, 1883, 23, 6881, 80]);

  const event = {
    '@timestamp': new Date((baseSeconds + int(rand, 0, 3600)) * 1000).toISOString().replace('.000Z', 'Z'),
    event: { id: uuid(rand), ingested_by: 'spip' },
    source: { ip: source, port: srcPort },
    destination: { ip: destination, port: dstPort },
    network: { transport: 'tcp', community_id: communityId(source, srcPort, destination, dstPort) },
    observer: { hostname: sensor, id: sensor },
    host: { name: sensor },
  };
  let payload;
  if (kind === 'http' || kind === 'https') {
    const http = httpFields(rand, destination, dstPort);
    payload = http.payload;
    Object.assign(event, http.fields);
    if (kind === 'https') {
      event.network.protocol = 'tls';
      const client = { hash: { ja4: pick(rand, ja4s) }, version: pick(rand, ['TLSv1.3', 'TLSv1.3', 'TLSv1.2']), cipher: 'TLS_AES_128_GCM_SHA256' };
      if (rand() < 0.3) client.server_name = pick(rand, ['localhost', 'www.example.com', 'mail.example.org']);
      if (rand() < 0.5) client.supported_protocols = ['h2', 'http/1.1'];
      event.tls = { client };
    }
  } else if (kind === 'probe') {
    // One in eight is the MGLNDD scanner, which names the address and port it was sent to.
    payload = rand() < 0.125 ? Buffer.from(`MGLNDD_${destination}_${dstPort}\n`) : probe(rand);
  } else {
    const banner = Buffer.from(pick(rand, sshBanners));
    payload = kind === 'ssh-kexinit' ? Buffer.concat([banner, kexinitPacket(rand)]) : banner;
    if (kind === 'ssh-kexinit') event.ssh = { client: { hash: { hassh: kexinit.hassh } } };
  }
  // Non-HTTP payloads go to the summary as text; invalid UTF-8 turns into U+FFFD as in Go's string conversion.
  if (kind !== 'http' && kind !== 'https') event.event.summary = payload.toString('utf8');
  event.event.original_payload_hex = payload.toString('hex');
  return event;
}

/**
 * `count` distinct JSON-array bodies of `perBody` events each. Returns the bodies and the
 * average size of one event as compact JSON, which the report shows next to the figures.
 */
export function makeBodies({ count = 200, perBody = 100, seed = 0x5eed, sourcePool = 2000 } = {}) {
  const rand = prng(seed);
  const ips = Array.from({ length: sourcePool }, () => publicIPv4(rand));
  const honeypotIps = Array.from({ length: 16 }, () => publicIPv4(rand));
  const baseSeconds = Date.UTC(2025, 0, 15, 12) / 1000;
  const bodies = [];
  let eventBytes = 0;
  for (let b = 0; b < count; b++) {
    const lines = [];
    for (let i = 0; i < perBody; i++) {
      const line = goJson(makeEvent(rand, ips, honeypotIps, baseSeconds));
      eventBytes += Buffer.byteLength(line);
      lines.push(line);
    }
    bodies.push(Buffer.from(`[${lines.join(',')}]`));
  }
  return { bodies, eventsPerBody: perBody, avgEventBytes: eventBytes / (count * perBody) };
}
