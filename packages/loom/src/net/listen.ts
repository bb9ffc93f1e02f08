import type { Server } from 'node:net';

/**
 * Parses a Go-style listen address: ":8443" (all interfaces), "0.0.0.0:8080",
 * "[::1]:9080" or "localhost:8080". Port 0 picks a free port (used by tests).
 */
export function parseListenAddress(address: string): { host: string | undefined; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return undefined;
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return undefined;
  return { host: host === '' ? undefined : host, port };
}

/** Binds a server; a failure (port taken, bad address) rejects with a message naming the key. */
export function listen(server: Server, address: string, key: string): Promise<void> {
  const parsed = parseListenAddress(address);
  if (parsed === undefined) return Promise.reject(new Error(`${key}: "${address}" is not host:port`));
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : error.message;
      reject(new Error(`${key}: cannot listen on ${address}: ${reason}`));
    };
    server.once('error', onError);
    server.listen({ host: parsed.host, port: parsed.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
