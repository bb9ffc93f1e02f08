import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseYesNo, type Parsed } from './answers.js';

/** End of input (or Ctrl+C) at a prompt: setup stops and writes nothing. */
export class SetupAborted extends Error {
  override name = 'SetupAborted';
}

/**
 * Line-based questions over any pair of streams. Lines are queued as they arrive because a pipe
 * can deliver every answer at once, before the question that consumes it has been asked.
 */
export class Prompter {
  private readonly queue: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private closed = false;
  private muted = false;
  private readonly terminal: boolean;
  private readonly rl: Interface;

  constructor(
    input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly output: NodeJS.WritableStream,
  ) {
    this.terminal = input.isTTY === true;
    // readline echoes typed characters through its output; muting that stream hides a secret as it
    // is typed. Passing writes straight on keeps them in order with say(), which bypasses readline.
    const echo = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (!this.muted) output.write(chunk);
        callback();
      },
    });
    // historySize 0: a token typed once must not come back with the up arrow at a later prompt.
    this.rl = createInterface({ input, output: echo, terminal: this.terminal, historySize: 0, crlfDelay: Infinity });
    this.rl.on('line', (line) => this.deliver(line));
    this.rl.on('close', () => {
      this.closed = true;
      this.deliver(undefined);
    });
    this.rl.on('SIGINT', () => this.rl.close());
  }

  say(text = ''): void {
    this.output.write(`${text}\n`);
  }

  /** Asks until `parse` accepts the answer; an empty answer stands for `fallback` when there is one. */
  async ask<T>(question: string, fallback: string | undefined, parse: (text: string) => Parsed<T>): Promise<T> {
    const prompt = fallback === undefined || fallback === '' ? `${question}: ` : `${question} [${fallback}]: `;
    for (;;) {
      const line = await this.read(prompt, false);
      const parsed = parse(line.trim() === '' && fallback !== undefined ? fallback : line);
      if (parsed.ok) return parsed.value;
      this.say(`  ${parsed.error}`);
    }
  }

  /** Yes/no with the default shown in capitals, as the shell convention goes. */
  async confirm(question: string, fallback: boolean): Promise<boolean> {
    const prompt = `${question} [${fallback ? 'Y/n' : 'y/N'}]`;
    return this.ask(prompt, undefined, (text) => (text.trim() === '' ? { ok: true, value: fallback } : parseYesNo(text)));
  }

  /** Like ask, but nothing typed is shown when the input is a terminal. */
  async secret<T>(question: string, parse: (text: string) => Parsed<T>): Promise<T> {
    for (;;) {
      const line = await this.read(`${question}: `, true);
      const parsed = parse(line);
      if (parsed.ok) return parsed.value;
      this.say(`  ${parsed.error}`);
    }
  }

  close(): void {
    this.rl.close();
  }

  private async read(prompt: string, hidden: boolean): Promise<string> {
    if (this.closed) this.output.write(prompt);
    else {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    this.muted = hidden && this.terminal;
    let line: string | undefined;
    try {
      line = this.queue.shift() ?? (this.closed ? undefined : await new Promise<string | undefined>((resolve) => (this.waiting = resolve)));
    } finally {
      this.muted = false;
    }
    // A terminal echoes the Enter key itself (muted for secrets) but not Ctrl+C or Ctrl+D; a pipe
    // echoes nothing, and without a newline the next line would continue the prompt.
    if (!this.terminal || hidden || line === undefined) this.output.write('\n');
    if (line === undefined) throw new SetupAborted('input ended');
    return line;
  }

  private deliver(line: string | undefined): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined) waiting(line);
    else if (line !== undefined) this.queue.push(line);
  }
}
