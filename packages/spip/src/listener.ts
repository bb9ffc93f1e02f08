import net from 'node:net';
import type tls from 'node:tls';
import type { SpipConfig } from './config/types.js';
import type { Log } from './diagnostics.js';
import { newConnectionRecord, type ConnectionAction, type ConnectionRecord } from './event.js';
import { originalDestination } from './original-destination.js';
import { TokenBucket } from './rate-limit.js';
import { Session, normaliseAddress } from './session.js';

/**
 * Accepts connections on every configured port and runs a Session for each. Connections over
 * the global rate limit or the connection caps are closed at once but still reported, since
 * a flood is itself worth recording.
 */
export class Listener {
  private readonly servers: net.Server[] = [];
  private readonly sessions = new Set<Session>();
  private readonly perIp = new Map<string, number>();
  private readonly bucket: TokenBucket;

  constructor(
    private readonly config: SpipConfig,
    private readonly secureContext: tls.SecureContext | undefined,
    private readonly emit: (record: ConnectionRecord) => void,
    private readonly log: Log,
  ) {
    this.bucket = new TokenBucket(config.rate_limit_per_second, config.rate_limit_burst);
  }

  get activeConnections(): number {
    return this.sessions.size;
  }

  async start(): Promise<void> {
    for (const port of this.config.ports) {
      // allowHalfOpen: clients like `printf … | nc` close their side right after sending and
      // still wait for the answer; without it Node would close ours before we could reply.
      let local: { address: string; port: number } | undefined;
      const server = net.createServer({ allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) => this.accept(socket, local));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`Failed to create listener: listen ${this.config.ip}:${port}: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`)));
        server.listen({ host: this.config.ip, port, backlog: 4096 }, resolve);
      });
      server.on('error', (error) => this.log('error', 'listener error', { port, error: error.message }));
      this.servers.push(server);
      const address = server.address() as net.AddressInfo;
      // A listener on one specific address gives every connection that local endpoint; only a
      // wildcard listener needs to ask the kernel per connection.
      if (!isWildcard(address.address)) local = { address: address.address, port: address.port };
      this.log('info', `Listening on ${this.config.ip}:${address.port}`, { port: address.port });
    }
  }

  boundPorts(): number[] {
    return this.servers.map((s) => (s.address() as net.AddressInfo).port);
  }

  /** Stops accepting, waits for open connections up to the deadline, then closes the rest. */
  async stop(deadlineMs: number): Promise<number> {
    // close() stops listening at once but calls back only when every connection has ended, so
    // awaiting it first would let one slow client hold the shutdown past its deadline.
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const until = Date.now() + deadlineMs;
    while (this.sessions.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const forced = this.sessions.size;
    for (const session of [...this.sessions]) session.abort();
    await closed;
    return forced;
  }

  private accept(socket: net.Socket, local: { address: string; port: number } | undefined): void {
    const sourceIp = normaliseAddress(socket.remoteAddress ?? '');
    if (sourceIp === '') {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined);
    const { endpoint, redirected } = originalDestination(socket, local);
    const destination = { address: endpoint.address, port: endpoint.port, redirected };
    if (!this.bucket.take()) return this.reject(socket, sourceIp, destination, 'rate-limited');
    const fromIp = this.perIp.get(sourceIp) ?? 0;
    if (this.sessions.size >= this.config.max_connections || fromIp >= this.config.max_connections_per_ip) {
      return this.reject(socket, sourceIp, destination, 'connection-limit');
    }
    this.perIp.set(sourceIp, fromIp + 1);
    const session: Session = new Session(socket, {
      config: this.config,
      secureContext: this.secureContext,
      destination,
      done: (record) => {
        this.sessions.delete(session);
        const left = (this.perIp.get(sourceIp) ?? 1) - 1;
        if (left <= 0) this.perIp.delete(sourceIp);
        else this.perIp.set(sourceIp, left);
        this.emit(record);
      },
    });
    this.sessions.add(session);
    void session.run();
  }

  private reject(socket: net.Socket, sourceIp: string, destination: { address: string; port: number; redirected: boolean }, action: ConnectionAction): void {
    this.emit(newConnectionRecord(sourceIp, socket.remotePort ?? 0, destination, action));
    socket.destroy();
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}
