/** A datagram as received: its bytes, and who sent it. */
export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
  receivedMs: number;
}

/**
 * Datagrams between the socket and the decoder, bounded in octets. Receiving only appends
 * here, so the socket is read at full speed however slow decoding or the outputs are; when
 * the bound is reached, new datagrams are refused (the caller counts them as queue_full).
 */
export class DatagramQueue {
  private items: (Datagram | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(readonly maxBytes: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  push(datagram: Datagram): boolean {
    if (this.queuedBytes + datagram.data.length > this.maxBytes) return false;
    this.items.push(datagram);
    this.queuedBytes += datagram.data.length;
    return true;
  }

  shift(): Datagram | undefined {
    if (this.head === this.items.length) return undefined;
    const datagram = this.items[this.head];
    this.items[this.head++] = undefined;
    if (datagram !== undefined) this.queuedBytes -= datagram.data.length;
    // Drop the consumed prefix once it is most of the array, so memory follows the queue's length.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return datagram;
  }
}
