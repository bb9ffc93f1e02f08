import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeElasticsearch } from './fakes/elasticsearch.js';
import { baseToml, runLoom, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';

// The ingest API needs a sensor even when only files are read.
const env = { LOOM_SENSOR_spip_01: 'zeek-tail-test-token-0123456789' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A conn.log line as Zeek's JSON writer writes it, told apart by its uid C<i>. */
function zeekLine(i: number): string {
  return `${JSON.stringify({ ts: 1723351200 + i + 0.123456, uid: `C${i}`, 'id.orig_h': '10.1.2.3', 'id.orig_p': 40000 + i, 'id.resp_h': '93.184.216.34', 'id.resp_p': 443, proto: 'tcp', service: 'ssl', duration: 0.5, orig_bytes: 517, resp_bytes: 4096, conn_state: 'SF', local_orig: true, local_resp: false, missed_bytes: 0, history: 'ShADadFf', orig_pkts: 8, orig_ip_bytes: 937, resp_pkts: 7, resp_ip_bytes: 4468 })}\n`;
}
const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, k) => zeekLine(from + k)).join('');
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => `C${from + k}`);

interface Tap {
  dir: string;
  log: string;
  positions: string;
}

async function tap(): Promise<Tap> {
  const dir = await tempDir('loom-zeek-');
  return { dir, log: join(dir, 'conn.log'), positions: join(dir, 'positions.json') };
}

function tailToml(t: Tap, output?: string, pattern = t.log): string {
  return baseToml({
    limits: 'per_sensor_rps = -1\nmax_events_per_batch = 4',
    ...(output === undefined ? {} : { output }),
    extra: `
[inputs.zeek]
enabled = true
conn = ["${pattern}"]
position_file = "${t.positions}"
poll_interval_ms = 50
sensor = "zeek-tap-1"
`,
  });
}

/** Session ids of the events written since line `from` of stdout. */
function uids(loom: LoomProcess, from = 0): string[] {
  return loom.stdoutLines.slice(from).filter((line) => line !== '').map((line) => (JSON.parse(line) as Json).zeek.session_id as string);
}

async function waitForUids(loom: LoomProcess, count: number, from = 0): Promise<string[]> {
  await loom.until(() => uids(loom, from).length >= count, `${count} events`);
  // Long enough for a duplicate or a read-ahead to show up if there were one.
  await new Promise((r) => setTimeout(r, 200));
  return uids(loom, from);
}

async function savedOffsets(t: Tap): Promise<Record<string, number>> {
  const file = JSON.parse(await readFile(t.positions, 'utf8')) as { files: { path: string; offset: number }[] };
  return Object.fromEntries(file.files.map((f) => [f.path, f.offset]));
}

describe('Zeek logs tailed from files', () => {
  test('appends are picked up; a partial last line waits for its newline', async () => {
    const t = await tap();
    const partial = zeekLine(4);
    writeFileSync(t.log, lines(1, 3) + partial.slice(0, 40));
    const loom = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(loom, 3), range(1, 3));
      appendFileSync(t.log, partial.slice(40) + lines(5, 5));
      assert.deepEqual(await waitForUids(loom, 5), range(1, 5));
      const second = JSON.parse(loom.stdoutLines[1] as string) as Json;
      assert.deepEqual(second.log, { file: { path: t.log }, offset: zeekLine(1).length });
      assert.deepEqual(second.observer, { name: 'zeek-tap-1', product: 'zeek' });
      assert.equal(second.event.dataset, 'zeek.conn');
      assert.equal(await loom.stop(), 0);
      assert.deepEqual(await savedOffsets(t), { [t.log]: (await stat(t.log)).size });
    } finally {
      await loom.cleanup();
    }
  });

  test('a restart resumes at the saved position: no duplicates, no gaps', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 6));
    const first = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(first, 6), range(1, 6));
      assert.equal(await first.stop(), 0);
    } finally {
      await first.cleanup();
    }
    appendFileSync(t.log, lines(7, 9));
    const second = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(second, 3), range(7, 9));
      appendFileSync(t.log, lines(10, 10));
      assert.deepEqual(await waitForUids(second, 4), range(7, 10));
      assert.equal(await second.stop(), 0);
    } finally {
      await second.cleanup();
    }
  });

  test('rotation by rename: the old file is read to its end, then the new one from its start, also across a restart', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 2));
    const loom = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(loom, 2), range(1, 2));
      // What Zeek does at rotation: last lines to the old file, rename, a new file at the path.
      appendFileSync(t.log, lines(3, 5));
      renameSync(t.log, join(t.dir, 'conn.2024-08-11-04-40-00.log'));
      writeFileSync(t.log, lines(6, 7));
      assert.deepEqual(await waitForUids(loom, 7), range(1, 7));
      assert.ok(loom.hasLog('finished a rotated Zeek log'));
      assert.equal(await loom.stop(), 0);
    } finally {
      await loom.cleanup();
    }
    // Rotated while Loom is stopped: the old file is found beside the path by its inode.
    appendFileSync(t.log, lines(8, 9));
    renameSync(t.log, join(t.dir, 'conn.2024-08-11-05-40-00.log'));
    writeFileSync(t.log, lines(10, 10));
    const again = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(again, 3), range(8, 10));
      assert.equal(await again.stop(), 0);
      assert.deepEqual(await savedOffsets(t), { [t.log]: zeekLine(10).length });
    } finally {
      await again.cleanup();
    }
  });

  test('killed without a chance to save: lines since the last saved position come again, none is missing', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 8));
    const first = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(first, 8), range(1, 8));
      first.child.kill('SIGKILL');
      await first.waitForExit();
    } finally {
      await first.cleanup();
    }
    appendFileSync(t.log, lines(9, 10));
    const second = await startLoom({ env, toml: tailToml(t) });
    try {
      const seen = await waitForUids(second, 2);
      // At least once: whatever was delivered after the last position write is repeated.
      assert.deepEqual(seen.slice(-2), range(9, 10));
      assert.ok(seen.every((uid, i) => i === 0 || Number(uid.slice(1)) === Number(seen[i - 1]?.slice(1)) + 1), seen.join());
      assert.equal(await second.stop(), 0);
    } finally {
      await second.cleanup();
    }
  });

  test('start_at = "end" skips what the files held at the very first start, and only then', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 3) + zeekLine(4).slice(0, 30));
    const toml = tailToml(t).replace('sensor = "zeek-tap-1"', 'sensor = "zeek-tap-1"\nstart_at = "end"');
    const loom = await startLoom({ env, toml });
    try {
      appendFileSync(t.log, zeekLine(4).slice(30) + lines(5, 5));
      assert.deepEqual(await waitForUids(loom, 2), range(4, 5));
      assert.equal(await loom.stop(), 0);
    } finally {
      await loom.cleanup();
    }
    appendFileSync(t.log, lines(6, 6));
    const again = await startLoom({ env, toml });
    try {
      assert.deepEqual(await waitForUids(again, 1), range(6, 6));
      assert.equal(await again.stop(), 0);
    } finally {
      await again.cleanup();
    }
  });

  test('startup errors name the key', async () => {
    const t = await tap();
    writeFileSync(t.positions, 'not json');
    const corrupt = await runLoom({ env, toml: tailToml(t) });
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /inputs\.zeek\.position_file: .* is not a position file written by Loom/);
    const unwritable = await runLoom({ env, toml: tailToml({ ...t, positions: join(t.dir, 'missing-dir', 'positions.json') }) });
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /inputs\.zeek\.position_file: cannot write/);
    const nothing = await runLoom({ env, toml: baseToml({ extra: '[inputs.zeek]\nenabled = true' }) });
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /inputs\.zeek: enabled, but no log files are configured/);
    assert.match(nothing.stderr, /inputs\.zeek\.position_file: required when inputs\.zeek\.enabled is true/);
  });

  test('a glob follows rotated files it also matches without reading them twice', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 2));
    const loom = await startLoom({ env, toml: tailToml(t, undefined, join(t.dir, 'conn*.log')) });
    try {
      assert.deepEqual(await waitForUids(loom, 2), range(1, 2));
      appendFileSync(t.log, lines(3, 3));
      renameSync(t.log, join(t.dir, 'conn.1.log'));
      writeFileSync(t.log, lines(4, 4));
      const seen = await waitForUids(loom, 4);
      assert.deepEqual([...seen].sort(), range(1, 4));
      assert.equal(await loom.stop(), 0);
    } finally {
      await loom.cleanup();
    }
  });

  test('truncation: the file is read again from its start, while running and across a restart', async () => {
    const t = await tap();
    writeFileSync(t.log, lines(1, 3));
    const loom = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(loom, 3), range(1, 3));
      truncateSync(t.log, 0);
      appendFileSync(t.log, lines(11, 12));
      assert.deepEqual(await waitForUids(loom, 5), [...range(1, 3), ...range(11, 12)]);
      assert.ok(loom.hasLog('Zeek log was truncated; reading it again from the start'));
      assert.equal(await loom.stop(), 0);
    } finally {
      await loom.cleanup();
    }
    // Rewritten while stopped, longer than the saved offset: the saved head no longer matches.
    writeFileSync(t.log, lines(21, 26));
    const again = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(again, 6), range(21, 26));
      assert.equal(await again.stop(), 0);
    } finally {
      await again.cleanup();
    }
  });

  test('bad lines are skipped, counted and logged; the lines around them arrive', async () => {
    const t = await tap();
    writeFileSync(t.log, `${lines(1, 1)}#fields\tts\tuid\n{"uid":"no-ts"}\n${lines(2, 2)}`);
    const loom = await startLoom({ env, toml: tailToml(t) });
    try {
      assert.deepEqual(await waitForUids(loom, 2), range(1, 2));
      const text = (await (await fetch(loom.managementUrl('/metrics'))).text()).split('\n').filter((line) => line.startsWith('loom_input')).join('\n');
      assert.match(text, /loom_input_events_total\{input="zeek"\} 2$/m);
      assert.match(text, /loom_input_rejected_total\{input="zeek",reason="invalid_json"\} 1$/m);
      assert.match(text, /loom_input_rejected_total\{input="zeek",reason="invalid_record"\} 1$/m);
      assert.ok(loom.logs.some((l) => l.msg === 'skipped a Zeek log line' && /TSV/.test(String(l.problem))));
      assert.equal(await loom.stop(), 0);
    } finally {
      await loom.cleanup();
    }
  });

  describe('slow outputs', () => {
    let elasticsearch: FakeElasticsearch;
    before(async () => {
      elasticsearch = await FakeElasticsearch.start();
    });
    after(async () => {
      await elasticsearch.close();
    });

    test('nothing is read ahead of the batch in flight, and positions move only once it is delivered', async () => {
      const t = await tap();
      writeFileSync(t.log, '');
      const output = `type = "elasticsearch"\nelasticsearch_url = "${elasticsearch.url}"\nelasticsearch_index = "zeek"\nbatch_max_wait_ms = 0\nrequest_timeout_ms = 300\nsync_timeout_ms = 300\n[output.outbox]\nenabled = false`;
      const loom = await startLoom({ env, toml: tailToml(t, output) });
      try {
        elasticsearch.hang = true;
        appendFileSync(t.log, lines(1, 40));
        await loom.until(() => loom.hasLog('output did not accept batch'), 'the first batch to time out', 5000);
        // The output asks for 5 s before a retry; meanwhile nothing else is read or sent.
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(elasticsearch.bulkRequests.length, 1);
        for (const request of elasticsearch.bulkRequests) {
          const sessions = (request.text ?? '').split('\n').filter((line) => line.includes('"session_id"')).map((line) => (JSON.parse(line) as Json).zeek.session_id as string);
          assert.deepEqual(sessions, range(1, 4));
        }
        assert.deepEqual(await savedOffsets(t), { [t.log]: 0 });
        assert.equal(uids(loom).length, 0);
        elasticsearch.hang = false;
        await loom.until(() => new Set(elasticsearch.documents('zeek').map((d) => (d.source as Json).zeek.session_id as string)).size === 40, 'all 40 lines in Elasticsearch', 10_000);
        const order = [...new Set(elasticsearch.documents('zeek').map((d) => (d.source as Json).zeek.session_id as string))];
        assert.deepEqual(order, range(1, 40));
        assert.equal(await loom.stop(), 0);
        assert.deepEqual(await savedOffsets(t), { [t.log]: (await stat(t.log)).size });
      } finally {
        elasticsearch.hang = false;
        await loom.cleanup();
      }
    });
  });
});
