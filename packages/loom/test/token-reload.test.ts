import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseToml, spipEvent, startLoom, tempDir, type LogLine, type LoomProcess } from './helpers/loom-process.js';
import { request, SlowPost } from './helpers/http.js';

// Distinctive values, so that finding one in the logs cannot be a coincidence.
const tokens = {
  a: 'tokA-9c41e7d2b05f',
  b: 'tokB-3e87a1f60c92',
  c: 'tokC-5d20b9e4a71c',
  x: 'tokX-81f3c6a09d24',
  y: 'tokY-27be05d9c3a8',
  d: 'tokD-f0a96c31e5b7',
  e: 'tokE-6b1d84f27a03',
  env: 'tokEnv-a4c7e2091fd6',
};

describe('token reload', () => {
  let loom: LoomProcess;
  let tokenFile: string;

  const status = async (token: string): Promise<number> =>
    (await request(loom.url(), '[{"reload":"probe"}]', { headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } })).status;

  /** Replaces the file the way editors and secret managers do: write elsewhere, rename over. */
  const replaceAtomically = async (text: string): Promise<void> => {
    const tmp = `${tokenFile}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, tokenFile);
  };

  /** The next reload log line (success or failure) after `from`, with the given trigger. */
  const nextReload = async (from: number, trigger: string): Promise<LogLine> => {
    const find = (): LogLine | undefined => loom.logsSince(from).find((l) => l.trigger === trigger && /^token(s reloaded| reload failed)/.test(l.msg));
    await loom.until(() => find() !== undefined, `a reload log line (trigger ${trigger})`);
    return find() as LogLine;
  };

  const sighup = async (): Promise<LogLine> => {
    const from = loom.logs.length;
    loom.child.kill('SIGHUP');
    return nextReload(from, 'SIGHUP');
  };

  /** Polls until `token` gets `expected`; the file watcher has no fixed latency to wait for. */
  const eventually = async (token: string, expected: number, what: string): Promise<void> => {
    const deadline = Date.now() + 6000;
    let last = 0;
    while (Date.now() < deadline) {
      last = await status(token);
      if (last === expected) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`${what}: still ${last}, expected ${expected}`);
  };

  let dir: string;
  before(async () => {
    dir = await tempDir('loom-tokens-');
    tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${tokens.a},sensor-a\n`, { mode: 0o600 });
    loom = await startLoom({
      toml: baseToml({ auth: `token_file = ${JSON.stringify(tokenFile)}` }),
      env: { LOOM_SENSOR_env_sensor: tokens.env },
    });
  });
  after(async () => {
    await loom.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('a 0600 token file and a LOOM_SENSOR_* variable both work at startup', async () => {
    assert.ok(loom.hasLog('loom started'), loom.stderrText);
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.ok(!loom.logs.some((l) => /readable by group or others/.test(l.msg)));
    assert.equal(await status(tokens.a), 204);
    assert.equal(await status(tokens.env), 204);
  });

  test('an atomic replacement of the file is picked up without a signal', async () => {
    const from = loom.logs.length;
    await replaceAtomically(`${tokens.b},sensor-b\n`);
    await eventually(tokens.b, 204, 'the new token');
    assert.equal(await status(tokens.a), 401, 'the removed token');
    const reload = await nextReload(from, 'token file changed');
    assert.equal(reload.msg, 'tokens reloaded');
    assert.equal(await status(tokens.env), 204, 'the LOOM_SENSOR_* token survives');
  });

  test('SIGHUP reloads an in-place edit: the new token works as soon as the reload is logged', async () => {
    await writeFile(tokenFile, `# rotated\n${tokens.c},sensor-c\n`);
    const reload = await sighup();
    assert.equal(reload.msg, 'tokens reloaded');
    assert.equal(reload.sensors, 2);
    assert.equal(await status(tokens.c), 204);
    assert.equal(await status(tokens.b), 401);
    assert.equal(await status(tokens.env), 204);
  });

  test('a file giving one sensor two tokens is rejected and the previous tokens stay', async () => {
    const from = loom.logs.length;
    await replaceAtomically(`${tokens.x},sensor-x\n${tokens.y},sensor-x\n`);
    const failed = await nextReload(from, 'token file changed');
    assert.equal(failed.msg, 'token reload failed; keeping the previous tokens');
    assert.equal(failed.level, 'error');
    assert.match(String(failed.error), /sensor "sensor-x" has multiple tokens/);
    assert.ok(!JSON.stringify(failed).includes(tokens.x) && !JSON.stringify(failed).includes(tokens.y), 'the error names no token');
    assert.equal(await status(tokens.c), 204);
    assert.equal(await status(tokens.x), 401);
    assert.equal(await status(tokens.y), 401);
    assert.equal(await status(tokens.env), 204);
    const viaSignal = await sighup();
    assert.equal(viaSignal.msg, 'token reload failed; keeping the previous tokens');
    assert.equal(await status(tokens.c), 204);
  });

  test('a deleted file is a failed reload that keeps the previous tokens', async () => {
    await unlink(tokenFile);
    const failed = await sighup();
    assert.equal(failed.msg, 'token reload failed; keeping the previous tokens');
    assert.match(String(failed.error), /no such file or directory/);
    assert.equal(await status(tokens.c), 204);
    assert.equal(await status(tokens.env), 204);
  });

  test('a recreated file is picked up again', async () => {
    await writeFile(tokenFile, `${tokens.d},sensor-d\n`, { mode: 0o600 });
    const reload = await sighup();
    assert.equal(reload.msg, 'tokens reloaded');
    assert.equal(await status(tokens.d), 204);
    assert.equal(await status(tokens.c), 401);
  });

  test('a request authenticated before a reload that revokes its token still completes', async () => {
    const event = spipEvent(7001);
    const slow = new SlowPost(loom.ingestPort, Buffer.from(JSON.stringify([event])), { Authorization: `Bearer ${tokens.d}`, 'Content-Type': 'application/json', 'X-Spip-ID': 'sensor-d' });
    await slow.accepted;
    await replaceAtomically(`${tokens.e},sensor-e\n`);
    const reload = await sighup();
    assert.equal(reload.msg, 'tokens reloaded');
    assert.equal(await status(tokens.d), 401, 'the token is revoked for new requests');
    const before = loom.stdoutLines.length;
    slow.finish();
    const res = await slow.response;
    assert.equal(res.status, 204, res.text);
    await loom.until(() => loom.stdoutLines.length > before, 'the in-flight event on stdout');
    assert.ok(loom.stdoutLines.slice(before).includes(JSON.stringify(event)));
    assert.equal(await status(tokens.e), 204);
    assert.equal(await status(tokens.env), 204);
  });

  test('no token ever appears in the logs, and the process is still up', async () => {
    for (const [name, value] of Object.entries(tokens)) assert.ok(!loom.stderrText.includes(value), `token ${name} was logged`);
    assert.equal(loom.exitCode, undefined);
    assert.equal(await loom.stop(), 0);
  });
});
