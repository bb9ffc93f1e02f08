import { isAscii, isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Guard, Strike } from './abuse.js';
import type { ErrorLog, MessageStore } from './delivery.js';
import { LineSplitter, type FrameSink } from './framing.js';
import { ecsEvent, logRecord, type MessageChecker } from './message.js';
import type { MessageOutcome, TcpJsonStats } from './metrics.js';
import { blacklistedFor, INTERNAL_ERROR, LOGGED, rateLimited, refused } from './responses.js';

/** Messages waiting for the logfile (or the outputs) beyond which the connection stops reading. */
export const MAX_UNANSWERED = 4096;
/** Response bytes the client has not read beyond which the connection stops reading. */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/** What every connection of one listener shares. */
export interface ConnectionContext {
  guard: Guard;
  checker: MessageChecker;
  store: MessageStore;
  errorLog: ErrorLog | undefined;
  stats: TcpJsonStats;
  maxMessageBytes: number;
  messagesPerMinute: number;
  /** undefined: blacklists are permanent. */
  blacklistSeconds: number | undefined;
  /** The address is on the pre-configured blacklist. */
  preconfigured(address: string): boolean;
  blacklisted(address: string, strike: Strike): void;
  storeFailed(error: unknown): void;
}

/**
 * One client connection: splits its bytes into messages, decides each one in the order
 * received, and answers every message exactly once, in that order, however long the
 * logfile takes for some of them (clients may pipeline).
 *
 * Everything decided about the messages of one read (rate, strikes, validation) happens
 * synchronously; the accepted ones are then stored as one batch, and their answers wait
 * for it. A client that sends faster than it reads answers, or faster than the logfile
 * takes its messages, is paused (TCP backpressure) instead of being buffered without bound.
 */
export class Connection implements FrameSink {
  private readonly splitter: LineSplitter;
  private readonly responses = new ResponseQueue();
  private readonly addressJson: string;
  private readonly onPreconfiguredList: boolean;
  private readonly blacklistedForever: string;
  /** The peer has finished sending. */
  private ended = false;
  private stopping = false;
  private closing = false;
  private paused = false;
  private closed = false;

  // The read being processed.
  private chunk: Buffer | undefined;
  private chunkAscii = false;
  private now = 0;
  private monotonicNow = 0;
  private timestamp = '';
  private timestampJson = '';
  private records: string[] = [];
  private events: string[] = [];
  private slots: number[] = [];
  private errorLines: string[] = [];
  private readonly tally: Record<MessageOutcome, number> = { logged: 0, blacklisted: 0, rate_limited: 0, malformed: 0, internal_error: 0 };

  constructor(
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    private readonly ctx: ConnectionContext,
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.splitter = new LineSplitter(ctx.maxMessageBytes);
    this.addressJson = JSON.stringify(address);
    // Fixed for the connection: the list only changes with a restart.
    this.onPreconfiguredList = ctx.preconfigured(address);
    this.blacklistedForever = blacklistedFor(address, undefined);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => this.peerEnded());
    socket.on('drain', () => this.adjustFlow());
    socket.on('timeout', () => this.idle());
    // A reset or a write to a closed socket: 'close' follows and cleans up.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
  }

  /** Stops taking messages; what was read is answered, then the connection is closed from this side. */
  stop(): void {
    this.stopping = true;
    this.socket.pause();
    this.finishIfDone();
  }

  destroy(): void {
    this.socket.destroy();
  }

  line(buf: Buffer, start: number, end: number): void {
    if (!this.admit()) return;
    let text: string;
    if (buf === this.chunk && this.chunkAscii) {
      text = buf.toString('latin1', start, end);
    } else {
      const bytes = buf.subarray(start, end);
      if (!isUtf8(bytes)) {
        this.malformed('not valid UTF-8', bytes.toString('utf8'), bytes.length);
        return;
      }
      text = bytes.toString('utf8');
    }
    const checked = this.ctx.checker.check(text);
    if (!checked.ok) {
      this.malformed(checked.reason, text, end - start);
      return;
    }
    this.records.push(logRecord(this.timestampJson, this.addressJson, checked.body, checked.hasFields));
    if (this.ctx.store.forwarding) this.events.push(ecsEvent(this.timestampJson, this.addressJson, this.port, checked.body));
    this.slots.push(this.responses.reserve());
  }

  oversized(): void {
    if (this.admit()) this.malformed(`message longer than ${this.ctx.maxMessageBytes} bytes; skipped up to the next newline`, undefined, undefined);
  }

  /** The blacklist and rate checks, answering the message when it may not be processed. */
  private admit(): boolean {
    if (this.onPreconfiguredList) {
      this.answer(this.blacklistedForever, 'blacklisted');
      return false;
    }
    const admission = this.ctx.guard.admit(this.address, this.monotonicNow);
    if (admission.kind === 'ok') return true;
    if (admission.kind === 'blacklisted') {
      this.answer(admission.remainingMs === undefined ? this.blacklistedForever : blacklistedFor(this.address, admission.remainingMs), 'blacklisted');
    } else {
      this.answer(rateLimited(this.address, this.ctx.messagesPerMinute, admission.strike, this.ctx.blacklistSeconds), 'rate_limited');
      if (admission.strike.blacklisted) this.ctx.blacklisted(this.address, admission.strike);
    }
    return false;
  }

  private malformed(reason: string, raw: string | undefined, rawBytes: number | undefined): void {
    const strike = this.ctx.guard.strike(this.address, this.monotonicNow);
    this.answer(refused(this.address, reason, strike, this.ctx.blacklistSeconds), 'malformed');
    if (this.ctx.errorLog !== undefined) this.errorLines.push(this.ctx.errorLog.line(this.timestamp, this.address, this.port, reason, raw, rawBytes));
    if (strike.blacklisted) this.ctx.blacklisted(this.address, strike);
  }

  private answer(text: string, outcome: MessageOutcome): void {
    this.responses.push(text);
    this.tally[outcome]++;
  }

  private read(chunk: Buffer): void {
    // After stop() or an idle close, whatever still arrives is not taken (and not answered).
    if (this.stopping || this.closing) return;
    this.begin(chunk);
    this.splitter.push(chunk, this);
    this.end();
  }

  private peerEnded(): void {
    this.ended = true;
    if (!this.stopping) {
      this.begin(undefined);
      this.splitter.finish(this);
      this.end();
    }
    this.finishIfDone();
  }

  private begin(chunk: Buffer | undefined): void {
    this.chunk = chunk;
    this.chunkAscii = chunk !== undefined && isAscii(chunk);
    const now = Date.now();
    if (now !== this.now) {
      this.now = now;
      this.timestamp = new Date(now).toISOString();
      this.timestampJson = `"${this.timestamp}"`;
    }
    this.monotonicNow = performance.now();
  }

  private end(): void {
    this.chunk = undefined;
    if (this.records.length > 0) {
      const slots = this.slots;
      const count = slots.length;
      this.ctx.store.store({ records: this.records, events: this.events, sender: this.address, receivedAt: this.now }).then(
        () => this.settle(slots, LOGGED, 'logged', count),
        (error: unknown) => {
          this.ctx.storeFailed(error);
          this.settle(slots, INTERNAL_ERROR, 'internal_error', count);
        },
      );
      this.records = [];
      this.events = [];
      this.slots = [];
    }
    if (this.errorLines.length > 0) {
      this.ctx.errorLog?.write(this.errorLines, this.address);
      this.errorLines = [];
    }
    const { tally, ctx } = this;
    ctx.stats.add('blacklisted', tally.blacklisted);
    ctx.stats.add('rate_limited', tally.rate_limited);
    ctx.stats.add('malformed', tally.malformed);
    tally.blacklisted = tally.rate_limited = tally.malformed = 0;
    this.flush();
  }

  private settle(slots: readonly number[], text: string, outcome: MessageOutcome, count: number): void {
    for (const slot of slots) this.responses.set(slot, text);
    this.ctx.stats.add(outcome, count);
    this.flush();
  }

  private flush(): void {
    const ready = this.responses.takeReady();
    if (ready !== '' && !this.closed && this.socket.writable) this.socket.write(ready);
    this.adjustFlow();
    this.finishIfDone();
  }

  private adjustFlow(): void {
    if (this.stopping || this.closed) return;
    const behind = this.responses.waiting > MAX_UNANSWERED || this.socket.writableLength > MAX_UNSENT_BYTES;
    if (behind && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!behind && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Closes this side once nothing more will be read and every message read has been answered. */
  private finishIfDone(): void {
    if (this.closing || this.closed || !(this.ended || this.stopping) || this.responses.size > 0) return;
    this.closing = true;
    this.socket.end();
    // Reading on (and dropping) lets the peer's close arrive as a FIN; unread data would turn it into a reset.
    if (this.stopping) this.socket.resume();
  }

  private idle(): void {
    // Waiting for the logfile is the server's delay, not the client's silence.
    if (this.responses.waiting > 0) return;
    this.ctx.stats.idleClosed++;
    if (this.socket.writableLength > 0) {
      // Answers it never read: the client is gone or stuck; do not wait for it.
      this.socket.destroy();
      return;
    }
    this.closing = true;
    this.socket.end(() => this.socket.destroy());
  }
}

/**
 * Answers in message order. Each message takes the next position: either its answer right
 * away (refusals) or a reservation filled in when its batch is stored. Answers leave only
 * from the front, so a later message never overtakes an earlier one.
 */
class ResponseQueue {
  private items: (string | undefined)[] = [];
  private head = 0;
  /** Position of items[0] since the connection opened. */
  private base = 0;
  private reserved = 0;

  /** Messages read but not yet answered (reserved or not yet written out). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Messages whose answer waits for their batch to be stored. */
  get waiting(): number {
    return this.reserved;
  }

  push(text: string): void {
    this.items.push(text);
  }

  reserve(): number {
    this.items.push(undefined);
    this.reserved++;
    return this.base + this.items.length - 1;
  }

  set(position: number, text: string): void {
    this.items[position - this.base] = text;
    this.reserved--;
  }

  /** The answers at the front that are ready, joined, removed from the queue. */
  takeReady(): string {
    let out = '';
    const { items } = this;
    let head = this.head;
    while (head < items.length) {
      const item = items[head];
      if (item === undefined) break;
      out += item;
      head++;
    }
    this.head = head;
    if (head === items.length) {
      this.base += head;
      this.items = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > items.length) {
      this.base += head;
      this.items = items.slice(head);
      this.head = 0;
    }
    return out;
  }
}
