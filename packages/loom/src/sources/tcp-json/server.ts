import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../logging.js';
import { ThrottledLog } from '../../logging.js';
import { AllowList } from '../../net/allow-list.js';
import { listen } from '../../net/listen.js';
import { normalizeAddress } from './addresses.js';
import { Connection, type ConnectionContext } from './connection.js';

export interface ListenerLimits {
  /** Client networks whose connections are accepted. */
  allowedNetworks: readonly string[];
  maxConnections: number;
  maxConnectionsPerIp: number;
  idleTimeoutMs: number;
}

/** The expired-blacklist and idle-address sweep runs this often. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * The TCP listener: enforces the connection limits, hands each accepted socket to a
 * Connection, and stops gracefully (every message read is answered before its
 * connection closes).
 */
export class TcpJsonListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly throttled: ThrottledLog;
  private readonly allowed: AllowList;
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;
  private allClosed: (() => void) | undefined;

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly limits: ListenerLimits,
    logger: Logger,
  ) {
    // allowHalfOpen: a client may send its messages and shut down its side; the answers still reach it.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.throttled = new ThrottledLog(logger);
    this.allowed = new AllowList(limits.allowedNetworks);
  }

  /** Binds host:port; a failure names the config keys. */
  async start(host: string, port: number): Promise<AddressInfo> {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    await listen(this.server, address, 'server_settings (IP, Port)');
    this.sweeper = setInterval(() => this.ctx.guard.sweep(performance.now()), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    return this.server.address() as AddressInfo;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, lets every connection answer what it has read and close, and after
   * deadlineMs closes what is left. Resolves true when nothing had to be cut off.
   */
  async stop(deadlineMs: number): Promise<boolean> {
    this.stopping = true;
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drained = new Promise<void>((resolve) => {
      if (this.connections.size === 0) resolve();
      else this.allClosed = resolve;
    });
    for (const connection of this.connections) connection.stop();
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([
      drained.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (!clean) for (const connection of this.connections) connection.destroy();
    await closed;
    return clean;
  }

  private accept(socket: Socket): void {
    const remote = socket.remoteAddress;
    if (remote === undefined || this.stopping) {
      socket.destroy();
      return;
    }
    const address = normalizeAddress(remote);
    const { stats } = this.ctx;
    if (!this.allowed.allows(address)) {
      // Outside the allowed networks: no answer at all, not even a refusal message.
      stats.connections.refused_not_allowed++;
      this.throttled.warn('not_allowed', { source_ip: address }, 'tcp-json: connection refused: address outside server_settings.allowed_networks');
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) {
      stats.connections.refused_max_connections++;
      this.throttled.warn('max_connections', { max_connections: this.limits.maxConnections, source_ip: address }, 'tcp-json: connection refused: server_settings.max_connections reached');
      socket.destroy();
      return;
    }
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.limits.maxConnectionsPerIp) {
      stats.connections.refused_max_connections_per_ip++;
      this.throttled.warn('max_connections_per_ip', { max_connections_per_ip: this.limits.maxConnectionsPerIp, source_ip: address }, 'tcp-json: connection refused: server_settings.max_connections_per_ip reached');
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    stats.connections.accepted++;
    stats.openConnections++;
    socket.setTimeout(this.limits.idleTimeoutMs);
    const lookup = this.ctx.guard.lookup?.(address);
    if (lookup === undefined) {
      this.open(socket, address);
      return;
    }
    // With shared state, what other instances know about the address is asked for first;
    // the client's bytes wait in the socket meanwhile (nothing reads it yet).
    socket.on('error', () => undefined);
    void lookup.then(() => {
      if (this.stopping || socket.destroyed) {
        socket.destroy();
        this.release(address);
        return;
      }
      this.open(socket, address);
    });
  }

  private open(socket: Socket, address: string): void {
    const connection = new Connection(socket, address, socket.remotePort ?? 0, this.ctx, (done) => this.closed(done));
    this.connections.add(connection);
  }

  private closed(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    this.release(connection.address);
    if (this.connections.size === 0) this.allClosed?.();
  }

  /** Forgets a connection counted by accept. */
  private release(address: string): void {
    this.ctx.stats.openConnections--;
    const open = (this.perAddress.get(address) ?? 1) - 1;
    if (open <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, open);
  }
}
