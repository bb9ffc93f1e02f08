/**
 * Lets a message through at most once per interval per key and counts what it held back,
 * so that an outage of hours produces a line a minute rather than one per attempt.
 */
export class Throttle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** undefined: stay quiet; otherwise how many were held back since the last one let through. */
  pass(key: string, now = Date.now()): number | undefined {
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
