// Synthetic Spip events for load generation. Everything derives from a seeded PRNG, so two
// runs send byte-identical bodies and figures stay comparable across commits.
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
].map(([base, bits]) => [toInt(base), bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0]);

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

function uuid(rand) {
  const hex = Array.from({ length: 32 }, () => int(rand, 0, 15).toString(16));
  hex[12] = '4';
  hex[16] = (8 + int(rand, 0, 3)).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const hexString = (rand, length) => Array.from({ length }, () => int(rand, 0, 15).toString(16)).join('');

/** Community ID v1 (seed 0, TCP), computed for real so downstream dedup sees plausible values. */
function communityId(srcIp, srcPort, dstIp, dstPort) {
  const src = Buffer.from(srcIp.split('.').map(Number));
  const dst = Buffer.from(dstIp.split('.').map(Number));
  const srcFirst = Buffer.compare(src, dst) < 0 || (Buffer.compare(src, dst) === 0 && srcPort <= dstPort);
  const [a, ap, b, bp] = srcFirst ? [src, srcPort, dst, dstPort] : [dst, dstPort, src, srcPort];
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(ap, 0);
  ports.writeUInt16BE(bp, 2);
  const digest = createHash('sha1').update(Buffer.from([0, 0])).update(a).update(b).update(Buffer.from([6, 0])).update(ports).digest('base64');
  return `1:${digest}`;
}

const requests = [
  ['GET', '/.env', 0], ['GET', '/.git/config', 0], ['GET', '/wp-login.php', 0], ['POST', '/wp-login.php', 57],
  ['GET', '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 0], ['POST', '/boaform/admin/formLogin', 41],
  ['GET', '/actuator/env', 0], ['GET', '/.aws/credentials', 0], ['POST', '/HNAP1/', 312], ['GET', '/owa/auth/logon.aspx', 0],
  ['GET', '/server-status', 0], ['GET', '/api/v1/pods', 0], ['GET', '/cgi-bin/luci/;stok=/locale', 0],
  ['POST', '/cgi-bin/ViewLog.asp', 118], ['GET', '/solr/admin/info/system?wt=json', 0], ['GET', '/', 0],
  ['GET', '/robots.txt', 0], ['GET', '/phpmyadmin/index.php', 0], ['POST', '/xmlrpc.php', 248], ['GET', '/config.json', 0],
];

const userAgents = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
  'Mozilla/5.0 zgrab/0.x',
  'python-requests/2.31.0',
  'Go-http-client/1.1',
  'curl/7.88.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 13_2_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.3 Mobile/15E148 Safari/604.1',
  'Hello World',
];

const ja4s = [
  't13d1516h2_8daaf6152771_02713d6af862', 't13d1715h2_5b57614c22b0_3d5424432f57', 't12d190800_d83cc789557e_7af1ed941c26',
  't13d311100_e8f1e7e78f70_d41ae481755e', 't10d070600_c50f5591e341_1a3805c3aa63', 't13i171300_5b57614c22b0_97ba8a98ce6c',
];

const sensors = Array.from({ length: 8 }, (_, i) => ({
  hostname: `spip-${['fra', 'ams', 'sgp', 'nyc'][i % 4]}${Math.floor(i / 4) + 1}-0${i + 1}`,
  id: `5f0c${i}d1e-8a2b-4c3d-9e4f-${(0x1a2b3c4d5e60 + i).toString(16)}`,
}));

/**
 * One event in the shape the Go Spip sensor emits (ECS field names), about 1 KB as compact JSON.
 * `ips` is a pool drawn with a skew, because honeypot traffic repeats a few noisy sources a lot.
 */
export function makeEvent(rand, ips, honeypotIps, baseTime) {
  const source = ips[Math.floor(ips.length * rand() ** 2)];
  const sensor = pick(rand, sensors);
  const destination = pick(rand, honeypotIps);
  const [method, path, bodyBytes] = pick(rand, requests);
  const tls = rand() < 0.5;
  const srcPort = int(rand, 1024, 65535);
  const dstPort = tls ? 443 : pick(rand, [80, 8080, 8000, 8888]);
  const ua = pick(rand, userAgents);
  const when = new Date(baseTime + Math.floor(rand() * 3_600_000)).toISOString();
  const event = {
    '@timestamp': when,
    ecs: { version: '8.11.0' },
    event: {
      id: uuid(rand),
      ingested_by: 'spip',
      kind: 'event',
      category: ['network', 'web'],
      type: ['connection', 'access'],
      dataset: 'spip.http',
      module: 'spip',
      action: 'http_request',
      summary: `${method} ${path} HTTP/1.1`,
    },
    source: { ip: source, port: srcPort },
    destination: { ip: destination, port: dstPort },
    network: { transport: 'tcp', protocol: tls ? 'https' : 'http', type: 'ipv4', community_id: communityId(source, srcPort, destination, dstPort) },
    host: { name: sensor.hostname },
    observer: { hostname: sensor.hostname, id: sensor.id, type: 'honeypot', vendor: 'spip' },
    http: { version: '1.1', request: { method, body: { bytes: bodyBytes }, id: hexString(rand, 16) } },
    url: { original: path, path: path.split('?')[0], scheme: tls ? 'https' : 'http' },
    user_agent: { original: ua },
  };
  if (tls) {
    event.tls = { version: '1.3', version_protocol: 'tls', cipher: 'TLS_AES_128_GCM_SHA256', client: { ja4: pick(rand, ja4s), ja3: hexString(rand, 32), server_name: destination } };
  }
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
  const baseTime = Date.UTC(2025, 0, 15, 12);
  const bodies = [];
  let eventBytes = 0;
  for (let b = 0; b < count; b++) {
    const lines = [];
    for (let i = 0; i < perBody; i++) {
      const line = JSON.stringify(makeEvent(rand, ips, honeypotIps, baseTime));
      eventBytes += Buffer.byteLength(line);
      lines.push(line);
    }
    bodies.push(Buffer.from(`[${lines.join(',')}]`));
  }
  return { bodies, eventsPerBody: perBody, avgEventBytes: eventBytes / (count * perBody) };
}
