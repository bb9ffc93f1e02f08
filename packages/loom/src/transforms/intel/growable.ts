/** A typed array that doubles when full, so bulk loads avoid boxed JavaScript arrays. */
export class GrowableU32 {
  data: Uint32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Uint32Array(Math.max(capacity, 16));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  reserve(extra: number): void {
    if (this.length + extra > this.data.length) this.grow(this.length + extra);
  }

  /** Copies the filled part into a SharedArrayBuffer that worker threads can map without copying. */
  toShared(): SharedArrayBuffer {
    const shared = new SharedArrayBuffer(this.length * 4);
    new Uint32Array(shared).set(this.data.subarray(0, this.length));
    return shared;
  }

  private grow(needed: number): void {
    let capacity = this.data.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint32Array(capacity);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

export class GrowableU8 {
  data: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Uint8Array(Math.max(capacity, 16));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  toShared(): SharedArrayBuffer {
    const shared = new SharedArrayBuffer(this.length);
    new Uint8Array(shared).set(this.data.subarray(0, this.length));
    return shared;
  }
}
