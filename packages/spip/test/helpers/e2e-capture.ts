import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { runClient } from './e2e-clients.js';

const FIN = 0x01;
const RST = 0x04;

/**
 * A tshark capture on the loopback interface, written to a pcapng file. Capturing needs root
 * or the capture capabilities; `start` reports why it could not capture instead of throwing,
 * so the caller can skip with that reason.
 */
export class LoopbackCapture {
  private stderr = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, readonly file: string) {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => child.on('close', (code) => {
      this.exitCode = code;
      resolve();
    }));
  }

  static async start(filter: string, file: string): Promise<LoopbackCapture | string> {
    const child = spawn('tshark', ['-i', 'lo', '-f', filter, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const capture = new LoopbackCapture(child, file);
    const deadline = Date.now() + 15_000;
    // tshark says "Capturing on" once dumpcap has opened the interface with the filter applied;
    // the file holds its pcapng header a moment later.
    while (!(capture.stderr.includes('Capturing on') && (await fileSize(file)) > 0)) {
      if (capture.exitCode !== undefined || Date.now() > deadline) {
        await capture.stop();
        return `tshark could not capture on lo (needs root or CAP_NET_RAW): ${capture.stderr.trim().slice(-500) || `exit code ${capture.exitCode}`}`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    return capture;
  }

  /**
   * Waits until every connection from `sourcePorts` has its client's FIN or RST in the file.
   * dumpcap hands packets over in blocks, and a block still open when tshark is stopped is
   * lost, so stopping right after the last client would drop its packets.
   */
  async waitForEnds(sourcePorts: number[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A file still being written may end mid-packet; tshark then complains but prints what it read.
      const res = await runClient('tshark', ['-r', this.file, '-n', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.flags'], { timeoutMs: 30_000 });
      const ended = new Set<number>();
      for (const line of res.stdout.split('\n')) {
        const [port = '', flags = ''] = line.split('\t');
        if ((Number.parseInt(flags, 16) & (FIN | RST)) !== 0) ended.add(Number(port));
      }
      const waiting = sourcePorts.filter((p) => !ended.has(p));
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the capture has no end of the connections from source ports ${waiting.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops capturing; SIGINT makes tshark flush the packets still buffered by dumpcap. */
  async stop(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Rows of `fields` for every frame matching `displayFilter`, read back from a capture file. */
export async function readFields(file: string, fields: string[], options: { displayFilter?: string; extraArgs?: string[] } = {}): Promise<string[][]> {
  const args = ['-r', file, '-n', ...(options.extraArgs ?? []), '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f'];
  if (options.displayFilter !== undefined) args.push('-Y', options.displayFilter);
  for (const field of fields) args.push('-e', field);
  const result = await runClient('tshark', args, { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`tshark -r failed (${result.code}): ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}
