import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runLoom, tempDir } from './helpers/loom-process.js';
import { occupyPort } from './helpers/http.js';
import { LineClient, readLines, sleep, startTcpJson, tcpJsonConfig, type TcpJsonProcess } from './helpers/tcp-json.js';

const execFileP = promisify(execFile);
const rfc3339Ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const valid = (seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ level: 'info', message: `message ${seq}`, seq, ...extra });

describe('loom tcp-json: protocol', () => {
  let server: TcpJsonProcess;
  before(async () => {
    server = await startTcpJson(tcpJsonConfig({
      // "::" is dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d and must be reported as a.b.c.d.
      server: { IP: '::', max_connections_per_ip: 500 },
      protocol: { max_message_bytes: 1024 },
      errors: { invalid_message: 'redirect_to_error_log', error_log_path: 'errors.log' },
    }));
  });
  after(async () => {
    await server.loom.cleanup();
  });

  test('pipelined messages get exactly one response each, in order; success means already in the logfile', async () => {
    const client = await connect(server.port);
    const messages: unknown[] = [];
    const expected: boolean[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 5;
      if (kind === 0) messages.push(valid(i));
      else if (kind === 1) messages.push({ level: 'nope', message: 'x', seq: i });
      else if (kind === 2) messages.push(`{"level":"info","message":"broken ${i}"`);
      else if (kind === 3) messages.push(valid(i, { service: 'api' }));
      else messages.push([i]);
      expected.push(kind === 0 || kind === 3);
    }
    const before = server.logLines().length;
    client.sendMessages(messages);
    const responses = await client.next(300);
    assert.deepEqual(responses.map((r) => r.success), expected);
    assert.equal(client.unread, 0);
    for (const r of responses) {
      assert.equal(typeof r.message, 'string');
      assert.ok(r.message.length <= 1024);
    }
    assert.equal(responses[0]?.message, 'message logged');
    assert.equal(responses[1]?.message, 'validation failed: field "level" must be one of "debug", "info", "warn", "error"');
    assert.match(responses[2]?.message ?? '', /^invalid JSON: /);
    assert.equal(responses[4]?.message, 'not a JSON object: got an array');
    // Acknowledged means durable: every logged message is in the file by the time its answer arrives.
    const seqs = server.logLines().slice(before).map((line) => (JSON.parse(line) as { seq: number }).seq);
    assert.deepEqual(seqs, messages.flatMap((m, i) => (expected[i] ? [i] : [])));
    client.destroy();
  });

  test('the server sets timestamp (RFC 3339 UTC, ms) and source_ip, first, before the message fields as sent', async () => {
    const started = Date.now();
    const v4 = await connect(server.port);
    const v6 = await LineClient.connect(server.port, { host: '::1' });
    // 2^64 - 1 survives only if the message text is kept, not parsed and serialised again.
    assert.equal((await v4.exchange('{"level":"info","message":"v4","seq":1001,"big":18446744073709551615}')).success, true);
    assert.equal((await v6.exchange(valid(1002))).success, true);
    const lines = server.logLines();
    const v4Line = lines.find((line) => line.includes('"seq":1001')) as string;
    const record = JSON.parse(v4Line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), ['timestamp', 'source_ip', 'level', 'message', 'seq', 'big']);
    assert.equal(record.source_ip, '127.0.0.1');
    assert.match(record.timestamp as string, rfc3339Ms);
    const at = Date.parse(record.timestamp as string);
    assert.ok(at >= started - 5 && at <= Date.now() + 5);
    assert.ok(v4Line.endsWith('"big":18446744073709551615}'), v4Line);
    const v6Record = JSON.parse(lines.find((line) => line.includes('"seq":1002')) as string) as Record<string, unknown>;
    assert.equal(v6Record.source_ip, '::1');
    // A client may not set the server's fields itself.
    const spoof = await v4.exchange({ level: 'info', message: 'x', source_ip: '10.0.0.1' });
    assert.deepEqual(spoof, { success: false, message: 'field "source_ip" is set by the server; send the client\'s value under another name' });
    v4.destroy();
    v6.destroy();
  });

  test('framing: CRLF, blank lines, split writes, and a last line without LF before the client half-closes', async () => {
    const client = await connect(server.port);
    client.send('{"level":"info","message":"crlf","seq":2001}\r\n\r\n\n{"level":"info",');
    await sleep(30);
    client.send('"message":"split","seq":2002}\n{"level":"info","message":"unterminated","seq":2003}');
    client.end();
    const responses = await client.next(3);
    assert.deepEqual(responses.map((r) => r.success), [true, true, true]);
    await client.until(() => client.ended, 'the server to close after answering');
    assert.equal(client.unread, 0);
    const seqs = server.logLines().map((line) => (JSON.parse(line) as { seq?: number }).seq);
    for (const seq of [2001, 2002, 2003]) assert.ok(seqs.includes(seq), String(seq));
  });

  test('an oversized message is refused, skipped to its newline, and the connection goes on', async () => {
    const client = await connect(server.port);
    const huge = JSON.stringify({ level: 'info', message: 'x'.repeat(5000) });
    client.send(huge.slice(0, 700));
    await sleep(20);
    client.send(`${huge.slice(700)}\n`);
    client.sendMessages([valid(3001)]);
    const [tooLong, next] = await client.next(2);
    assert.deepEqual(tooLong, { success: false, message: 'message longer than 1024 bytes; skipped up to the next newline' });
    assert.equal(next?.success, true);
    // Exactly the limit is fine (1024 bytes without the line end).
    const padding = 1024 - JSON.stringify({ level: 'info', message: '' }).length;
    assert.equal((await client.exchange({ level: 'info', message: 'y'.repeat(padding) })).success, true);
    client.destroy();
  });

  test('garbage, binary and invalid UTF-8 are refused one line at a time without hurting the connection', async () => {
    const client = await connect(server.port);
    client.send(Buffer.concat([
      Buffer.from('\x00\x01\x02binary\xff\n', 'latin1'),
      Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d, 0x0a]),
      Buffer.from('   \n'),
      Buffer.from('{"level":"info","message":"caf\u00e9 \u{1f600}","seq":4001}\n'),
    ]));
    const responses = await client.next(4);
    assert.match(responses[0]?.message ?? '', /^not valid UTF-8|^invalid JSON/);
    assert.equal(responses[1]?.message, 'not valid UTF-8');
    assert.match(responses[2]?.message ?? '', /^invalid JSON/);
    assert.equal(responses[3]?.success, true);
    const line = server.logLines().find((l) => l.includes('"seq":4001')) as string;
    assert.equal((JSON.parse(line) as { message: string }).message, 'caf\u00e9 \u{1f600}');
    client.destroy();
  });

  test('redirect_to_error_log: each malformed message is recorded with time, source_ip, reason and the raw text', async () => {
    const client = await connect(server.port);
    client.sendMessages(['{"marker":"error-log-test"', { level: 'info' }]);
    await client.next(2);
    await client.until(() => readLines(join(server.dir, 'errors.log')).some((l) => l.includes('"level\\":\\"info\\"}')), 'the error log');
    const records = readLines(join(server.dir, 'errors.log')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const broken = records.find((r) => r.raw_message === '{"marker":"error-log-test"') as Record<string, unknown>;
    assert.match(broken.time as string, rfc3339Ms);
    assert.equal(broken.source_ip, '127.0.0.1');
    assert.match(broken.reason as string, /^invalid JSON: /);
    assert.equal(broken.truncated, false);
    const missing = records.find((r) => r.raw_message === '{"level":"info"}') as Record<string, unknown>;
    assert.equal(missing.reason, 'validation failed: field "message" is required');
    client.destroy();
  });

  test('ncat: a message piped in gets its response', async () => {
    const { stdout } = await execFileP('sh', ['-c', `printf '%s\\n%s\\n' '{"level":"warn","message":"from ncat","seq":5001}' 'nonsense' | ncat 127.0.0.1 ${server.port}`], { timeout: 5000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { success: boolean; message: string });
    assert.deepEqual(lines[0], { success: true, message: 'message logged' });
    assert.equal(lines[1]?.success, false);
    assert.equal(lines.length, 2);
  });

  test('many connections at once, each pipelining', async () => {
    const before = server.logLines().length;
    const clients = await Promise.all(Array.from({ length: 150 }, () => connect(server.port)));
    clients.forEach((client, c) => client.sendMessages(Array.from({ length: 10 }, (_, i) => valid(100_000 + c * 10 + i))));
    const all = await Promise.all(clients.map((client) => client.next(10, 10_000)));
    assert.ok(all.every((responses) => responses.every((r) => r.success)));
    assert.equal(server.logLines().length - before, 1500);
    for (const client of clients) client.destroy();
  });

  test('SIGTERM: every message read is answered and every answered success is in the logfile; exit 0', async () => {
    const client = await connect(server.port);
    const idle = await connect(server.port);
    const before = server.logLines().length;
    client.sendMessages(Array.from({ length: 3000 }, (_, i) => valid(200_000 + i)));
    await client.until(() => client.lines.length > 0, 'a first response');
    server.loom.child.kill('SIGTERM');
    assert.equal(await server.loom.waitForExit(), 0);
    await client.until(() => client.closed, 'the connection to close');
    await idle.until(() => idle.ended, 'the idle connection to be closed by the server');
    const successes = client.lines.filter((l) => (JSON.parse(l) as { success: boolean }).success).length;
    assert.ok(successes > 0);
    assert.equal(server.logLines().length - before, successes);
    assert.ok(server.loom.logs.some((l) => l.msg === 'tcp-json stopped' && l.clean === true));
  });
});

describe('loom tcp-json: abuse prevention', () => {
  let server: TcpJsonProcess;
  before(async () => {
    server = await startTcpJson(tcpJsonConfig({
      server: { IP: '::', max_connections_per_ip: 3, idle_timeout_seconds: 1 },
      protocol: {
        messages_per_ip_per_minute: 5,
        bad_message_blacklist_threshold: 3,
        blacklist_permanent: false,
        blacklist_duration_seconds: 1,
        blacklisted_ips: ['127.0.0.9', '127.0.1.0/24', '::1/128'],
      },
      // ignore: the client is told, nothing is written (the path is set only to check that).
      errors: { invalid_message: 'ignore', error_log_path: 'errors.log' },
    }));
  });
  after(async () => {
    await server.loom.cleanup();
  });

  test('each message over the per-minute limit is refused as a strike; the third strike blacklists', async () => {
    const client = await connect(server.port, '127.0.0.2');
    client.sendMessages(Array.from({ length: 9 }, (_, i) => valid(i)));
    const responses = await client.next(9);
    assert.deepEqual(responses.slice(0, 5).map((r) => r.success), [true, true, true, true, true]);
    assert.deepEqual(responses.slice(5).map((r) => r.message), [
      'IP 127.0.0.2 has exceeded its message rate limit of 5 messages per minute (strike 1 of 3)',
      'IP 127.0.0.2 has exceeded its message rate limit of 5 messages per minute (strike 2 of 3)',
      'IP 127.0.0.2 has exceeded its message rate limit of 5 messages per minute; IP 127.0.0.2 has been blacklisted for 1 second',
      'IP 127.0.0.2 is blacklisted for 1 more second',
    ]);
    client.destroy();
  });

  test('malformed messages blacklist at the threshold; the first message after expiry is accepted and the strikes start over', async () => {
    const marker = 'sent-while-blacklisted';
    let client = await connect(server.port, '127.0.0.3');
    client.sendMessages(['{', '{', '{', { level: 'info', message: marker }]);
    const responses = await client.next(4);
    assert.match(responses[0]?.message ?? '', /^invalid JSON: .* \(strike 1 of 3\)$/);
    assert.match(responses[1]?.message ?? '', /\(strike 2 of 3\)$/);
    assert.match(responses[2]?.message ?? '', /; IP 127\.0\.0\.3 has been blacklisted for 1 second$/);
    assert.deepEqual(responses[3], { success: false, message: 'IP 127.0.0.3 is blacklisted for 1 more second' });
    client.destroy();
    await sleep(1100);
    client = await connect(server.port, '127.0.0.3');
    assert.deepEqual(await client.exchange(valid(1)), { success: true, message: 'message logged' });
    assert.match((await client.exchange('{')).message, /\(strike 1 of 3\)$/);
    assert.ok(!server.logLines().some((line) => line.includes(marker)));
    client.destroy();
  });

  test('pre-configured addresses and ranges are blacklisted from the start, IPv4 and IPv6', async () => {
    for (const [localAddress, shown] of [['127.0.0.9', '127.0.0.9'], ['127.0.1.7', '127.0.1.7']]) {
      const client = await connect(server.port, localAddress);
      assert.deepEqual(await client.exchange(valid(1)), { success: false, message: `IP ${shown} is blacklisted` });
      client.destroy();
    }
    const v6 = await LineClient.connect(server.port, { host: '::1' });
    assert.deepEqual(await v6.exchange(valid(1)), { success: false, message: 'IP ::1 is blacklisted' });
    v6.destroy();
    const other = await connect(server.port, '127.0.0.4');
    assert.equal((await other.exchange(valid(1))).success, true);
    other.destroy();
  });

  test('invalid_message = ignore writes no error log', () => {
    assert.equal(existsSync(join(server.dir, 'errors.log')), false);
  });

  test('connections beyond max_connections_per_ip are closed at once; idle connections after idle_timeout_seconds', async () => {
    const kept = await Promise.all([1, 2, 3].map(() => connect(server.port, '127.0.0.5')));
    const refused = await connect(server.port, '127.0.0.5');
    await refused.until(() => refused.closed, 'the fourth connection to be closed');
    assert.equal(refused.lines.length, 0);
    assert.equal((await kept[0]?.exchange(valid(1)))?.success, true);
    // Silent for over a second: closed by the server.
    await Promise.all(kept.map((client) => client.until(() => client.ended, 'the idle close', 4000)));
    const again = await connect(server.port, '127.0.0.5');
    assert.equal((await again.exchange(valid(2))).success, true);
    again.destroy();
  });
});

describe('loom tcp-json: permanent blacklist and plaintext logfile', () => {
  let server: TcpJsonProcess;
  before(async () => {
    server = await startTcpJson(tcpJsonConfig({
      logfile: { format: 'plaintext', column_order: ['source_ip', 'level', 'timestamp', 'message', 'service'], plaintext_field_delimiter: '|', plaintext_entry_delimiter: ';\n' },
      protocol: { bad_message_blacklist_threshold: 2, blacklist_permanent: true, blacklist_duration_seconds: 1 },
    }));
  });
  after(async () => {
    await server.loom.cleanup();
  });

  test('a permanent blacklist does not expire', async () => {
    const client = await connect(server.port, '127.0.0.6');
    client.sendMessages(['x', 'y']);
    const [, second] = await client.next(2);
    assert.match(second?.message ?? '', /; IP 127\.0\.0\.6 has been blacklisted until the server restarts$/);
    await sleep(1200);
    assert.deepEqual(await client.exchange(valid(1)), { success: false, message: 'IP 127.0.0.6 is blacklisted' });
    client.destroy();
  });

  test('plaintext: column_order picks and orders fields; delimiters inside values are escaped so records split back exactly', async () => {
    const client = await connect(server.port, '127.0.0.7');
    const tricky = 'pipe | semicolon ; newline \n backslash \\ x41 done';
    client.sendMessages([{ level: 'warn', message: tricky, service: 'a|b' }, { level: 'info', message: 'no service' }]);
    assert.deepEqual((await client.next(2)).map((r) => r.success), [true, true]);
    const text = readFileSync(join(server.dir, 'messages.log'), 'utf8');
    const records = text.split(';\n').filter((r) => r !== '').map((r) => r.split('|').map(unescape));
    assert.equal(records.length, 2);
    const [first, second] = records as [string[], string[]];
    assert.deepEqual([first[0], first[1], first[3], first[4]], ['127.0.0.7', 'warn', tricky, 'a|b']);
    assert.match(first[2] as string, rfc3339Ms);
    assert.deepEqual([second[0], second[1], second[3], second[4]], ['127.0.0.7', 'info', 'no service', '']);
    client.destroy();
  });
});

describe('loom tcp-json: SIGHUP', () => {
  test('reopens the logfile after it was moved away (logrotate)', async () => {
    const server = await startTcpJson(tcpJsonConfig());
    try {
      const client = await connect(server.port);
      assert.equal((await client.exchange(valid(1))).success, true);
      renameSync(join(server.dir, 'messages.log'), join(server.dir, 'messages.log.1'));
      server.loom.child.kill('SIGHUP');
      await server.loom.until(() => server.loom.hasLog('file output reopened'), 'the reopen');
      assert.equal((await client.exchange(valid(2))).success, true);
      assert.deepEqual(readLines(join(server.dir, 'messages.log.1')).map((l) => (JSON.parse(l) as { seq: number }).seq), [1]);
      assert.deepEqual(server.logLines().map((l) => (JSON.parse(l) as { seq: number }).seq), [2]);
      client.destroy();
    } finally {
      await server.loom.cleanup();
    }
  });
});

/** Undoes the file output's plaintext escaping: \\ is a backslash, \xHH and \u{H…} a character. */
function unescape(value: string): string {
  return value.replace(/\\(\\|x([0-9a-f]{2})|u\{([0-9a-f]+)\})/g, (_, whole: string, hex?: string, code?: string) => {
    if (whole === '\\') return '\\';
    return String.fromCodePoint(parseInt(hex ?? code ?? '0', 16));
  });
}

describe('loom tcp-json: allowed networks', () => {
  let server: TcpJsonProcess;
  before(async () => {
    server = await startTcpJson(tcpJsonConfig({ server: { allowed_networks: ['127.0.0.8/30', '::1'] } }));
  });
  after(async () => {
    await server.loom.cleanup();
  });

  test('clients inside the allowed networks are served; others are closed at once without an answer', async () => {
    const inside = await LineClient.connect(server.port, { localAddress: '127.0.0.9' });
    assert.equal((await inside.exchange(valid(1))).success, true);
    inside.destroy();
    const outside = await LineClient.connect(server.port, { localAddress: '127.0.0.20' });
    outside.send(`${JSON.stringify(valid(2))}\n`);
    await outside.until(() => outside.closed, 'the connection from outside to be closed');
    assert.deepEqual(outside.lines, []);
    assert.deepEqual(server.logLines().map((line) => (JSON.parse(line) as { seq: number }).seq), [1]);
    await server.loom.until(() => server.loom.hasLog('tcp-json: connection refused: address outside server_settings.allowed_networks'), 'the refusal in the log');
  });
});

describe('loom tcp-json: startup errors name the key', () => {
  test('without -config it reads ./config.json', async () => {
    const cwd = await tempDir('tcp-json-cwd-');
    const result = await runLoom({ args: ['tcp-json'], cwd });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `config: ${join(cwd, 'config.json')}: cannot read: no such file or directory\n`);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['invalid keys and values', { ...tcpJsonConfig(), logfile_settings: { path: 'm.log', coulmn_order: ['level'] } }, /logfile_settings\.coulmn_order: unknown key \(did you mean "column_order"\?\)/],
    ['column_order naming no schema property', tcpJsonConfig({ logfile: { column_order: ['timestamp', 'lvl'] } }), /logfile_settings\.column_order\[1\]: "lvl" is neither a property of incoming_json_schema/],
    ['an unreadable message schema', tcpJsonConfig({ protocol: { incoming_json_schema: 'nowhere.json' } }), /protocol_settings\.incoming_json_schema: .*nowhere\.json: cannot read: no such file or directory/],
    ['an invalid message schema', tcpJsonConfig({ protocol: { incoming_json_schema: 'bad-schema.json' } }), /protocol_settings\.incoming_json_schema: .*bad-schema\.json: not a valid JSON Schema: strict mode: unknown keyword: "requried"/],
    ['an allowed network that is not one', tcpJsonConfig({ server: { allowed_networks: ['127.0.0.0/8', '10.0.0.0/33'] } }), /server_settings\.allowed_networks\[1\]: "10\.0\.0\.0\/33" is not an IP address or CIDR network/],
    ['a logfile in a missing directory', tcpJsonConfig({ logfile: { path: 'no/such/dir/m.log' } }), /logfile_settings\.path: cannot open .*no\/such\/dir\/m\.log for appending: ENOENT/],
  ];
  for (const [name, config, expected] of cases) {
    test(name, async () => {
      const dir = await tempDir('tcp-json-bad-');
      await writeFile(join(dir, 'bad-schema.json'), JSON.stringify({ type: 'object', requried: ['level'] }));
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
      const result = await runLoom({ args: ['tcp-json', '-config', join(dir, 'config.json')] });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, expected);
    });
  }

  test('a port in use', async () => {
    const busy = await occupyPort();
    try {
      const dir = await tempDir('tcp-json-port-');
      await writeFile(join(dir, 'config.json'), JSON.stringify(tcpJsonConfig({ server: { Port: busy.port } })));
      const result = await runLoom({ args: ['tcp-json', '-config', join(dir, 'config.json')] });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`server_settings \\(IP, Port\\): cannot listen on 127\\.0\\.0\\.1:${busy.port}: address already in use`));
    } finally {
      await busy.close();
    }
  });
});

/** An IPv4 client; localAddress picks a loopback address, so each test is a client of its own. */
function connect(port: number, localAddress?: string): Promise<LineClient> {
  return LineClient.connect(port, localAddress === undefined ? {} : { localAddress });
}
