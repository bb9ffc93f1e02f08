import type { IncomingMessage } from 'node:http';

export type BodyResult =
  | { kind: 'ok'; body: Uint8Array }
  | { kind: 'too_large'; received: number }
  | { kind: 'aborted' };

/**
 * Reads a request body up to `limit` bytes. The result owns its ArrayBuffer (never a slice
 * of Node's shared pool), so it can be transferred to a worker thread without copying.
 * Past the limit it stops collecting at once, so an oversized body costs no memory.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (result: BodyResult): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        chunks.length = 0;
        finish({ kind: 'too_large', received });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      const body = new Uint8Array(new ArrayBuffer(received));
      let offset = 0;
      for (const chunk of chunks) {
        body.set(chunk, offset);
        offset += chunk.length;
      }
      finish({ kind: 'ok', body });
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) finish({ kind: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

/**
 * After an early error response, reads and discards what the client is still sending (up to a
 * bound) so that it sees the response instead of a connection reset, then closes.
 */
export function discardBody(req: IncomingMessage, maxBytes = 16 * 1024 * 1024): void {
  if (req.complete) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}
