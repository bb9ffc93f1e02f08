import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { ApiError } from '../../errors.js';
import { ThrottledLog } from '../../logging.js';
import { parseListenAddress } from '../../net/listen.js';
import type { Input, InputDeps } from '../input.js';
import { RateLimiter } from '../../auth/rate-limiter.js';
import { AllowList } from '../../net/allow-list.js';
import type { NetflowConfig } from './config.js';
import { NetflowDecoder } from './decode.js';
import { renderFlows } from './ecs.js';
import { DatagramQueue, type Datagram } from './queue.js';

const INPUT = 'netflow';
/** Batches of this input on their way to the outputs at once: enough to keep the decode threads busy. */
const MAX_IN_FLIGHT = 4;
/** Longest stretch of decoding before the event loop gets to read the socket again. */
const DRAIN_SLICE_MS = 5;
/** How often expired templates are swept out (lookups also check age, so this only frees memory). */
const SWEEP_INTERVAL_MS = 60_000;
/** How soon to look again when the pipeline is full with other inputs' batches. */
const RETRY_MS = 10;

/**
 * The NetFlow v5/v9/IPFIX collector: a UDP socket whose datagrams go through the exporter
 * allow-list into a bounded queue, are decoded into ECS events off that queue, and leave in
 * batches through the submitter. UDP has no acknowledgement: a batch the outputs refuse is
 * lost, and counted as such, rather than retried from memory without bound.
 */
export class NetflowInput implements Input {
  readonly name = INPUT;
  private socket: Socket | undefined;
  private readonly decoder: NetflowDecoder;
  private readonly queue: DatagramQueue;
  private readonly allowList: AllowList;
  /** Per-exporter packet budget, so one misconfigured or hostile exporter cannot take every other exporter's share. */
  private readonly exporterLimit: RateLimiter;
  private readonly throttled: ThrottledLog;
  private readonly maxEventBytes: number;
  /** Rendered events waiting for their batch, and the exporter address of each. */
  private lines: string[] = [];
  private senders: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private drainScheduled = false;
  /** Decoding waits for a batch slot; a finished batch (or the retry timer) resumes it. */
  private waiting = false;
  private batchTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private templatesReported = -1;

  constructor(
    private readonly config: NetflowConfig,
    private readonly deps: InputDeps,
  ) {
    this.decoder = new NetflowDecoder({
      maxTemplates: config.max_templates,
      maxPerExporter: config.max_templates_per_exporter,
      timeoutMs: config.template_timeout_seconds * 1000,
    });
    this.queue = new DatagramQueue(config.queue_max_bytes);
    this.allowList = new AllowList(config.allowed_networks);
    this.exporterLimit = new RateLimiter(config.max_packets_per_second_per_exporter, config.max_packets_per_second_per_exporter);
    this.throttled = new ThrottledLog(deps.logger, 60_000);
    this.maxEventBytes = deps.config.limits.max_event_size_bytes;
  }

  async start(): Promise<void> {
    const key = 'inputs.netflow.listen_address';
    const address = this.config.listen_address;
    const parsed = parseListenAddress(address);
    if (parsed === undefined) throw new Error(`${key}: "${address}" is not host:port`);
    this.socket = await bind(parsed.host, parsed.port, key, address, (data, remote) => this.receive(data, remote));
    const socket = this.socket;
    socket.on('error', (error) => this.deps.logger.error({ err: error, input: INPUT }, 'netflow socket error'));
    const receiveBuffer = this.sizeReceiveBuffer(socket);
    const bound = socket.address();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    this.deps.logger.info({ input: INPUT, address: bound.address, port: bound.port, receive_buffer_bytes: receiveBuffer, allowed_networks: this.config.allowed_networks }, 'netflow collector listening');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.batchTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
    // What was received is decoded and sent before the pipeline closes: nothing accepted from
    // the socket is dropped on a clean stop.
    while (this.queue.length > 0 || this.lines.length > 0 || this.inFlight.size > 0) {
      this.drain();
      if (this.lines.length > 0 && this.queue.length === 0) this.flush(true);
      if (this.inFlight.size > 0) await Promise.race(this.inFlight);
      else if (this.queue.length > 0 || this.lines.length > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  private receive(data: Buffer, remote: RemoteInfo): void {
    const metrics = this.deps.metrics;
    metrics.netflowPackets.inc();
    const address = unmapped(remote.address);
    if (!this.allowList.allows(address)) {
      this.reject('not_allowed');
      this.throttled.warn(`not_allowed ${address}`, { input: INPUT, exporter: address }, 'netflow packet from an address outside inputs.netflow.allowed_networks dropped');
      return;
    }
    if (this.exporterLimit.take(address) > 0) {
      this.reject('rate_limited');
      this.throttled.warn(`rate_limited ${address}`, { input: INPUT, exporter: address, limit: this.config.max_packets_per_second_per_exporter }, 'netflow exporter over inputs.netflow.max_packets_per_second_per_exporter: packets dropped');
      return;
    }
    if (!this.queue.push({ data, address, port: remote.port, receivedMs: Date.now() })) {
      this.reject('queue_full');
      this.throttled.warn('queue_full', { input: INPUT, queued_bytes: this.queue.bytes }, 'netflow queue full (inputs.netflow.queue_max_bytes): packets dropped; decoding or the outputs cannot keep up');
      return;
    }
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.waiting) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /**
   * Decodes queued datagrams for a few milliseconds at most, sending full batches as it goes.
   * Stops early when no batch slot is free: the queue then absorbs the load until one is.
   */
  private drain(): void {
    const max = this.deps.submitter.maxEventsPerBatch;
    const deadline = performance.now() + DRAIN_SLICE_MS;
    while (this.queue.length > 0) {
      if (this.lines.length >= max && !this.flush(false)) return;
      this.decode(this.queue.shift() as Datagram);
      if (performance.now() > deadline) break;
    }
    while (this.lines.length >= max) if (!this.flush(false)) return;
    if (this.queue.length > 0) this.scheduleDrain();
    else if (this.lines.length > 0 && this.batchTimer === undefined && !this.stopping) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        if (this.lines.length > 0 && !this.flush(true)) return;
        this.scheduleDrain();
      }, this.config.batch_max_wait_ms);
    }
  }

  private decode(datagram: Datagram): void {
    const { data, address, port, receivedMs } = datagram;
    const result = this.decoder.decode(data, address, receivedMs);
    this.updateTemplateGauge();
    if (!result.ok) {
      this.reject('malformed');
      this.throttled.warn(`malformed ${address}`, { input: INPUT, exporter: address, reason: result.error }, 'malformed netflow packet dropped');
      return;
    }
    const packet = result.packet;
    if (packet.missingTemplates > 0) {
      this.reject('template_missing');
      this.throttled.warn(`template_missing ${address}`, { input: INPUT, exporter: address, version: packet.version, source_id: packet.sourceId }, 'netflow data for a template not received yet dropped (normal for a minute after either side restarts)');
    }
    if (packet.refusedTemplates > 0) {
      this.throttled.warn(`templates_refused ${address}`, { input: INPUT, exporter: address, templates: this.decoder.templates.size }, 'netflow templates not stored: inputs.netflow.max_templates or max_templates_per_exporter reached');
    }
    if (packet.flows.length === 0) return;
    const first = this.lines.length;
    renderFlows(packet, { ip: address, port }, receivedMs, this.lines);
    for (let i = first; i < this.lines.length; i++) {
      const line = this.lines[i] as string;
      // Only a long line can be over the limit; UTF-8 takes at most three octets per UTF-16 unit.
      if (line.length * 3 > this.maxEventBytes && Buffer.byteLength(line) > this.maxEventBytes) {
        this.lines.splice(i--, 1);
        this.deps.metrics.netflowLostFlows.inc({ reason: 'event_too_large' });
        this.throttled.warn(`event_too_large ${address}`, { input: INPUT, exporter: address, limit: this.maxEventBytes }, 'netflow flow larger than limits.max_event_size_bytes dropped');
        continue;
      }
      this.senders.push(address);
    }
  }

  /**
   * Sends up to one batch of the waiting events. False when no slot is free now (this input's
   * batches in flight, or the pipeline's): decoding pauses until a batch finishes.
   * `partial`: send fewer events than a full batch (the wait is over, or stopping).
   */
  private flush(partial: boolean): boolean {
    const { submitter } = this.deps;
    const max = submitter.maxEventsPerBatch;
    if (this.lines.length === 0 || (!partial && this.lines.length < max)) return true;
    if (this.inFlight.size >= MAX_IN_FLIGHT || !submitter.hasCapacity()) {
      this.waiting = true;
      // Our own batches finishing resume decoding; other inputs' do not, so look again soon.
      if (this.inFlight.size === 0 && this.retryTimer === undefined) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.resume();
        }, RETRY_MS);
      }
      return false;
    }
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const lines = this.lines.length <= max ? this.lines : this.lines.slice(0, max);
    const senders = this.senders.length <= max ? this.senders : this.senders.slice(0, max);
    this.lines = lines === this.lines ? [] : this.lines.slice(max);
    this.senders = senders === this.senders ? [] : this.senders.slice(max);
    // Events are ASCII (renderFlows escapes the rest), so each is copied in as latin1, without
    // joining them into one string first. Its own memory, so the decode thread can take it over.
    let size = lines.length;
    for (const line of lines) size += line.length;
    const ndjson = Buffer.allocUnsafeSlow(size);
    let offset = 0;
    for (const line of lines) {
      offset += ndjson.write(line, offset, 'latin1');
      ndjson[offset++] = 0x0a;
    }
    const sending = this.deps.submitter
      .submit({ input: INPUT, sender: senderOf(senders), ndjson })
      .then(
        () => undefined,
        (error: unknown) => {
          const reason = error instanceof ApiError ? error.code : 'internal_error';
          this.deps.metrics.netflowLostFlows.inc({ reason }, lines.length);
          this.throttled.warn(`lost ${reason}`, { input: INPUT, flows: lines.length, reason, err: error instanceof Error ? error.message : String(error) }, 'netflow flows lost: the outputs did not accept their batch (UDP cannot be retried)');
        },
      )
      .finally(() => {
        this.inFlight.delete(sending);
        this.resume();
      });
    this.inFlight.add(sending);
    return true;
  }

  private resume(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.scheduleDrain();
  }

  private reject(reason: 'malformed' | 'template_missing' | 'not_allowed' | 'rate_limited' | 'queue_full'): void {
    this.deps.metrics.inputRejected.inc({ input: INPUT, reason });
  }

  private sweep(): void {
    this.decoder.templates.expire(Date.now());
    this.updateTemplateGauge();
  }

  private updateTemplateGauge(): void {
    const size = this.decoder.templates.size;
    if (size === this.templatesReported) return;
    this.templatesReported = size;
    this.deps.metrics.netflowTemplates.set(size);
  }

  /** Asks for receive_buffer_bytes; says so when the kernel grants less (net.core.rmem_max). */
  private sizeReceiveBuffer(socket: Socket): number {
    const wanted = this.config.receive_buffer_bytes;
    if (wanted > 0) {
      try {
        socket.setRecvBufferSize(wanted);
      } catch (error) {
        this.deps.logger.warn({ input: INPUT, err: error }, 'inputs.netflow.receive_buffer_bytes could not be applied');
      }
    }
    const granted = socket.getRecvBufferSize();
    // Linux reports twice the size asked for (the doubling covers its bookkeeping).
    if (wanted > 0 && granted < wanted) {
      this.deps.logger.warn({ input: INPUT, requested: wanted, granted }, 'inputs.netflow.receive_buffer_bytes capped by the kernel; raise net.core.rmem_max (sysctl) to absorb bursts');
    }
    return granted;
  }
}

/** Binds a UDP socket: dual-stack for ":port", the address's own family otherwise. */
async function bind(host: string | undefined, port: number, key: string, text: string, onMessage: (data: Buffer, remote: RemoteInfo) => void): Promise<Socket> {
  const attempt = (type: 'udp4' | 'udp6', address: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = createSocket({ type, reuseAddr: false, ipv6Only: false });
      // Listening before the bind completes: a datagram arriving at once is not lost.
      socket.on('message', onMessage);
      const onError = (error: NodeJS.ErrnoException): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      socket.bind(port, address, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  const describe = (error: NodeJS.ErrnoException): Error => {
    const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : error.message;
    return new Error(`${key}: cannot listen on ${text}: ${reason}`);
  };
  try {
    if (host === undefined) {
      try {
        return await attempt('udp6', '::');
      } catch (error) {
        // A host without IPv6 still gets an IPv4 collector.
        if ((error as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
        return await attempt('udp4', '0.0.0.0');
      }
    }
    return await attempt(isIP(host) === 6 ? 'udp6' : 'udp4', host);
  } catch (error) {
    throw describe(error as NodeJS.ErrnoException);
  }
}

/** "::ffff:192.0.2.1" (an IPv4 sender on a dual-stack socket) as "192.0.2.1". */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The batch's exporter, or how many when flows of several share it. */
function senderOf(senders: readonly string[]): string {
  const first = senders[0] ?? '';
  let others = 0;
  const seen = new Set<string>();
  for (const sender of senders) {
    if (sender === first || seen.has(sender)) continue;
    seen.add(sender);
    others++;
  }
  return others === 0 ? first : `${first} and ${others} other exporters`;
}
