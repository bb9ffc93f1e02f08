import { isIP } from 'node:net';
import { FieldReader, nanoseconds, put } from './fields.js';

/** The Zeek logs Loom maps to ECS; the name is Zeek's log path ("conn" for conn.log). */
export const zeekLogs = ['conn', 'dns', 'ssl', 'http'] as const;
export type ZeekLog = (typeof zeekLogs)[number];

export function isZeekLog(name: unknown): name is ZeekLog {
  return typeof name === 'string' && (zeekLogs as readonly string[]).includes(name);
}

/** What a log adds to the common fields: its own ECS fields, categories, and the protocol a connection implies. */
export interface LogMapping {
  category: string[];
  type: string[];
  /** IANA protocol number when the log has no `proto` field. */
  impliedProtocol?: number;
}

/** Every log's own fields, written into `event`; fields read here are not repeated under zeek.<log>. */
export const logMappers: Readonly<Record<ZeekLog, (f: FieldReader, event: Record<string, unknown>) => LogMapping>> = {
  conn: mapConn,
  dns: mapDns,
  ssl: mapSsl,
  http: mapHttp,
};

function mapConn(f: FieldReader, event: Record<string, unknown>): LogMapping {
  const service = f.record.service;
  if (typeof service === 'string' && service !== '') {
    // Zeek lists every analyser that confirmed the connection ("ssl,http"); ECS has room for one.
    const [first = service] = service.split(',');
    put(event, 'network.protocol', first.toLowerCase());
    if (!service.includes(',')) f.use('service');
  }
  put(event, 'event.duration', nanoseconds(f.number('duration')));
  const sourceBytes = f.count('orig_ip_bytes');
  const destinationBytes = f.count('resp_ip_bytes');
  const sourcePackets = f.count('orig_pkts');
  const destinationPackets = f.count('resp_pkts');
  put(event, 'source.bytes', sourceBytes);
  put(event, 'source.packets', sourcePackets);
  put(event, 'destination.bytes', destinationBytes);
  put(event, 'destination.packets', destinationPackets);
  if (sourceBytes !== undefined && destinationBytes !== undefined) put(event, 'network.bytes', sourceBytes + destinationBytes);
  if (sourcePackets !== undefined && destinationPackets !== undefined) put(event, 'network.packets', sourcePackets + destinationPackets);
  put(event, 'source.mac', mac(f.string('orig_l2_addr')));
  put(event, 'destination.mac', mac(f.string('resp_l2_addr')));
  // local_orig/local_resp and conn_state stay under zeek.conn too: they say more than ECS can.
  const localOrig = f.record.local_orig;
  const localResp = f.record.local_resp;
  if (typeof localOrig === 'boolean' && typeof localResp === 'boolean') {
    put(event, 'network.direction', localOrig ? (localResp ? 'internal' : 'outbound') : localResp ? 'inbound' : 'external');
  }
  return { category: ['network'], type: connectionTypes(f.record.conn_state) };
}

/** ECS event.type from Zeek's conn_state: attempts, refusals and closed connections. */
function connectionTypes(state: unknown): string[] {
  switch (state) {
    case 'S0':
      return ['connection', 'start'];
    case 'REJ':
      return ['connection', 'denied'];
    case 'SF':
    case 'S2':
    case 'S3':
    case 'RSTO':
    case 'RSTR':
      return ['connection', 'end'];
    default:
      return ['connection'];
  }
}

function mapDns(f: FieldReader, event: Record<string, unknown>): LogMapping {
  put(event, 'network.protocol', 'dns');
  put(event, 'event.duration', nanoseconds(f.number('rtt')));
  const transId = f.count('trans_id');
  put(event, 'dns.id', transId === undefined ? undefined : String(transId));
  put(event, 'dns.question.name', f.string('query'));
  put(event, 'dns.question.class', f.string('qclass_name'));
  put(event, 'dns.question.type', f.string('qtype_name'));
  const rcode = f.string('rcode_name');
  put(event, 'dns.response_code', rcode);
  const flags = (['AA', 'TC', 'RD', 'RA'] as const).filter((flag) => f.boolean(flag) === true);
  if (flags.length > 0) put(event, 'dns.header_flags', flags);
  const answers = f.strings('answers');
  const ttls = answers === undefined ? undefined : f.numbers('TTLs');
  if (answers !== undefined && answers.length > 0) {
    put(event, 'dns.answers', answers.map((data, i) => {
      const ttl = ttls?.[i];
      return ttl === undefined ? { data } : { data, ttl: Math.round(ttl) };
    }));
    const resolved = answers.filter((answer) => isIP(answer) !== 0);
    if (resolved.length > 0) put(event, 'dns.resolved_ip', resolved);
  }
  put(event, 'dns.type', rcode !== undefined || (answers !== undefined && answers.length > 0) ? 'answer' : 'query');
  return { category: ['network'], type: ['protocol'] };
}

const tlsVersions: Readonly<Record<string, [protocol: string, version: string]>> = {
  SSLv2: ['ssl', '2.0'], SSLv3: ['ssl', '3.0'],
  TLSv10: ['tls', '1.0'], TLSv11: ['tls', '1.1'], TLSv12: ['tls', '1.2'], TLSv13: ['tls', '1.3'],
  DTLSv10: ['dtls', '1.0'], DTLSv12: ['dtls', '1.2'], DTLSv13: ['dtls', '1.3'],
};

function mapSsl(f: FieldReader, event: Record<string, unknown>): LogMapping {
  put(event, 'network.protocol', 'tls');
  const versionText = f.record.version;
  const version = typeof versionText === 'string' ? tlsVersions[versionText] : undefined;
  if (version !== undefined) {
    f.use('version');
    put(event, 'tls.version', version[1]);
    put(event, 'tls.version_protocol', version[0]);
  }
  put(event, 'tls.cipher', f.string('cipher'));
  put(event, 'tls.curve', f.string('curve'));
  const serverName = f.string('server_name');
  put(event, 'tls.client.server_name', serverName);
  put(event, 'destination.domain', serverName);
  put(event, 'tls.resumed', f.boolean('resumed'));
  put(event, 'tls.established', f.boolean('established'));
  put(event, 'tls.next_protocol', f.string('next_protocol'));
  put(event, 'tls.server.subject', f.string('subject'));
  put(event, 'tls.server.issuer', f.string('issuer'));
  put(event, 'tls.client.subject', f.string('client_subject'));
  put(event, 'tls.client.issuer', f.string('client_issuer'));
  put(event, 'tls.client.ja3', f.string('ja3'));
  put(event, 'tls.server.ja3s', f.string('ja3s'));
  put(event, 'tls.client.ja4', f.string('ja4'));
  // ssl.log has no proto field: DTLS runs over UDP, everything else Zeek logs here over TCP.
  return { category: ['network'], type: ['protocol'], impliedProtocol: version?.[0] === 'dtls' ? 17 : 6 };
}

function mapHttp(f: FieldReader, event: Record<string, unknown>): LogMapping {
  put(event, 'network.protocol', 'http');
  put(event, 'http.request.method', f.string('method'));
  put(event, 'http.version', f.string('version'));
  put(event, 'http.request.referrer', f.string('referrer'));
  put(event, 'http.request.body.bytes', f.count('request_body_len'));
  put(event, 'http.response.body.bytes', f.count('response_body_len'));
  put(event, 'http.response.status_code', f.count('status_code'));
  put(event, 'user_agent.original', f.string('user_agent'));
  put(event, 'url.username', f.string('username'));
  const host = f.string('host');
  const uri = f.string('uri');
  if (host !== undefined) {
    const { domain, port } = splitHost(host);
    put(event, 'url.domain', domain);
    put(event, 'destination.domain', domain);
    put(event, 'url.port', port);
  }
  if (uri !== undefined) {
    put(event, 'url.original', uri);
    const query = uri.indexOf('?');
    if (uri.startsWith('/')) {
      put(event, 'url.path', query < 0 ? uri : uri.slice(0, query));
      if (query >= 0) put(event, 'url.query', uri.slice(query + 1));
    }
  }
  // The MIME type lists stay under zeek.http as well: they name every part, ECS only the first.
  put(event, 'http.request.mime_type', firstString(f.record.orig_mime_types));
  put(event, 'http.response.mime_type', firstString(f.record.resp_mime_types));
  return { category: ['network', 'web'], type: ['protocol'], impliedProtocol: 6 };
}

function splitHost(host: string): { domain: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(host);
  if (bracketed !== null) return { domain: bracketed[1] as string, port: portOf(bracketed[2]) };
  const withPort = /^([^:]+):(\d{1,5})$/.exec(host);
  if (withPort !== null) return { domain: withPort[1] as string, port: portOf(withPort[2]) };
  return { domain: host, port: undefined };
}

function portOf(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && n <= 65535 ? n : undefined;
}

function firstString(value: unknown): string | undefined {
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

/** ECS writes MAC addresses as uppercase hex pairs joined by hyphens. */
function mac(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value) ? value.toUpperCase().replaceAll(':', '-') : value;
}
