export interface Expiring {
  /** Epoch milliseconds after which expire() is due. */
  readonly expiresAt: number;
  expire(): void;
}

/**
 * One interval for many deadlines, instead of a timer armed and cleared per connection and per
 * read. A deadline is acted on at most `granularityMs` after it passes, never before; the
 * limits watched this way are configured in whole seconds, so the delay stays well inside them.
 */
export class Deadlines<T extends Expiring> {
  private readonly watched = new Set<T>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly granularityMs: number) {}

  watch(item: T): void {
    this.watched.add(item);
    // Unref'd: the sockets behind the watched items keep the process alive while they are open.
    this.timer ??= setInterval(() => this.sweep(), this.granularityMs).unref();
  }

  unwatch(item: T): void {
    this.watched.delete(item);
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const now = Date.now();
    // A Set visits each entry once per pass, entries added during the pass included; an
    // expire() that re-arms its item for later is not called again in the same pass.
    for (const item of this.watched) if (item.expiresAt <= now) item.expire();
  }
}
