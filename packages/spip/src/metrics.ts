import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Log } from './diagnostics.js';
import type { Shipper } from './shipper/shipper.js';

/** Prometheus metrics of the sensor, served on metrics_listen_address when it is set. */
export class SensorMetrics {
  readonly registry = new Registry();
  readonly connections = new Counter({ name: 'spip_connections_total', help: 'Connections by event.action.', labelNames: ['action'] as const, registers: [this.registry] });
  private server: http.Server | undefined;

  constructor(activeConnections: () => number, shipper: Shipper | undefined) {
    new Gauge({ name: 'spip_active_connections', help: 'Connections open now.', registers: [this.registry], collect() { this.set(activeConnections()); } });
    if (shipper !== undefined) {
      const stat = (name: string, help: string, read: (s: ReturnType<Shipper['stats']>) => number | undefined): void => {
        new Gauge({ name, help, registers: [this.registry], collect() { this.set(read(shipper.stats()) ?? 0); } });
      };
      stat('spip_shipper_queued_events', 'Events waiting to be sent (memory and spool).', (s) => s.queuedEvents);
      stat('spip_shipper_spooled_events', 'Events in the on-disk spool.', (s) => s.spooledEvents);
      stat('spip_shipper_spooled_bytes', 'Bytes in the on-disk spool.', (s) => s.spooledBytes);
      stat('spip_shipper_sent_events_total', 'Events Loom acknowledged.', (s) => s.sentEvents);
      stat('spip_shipper_failed_attempts_total', 'POSTs that did not succeed (retried, or split after 413/400).', (s) => s.failedAttempts);
      stat('spip_shipper_last_success_timestamp_seconds', 'When Loom last acknowledged a batch (0 = never).', (s) => (s.lastSuccessAt === undefined ? 0 : s.lastSuccessAt / 1000));
      new Gauge({
        name: 'spip_shipper_dropped_events_total', help: 'Events given up on, by reason.', labelNames: ['reason'] as const, registers: [this.registry],
        collect() {
          for (const [reason, count] of Object.entries(shipper.stats().droppedEvents)) this.set({ reason }, count);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
  }

  async listen(address: string, log: Log): Promise<void> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '') || undefined;
    const port = Number(address.slice(colon + 1));
    // Bounded like every other listener: a slow client cannot hold the metrics port.
    this.server = http.createServer({ headersTimeout: 5000, requestTimeout: 5000, connectionsCheckingInterval: 1000 }, (req, res) => {
      if ((req.url ?? '').split('?')[0] === '/metrics') {
        this.registry.metrics().then((body) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body), () => res.writeHead(500).end());
      } else if (req.url === '/health') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', (error) => reject(new Error(`metrics_listen_address: cannot listen on ${address}: ${error.message}`)));
      this.server?.listen({ host, port }, resolve);
    });
    log('info', 'metrics listening', { addr: address, port: (this.server.address() as { port: number }).port });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
