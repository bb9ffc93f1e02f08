/**
 * Requests, answers and notes between Loom's primary process and its ingest processes, over
 * the IPC channel Node's cluster module opens (advanced serialization, so batches travel as
 * bytes and token maps as Maps). Either side may ask; each request gets exactly one answer,
 * or is rejected when the other side goes away.
 */
export interface Endpoint {
  /** Queues the message; the callback gets an error if it can never be sent. */
  send(message: unknown, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

type Wire =
  | { kind: 'request'; id: number; type: string; body: unknown }
  | { kind: 'answer'; id: number; ok: true; body: unknown }
  | { kind: 'answer'; id: number; ok: false; error: RemoteFailure }
  | { kind: 'note'; type: string; body: unknown };

/** What crosses the channel when a request fails: enough to rebuild the error the caller expects. */
export interface RemoteFailure {
  message: string;
  /** ApiError code, when the failure was one. */
  code?: string;
  retryAfterSeconds?: number;
}

export class ChannelClosedError extends Error {
  override name = 'ChannelClosedError';
}

type Handler = (body: never) => unknown;

export class Channel {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (body: unknown) => void; reject: (error: unknown) => void }>();
  private readonly requestHandlers = new Map<string, Handler>();
  private readonly noteHandlers = new Map<string, Handler>();
  private closed = false;

  constructor(
    private readonly endpoint: Endpoint,
    /** Turns a failure that crossed the channel back into an Error of the caller's kind. */
    private readonly revive: (failure: RemoteFailure) => Error = (failure) => new Error(failure.message),
    /** Turns a handler's error into what crosses the channel. */
    private readonly describe: (error: unknown) => RemoteFailure = (error) => ({ message: error instanceof Error ? error.message : String(error) }),
  ) {
    endpoint.on('message', (message) => this.receive(message));
    endpoint.on('disconnect', () => this.close());
  }

  /** Answers requests of `type` with what `handler` resolves to (or its error). */
  handle<B, R>(type: string, handler: (body: B) => R | Promise<R>): void {
    this.requestHandlers.set(type, handler as Handler);
  }

  /** Runs `handler` for each one-way note of `type`. */
  onNote<B>(type: string, handler: (body: B) => void): void {
    this.noteHandlers.set(type, handler as Handler);
  }

  request<R>(type: string, body: unknown): Promise<R> {
    if (this.closed) return Promise.reject(new ChannelClosedError('the other Loom process is gone'));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (body: unknown) => void, reject });
      this.post({ kind: 'request', id, type, body }, () => {
        if (!this.waiting.delete(id)) return;
        reject(new ChannelClosedError('the other Loom process is gone'));
      });
    });
  }

  note(type: string, body: unknown = undefined): boolean {
    return !this.closed && this.post({ kind: 'note', type, body });
  }

  /** Rejects everything still waiting; later requests reject at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { reject } of this.waiting.values()) reject(new ChannelClosedError('the other Loom process went away before answering'));
    this.waiting.clear();
  }

  /**
   * Queues a message. send's false return only means a backlog (the message still goes out),
   * so failure is judged by the callback, or by send throwing on a closed channel.
   */
  private post(message: Wire, failed: () => void = () => undefined): boolean {
    try {
      this.endpoint.send(message, (error) => {
        if (error !== null && error !== undefined) failed();
      });
      return true;
    } catch {
      failed();
      return false;
    }
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null || !('kind' in raw)) return;
    const message = raw as Wire;
    switch (message.kind) {
      case 'answer': {
        const waiter = this.waiting.get(message.id);
        if (waiter === undefined) return;
        this.waiting.delete(message.id);
        if (message.ok) waiter.resolve(message.body);
        else waiter.reject(this.revive(message.error));
        return;
      }
      case 'request':
        void this.answer(message.id, message.type, message.body);
        return;
      case 'note':
        (this.noteHandlers.get(message.type) as ((body: unknown) => void) | undefined)?.(message.body);
        return;
    }
  }

  private async answer(id: number, type: string, body: unknown): Promise<void> {
    const handler = this.requestHandlers.get(type) as ((body: unknown) => unknown) | undefined;
    try {
      if (handler === undefined) throw new Error(`no handler for "${type}"`);
      this.post({ kind: 'answer', id, ok: true, body: await handler(body) });
    } catch (error) {
      this.post({ kind: 'answer', id, ok: false, error: this.describe(error) });
    }
  }
}
