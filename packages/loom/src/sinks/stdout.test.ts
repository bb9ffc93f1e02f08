import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { StdoutSink } from './stdout.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-stdout-sink-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sinkUrl = new URL('./stdout.js', import.meta.url).href;
const pinoUrl = import.meta.resolve('pino');

/** A child script with `sink` (a started StdoutSink) and `batch(lines)` in scope. */
function childScript(body: string): string {
  return `
    const { StdoutSink } = await import(${JSON.stringify(sinkUrl)});
    const { pino } = await import(${JSON.stringify(pinoUrl)});
    const sink = new StdoutSink(pino({ level: 'silent' }));
    let n = 0;
    const batch = (lines) => ({ id: 'b' + n++, source: 't', sensorId: 's', receivedAt: 0, count: lines.length,
      ndjson: Buffer.from(lines.map((line) => line + '\\n').join('')) });
    await sink.start();
    ${body}
  `;
}

function run(
  script: string,
  stdout: 'pipe' | number,
  onSpawn?: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', stdout, 'pipe'] });
  onSpawn?.(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
  });
}

test('StdoutSink has the stdout name and type', () => {
  const sink = new StdoutSink(pino({ level: 'silent' }));
  assert.equal(sink.name, 'stdout');
  assert.equal(sink.type, 'stdout');
  assert.deepEqual(sink.health(), { ok: true });
});

test('a child process writes three batches to fd 1, in order and intact', async () => {
  const big = `{"big":"${'z'.repeat(1024 * 1024)}"}`;
  const result = await run(
    childScript(`
      await Promise.all([
        sink.write(batch(['{"n":1}', '{"n":2}'])),
        sink.write(batch(['{"big":"' + 'z'.repeat(1024 * 1024) + '"}'])),
        sink.write(batch(['{"n":3}'])),
      ]);
      await sink.close();
    `),
    'pipe',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.split('\n'), ['{"n":1}', '{"n":2}', big, '{"n":3}', '']);
});

test('stdout redirected to a file receives the batches', async () => {
  const file = path.join(dir, 'redirected.ndjson');
  const fd = fs.openSync(file, 'w');
  const result = await run(
    childScript(`
      for (let i = 0; i < 3; i++) await sink.write(batch([JSON.stringify({ i })]));
      await sink.close();
    `),
    fd,
  );
  fs.closeSync(fd);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(fs.readFileSync(file, 'utf8'), '{"i":0}\n{"i":1}\n{"i":2}\n');
});

test('the reader going away (EPIPE) makes writes fail and health not ok', async () => {
  const result = await run(
    childScript(`
      let outcome = 'never failed';
      for (let i = 0; i < 1000; i++) {
        try { await sink.write(batch(['{"x":' + i + '}'])); }
        catch (err) { outcome = { name: err.name, retryAfterSeconds: err.retryAfterSeconds, health: sink.health() }; break; }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      console.error(JSON.stringify(outcome));
    `),
    'pipe',
    (child) => child.stdout?.destroy(),
  );
  assert.equal(result.code, 0, result.stderr);
  const outcome = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as {
    name: string;
    retryAfterSeconds: number;
    health: { ok: boolean; reason?: string };
  };
  assert.equal(outcome.name, 'SinkUnavailableError');
  assert.ok(outcome.retryAfterSeconds > 0);
  assert.equal(outcome.health.ok, false);
  assert.match(outcome.health.reason ?? '', /EPIPE/);
});
