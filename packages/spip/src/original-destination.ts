import { createRequire } from 'node:module';
import net from 'node:net';

export interface Endpoint {
  address: string;
  port: number;
  family: 4 | 6;
}

interface Binding {
  /** The original destination, or the errno name when the connection has none. */
  getOriginalDst(fd: number): Endpoint | string;
}

// Loaded once: a failed load is just as final as a successful one for the
// lifetime of the process. The path is relative to the compiled file
// (dist/src/), and node-gyp writes the addon under native/build/Release/.
function loadBinding(): Binding | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const require = createRequire(import.meta.url);
    return require('../../native/build/Release/origdst.node') as Binding;
  } catch {
    return undefined;
  }
}

const binding = loadBinding();

/** Whether the native addon loaded; without it every connection reports its local address. */
export const originalDestinationAvailable: boolean = binding !== undefined;

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

function endpoint(address: string, port: number): Endpoint {
  // The prefix test spares the regular expression for the addresses that cannot match it.
  const unmapped = address.startsWith('::') ? (MAPPED_IPV4.exec(address)?.[1] ?? address) : address;
  return { address: unmapped, port, family: net.isIPv6(unmapped) ? 6 : 4 };
}

// Node has no public API for a socket's file descriptor, but getsockopt needs
// one; libuv's TCP handle exposes it as `fd` on Unix (-1 once closed).
function fileDescriptor(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * The address and port an accepted connection was originally sent to, before
 * an iptables REDIRECT/DNAT rule rewrote it. `redirected` is true only when the
 * kernel reported an original destination different from the local address.
 * Every failure (no NAT entry, no conntrack, no addon, a closed socket, not
 * Linux) falls back to the local address and port; it never throws. Node
 * forgets the local address once a socket is closed, so call this when the
 * connection is accepted: a closed socket reports "" and port 0. `knownLocal`, the address of
 * a listener bound to one specific address, saves the getsockname call: every connection it
 * accepts has exactly that local endpoint.
 */
export function originalDestination(socket: net.Socket, knownLocal?: { address: string; port: number }): { endpoint: Endpoint; redirected: boolean } {
  const local = knownLocal !== undefined ? endpoint(knownLocal.address, knownLocal.port) : endpoint(socket.localAddress ?? '', socket.localPort ?? 0);
  const fd = fileDescriptor(socket);
  if (binding === undefined || fd === undefined) return { endpoint: local, redirected: false };
  let original: Endpoint;
  try {
    const reported = binding.getOriginalDst(fd);
    // ENOENT/ENOPROTOOPT/EOPNOTSUPP: not redirected, or no conntrack.
    if (typeof reported === 'string') return { endpoint: local, redirected: false };
    original = endpoint(reported.address, reported.port);
  } catch {
    // ENOENT/ENOPROTOOPT/EOPNOTSUPP mean "no NAT entry or no conntrack", and
    // anything else (EBADF after a race with close) leaves nothing better to
    // report than the local address either.
    return { endpoint: local, redirected: false };
  }
  const redirected = original.address !== local.address || original.port !== local.port;
  return { endpoint: original, redirected };
}
