import type { HttpHeader, HttpRequest } from './request.js';
import { decodeUtf8 } from './request-line.js';
import { parseHost } from './host.js';
import { firstHeader } from './header-lookup.js';

/** http.request.body.content carries at most this many body bytes (decoded lossily as UTF-8). */
export const MAX_BODY_CONTENT_BYTES = 64 * 1024;

const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/**
 * The ECS fields of a request, nested (`{ http: { request: { method } } }`).
 *
 * Names follow the Go sensor where it had them: http.request.method, http.request.headers
 * (lowercase name → value; repeated fields joined with ", ", or "; " for Cookie as RFC 9113
 * §8.2.3 joins cookies), http.request.body.{bytes,content} only when there is a body,
 * url.domain and url.port from the Host header, user_agent.original. Unlike the Go sensor,
 * url.path no longer includes the query: url.original holds the target verbatim, url.path the
 * part before '?', url.query the part after it. Standard ECS fields are added: http.version,
 * http.request.referrer, and for proxy-style targets url.scheme, with url.domain/url.port taken
 * from the target when no Host header was sent. url.domain keeps an IPv6 literal's brackets, as
 * ECS asks.
 */
export function ecsHttpFields(req: HttpRequest): Record<string, unknown> {
  const request: Record<string, unknown> = { method: req.method };
  if (req.headers.length > 0) request.headers = headerObject(req.headers);
  if (req.body.length > 0) {
    request.body = { bytes: req.body.length, content: decodeUtf8(req.body.subarray(0, MAX_BODY_CONTENT_BYTES)) };
  }
  const referrer = firstHeader(req.headers, 'referer');
  if (referrer !== undefined) request.referrer = referrer;
  const fields: Record<string, unknown> = { http: { version: req.version, request }, url: urlFields(req) };
  if (req.userAgent !== undefined) fields.user_agent = { original: req.userAgent };
  return fields;
}

function urlFields(req: HttpRequest): Record<string, unknown> {
  const url: Record<string, unknown> = { original: req.target };
  let pathAndQuery = req.target;
  let authority: string | undefined;
  const absolute = ABSOLUTE_FORM.exec(req.target);
  if (absolute !== null) {
    url.scheme = (absolute[1] ?? '').toLowerCase();
    authority = absolute[2];
    pathAndQuery = absolute[3] ?? '';
  } else if (req.method.toUpperCase() === 'CONNECT') {
    authority = req.target;
    pathAndQuery = '';
  } else if (req.target === '*') {
    pathAndQuery = '';
  }
  const question = pathAndQuery.indexOf('?');
  const path = question < 0 ? pathAndQuery : pathAndQuery.slice(0, question);
  if (path !== '') url.path = path;
  if (question >= 0) url.query = pathAndQuery.slice(question + 1);

  let { host, hostPort: port } = req;
  if (host === undefined && port === undefined && authority !== undefined) {
    ({ host, port } = parseHost(authority.slice(authority.lastIndexOf('@') + 1)));
  }
  if (host !== undefined) url.domain = host.includes(':') ? `[${host}]` : host;
  if (port !== undefined) url.port = port;
  return url;
}

function headerObject(headers: readonly HttpHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of headers) {
    const key = name.toLowerCase();
    const existing = Object.hasOwn(out, key) ? out[key] : undefined;
    const joined = existing === undefined ? value : `${existing}${key === 'cookie' ? '; ' : ', '}${value}`;
    // defineProperty, so a header named "__proto__" becomes data instead of a prototype change;
    // only there, as it turns the object into a slow dictionary.
    if (key === '__proto__') Object.defineProperty(out, key, { value: joined, enumerable: true, writable: true, configurable: true });
    else out[key] = joined;
  }
  return out;
}
