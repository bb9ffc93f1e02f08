import http from 'node:http';
import https from 'node:https';

export interface TransportOptions {
  url: string;
  sensorId: string;
  token: string;
  gzip: boolean;
  insecureSkipVerify: boolean;
  requestTimeoutMs: number;
}

export type PostOutcome =
  | { kind: 'response'; status: number; retryAfter: string | undefined; errorCode: string | undefined; message: string | undefined }
  | { kind: 'failure'; error: string; aborted: boolean };

/** Enough of an error body for its `error` code and message; the rest is not read into memory. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One POST at a time over a keep-alive connection. insecureSkipVerify changes certificate
 * verification and nothing else: the agent, its timeouts and its keep-alive stay the same.
 */
export class Transport {
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: TransportOptions) {
    this.target = new URL(options.url);
    const agentOptions = { keepAlive: true, maxSockets: 1, keepAliveMsecs: 1000 };
    this.agent = this.target.protocol === 'https:'
      ? new https.Agent({ ...agentOptions, rejectUnauthorized: !options.insecureSkipVerify })
      : new http.Agent(agentOptions);
    this.headers = {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${options.token}`,
      'X-Spip-ID': options.sensorId,
      'User-Agent': 'spip',
      ...(options.gzip ? { 'Content-Encoding': 'gzip' } : {}),
    };
  }

  post(body: Buffer, signal: AbortSignal): Promise<PostOutcome> {
    return this.attempt(body, signal, true);
  }

  destroy(): void {
    this.agent.destroy();
  }

  private attempt(body: Buffer, signal: AbortSignal, mayRetryStale: boolean): Promise<PostOutcome> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve({ kind: 'failure', error: 'aborted', aborted: true });
        return;
      }
      let settled = false;
      const finish = (outcome: PostOutcome | Promise<PostOutcome>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const lib = this.target.protocol === 'https:' ? https : http;
      const req = lib.request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: { ...this.headers, 'Content-Length': String(body.length) },
      });
      const onAbort = (): void => {
        req.destroy();
        finish({ kind: 'failure', error: 'aborted', aborted: true });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        req.destroy();
        finish({ kind: 'failure', error: `no response within ${this.options.requestTimeoutMs} ms`, aborted: false });
      }, this.options.requestTimeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', (error) => finish({ kind: 'failure', error: `reading the response: ${error.message}`, aborted: false }));
        res.on('end', () => {
          const { errorCode, message } = parseErrorBody(Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'));
          const retryAfter = res.headers['retry-after'];
          finish({ kind: 'response', status: res.statusCode ?? 0, retryAfter, errorCode, message });
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while idle fails on first use; that is
        // not an outage, so the request goes out once more on a fresh connection.
        if (mayRetryStale && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE') && !settled) {
          finish(this.attempt(body, signal, false));
          return;
        }
        finish({ kind: 'failure', error: error.message || String(error.code), aborted: false });
      });
      req.end(body);
    });
  }
}

function parseErrorBody(text: string): { errorCode: string | undefined; message: string | undefined } {
  if (!text.startsWith('{')) return { errorCode: undefined, message: text === '' ? undefined : text.slice(0, 200) };
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    return {
      errorCode: typeof parsed.error === 'string' ? parsed.error : undefined,
      message: typeof parsed.message === 'string' ? parsed.message.slice(0, 500) : undefined,
    };
  } catch {
    return { errorCode: undefined, message: text.slice(0, 200) };
  }
}
