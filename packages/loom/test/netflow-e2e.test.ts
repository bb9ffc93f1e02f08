import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseToml, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import type { FlowEvent } from './helpers/netflow-packets.js';
import { pcapFile, trafficPackets } from './helpers/netflow-pcap.js';

/**
 * Real exporters against the real loom process: softflowd turns a capture into NetFlow v5,
 * v9 and IPFIX, once towards Loom and once towards nfcapd, and nfdump's reading of the same
 * export is the reference for Loom's events (flows, addresses, ports, packets, bytes, TCP
 * flags). tshark's Community ID of the capture's packets checks network.community_id.
 */

const pcap = fileURLToPath(new URL('../../test/fixtures/netflow/traffic.pcap', import.meta.url));
const token = 'netflow-e2e-token-4f1c2a9b7d';
const tools = ['softflowd', 'nfcapd', 'nfdump', 'tshark'];

function missingTools(): string[] {
  return tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

/** One flow as both sides can state it. ICMP carries type × 256 + code where the port would be. */
interface FlowKey {
  protocol: number;
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  packets: number;
  bytes: number;
  /** TCP control bits; 0 for other protocols. */
  flags: number;
}

const keyText = (f: FlowKey): string => `${f.protocol} ${f.source}:${f.sourcePort} > ${f.destination}:${f.destinationPort} pkts=${f.packets} bytes=${f.bytes} flags=${f.flags}`;

const protocolNumbers: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMP6: 58 };

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function softflowd(port: number, version: 5 | 9 | 10): void {
  const run = spawnSync('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d', '-D'], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(run.status, 0, `softflowd -v ${version} failed: ${run.stderr}`);
}

/** nfdump's flags column, "...AP.SF": one letter per bit from CWR down to FIN. */
function nfdumpFlags(text: string): number {
  let bits = 0;
  for (let i = 0; i < 8; i++) if (text[i] !== undefined && text[i] !== '.') bits |= 1 << (7 - i);
  return bits;
}

/** The flows nfcapd stored from softflowd's export of the capture, as nfdump prints them. */
async function referenceFlows(version: 5 | 9 | 10): Promise<FlowKey[]> {
  const dir = await tempDir('loom-nfcapd-');
  const port = await freeUdpPort();
  const nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  nfcapd.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  nfcapd.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => nfcapd.once('close', () => resolve()));
  try {
    await until(() => output.includes('Startup nfcapd'), () => `nfcapd did not start: ${output}`);
    softflowd(port, version);
    // nfcapd reads the socket in its own time; its closing statistics show what it took.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    nfcapd.kill('SIGTERM');
    await exited;
  }
  const file = readdirSync(dir).find((name) => /^nfcapd\.\d+$/.test(name));
  assert.ok(file, `nfcapd wrote no file: ${output}`);
  const dump = spawnSync('nfdump', ['-r', join(dir, file), '-o', 'csv'], { encoding: 'utf8' });
  assert.equal(dump.status, 0, dump.stderr);
  const [header = '', ...rows] = dump.stdout.trim().split('\n');
  const columns = header.split(',');
  const at = (name: string): number => columns.indexOf(name);
  return rows.filter((row) => /^\d{4}-/.test(row)).map((row) => {
    const cells = row.split(',');
    const cell = (name: string): string => (cells[at(name)] ?? '').trim();
    const protocol = protocolNumbers[cell('pr')] ?? Number(cell('pr'));
    return {
      protocol,
      source: cell('sa'),
      sourcePort: Number(cell('sp')),
      destination: cell('da'),
      destinationPort: Number(cell('dp')),
      packets: Number(cell('ipkt')),
      bytes: Number(cell('ibyt')),
      flags: protocol === 6 ? nfdumpFlags(cell('flg')) : 0,
    };
  });
}

function loomFlow(event: FlowEvent): FlowKey {
  const protocol = Number(event.network.iana_number);
  const icmp = protocol === 1 || protocol === 58;
  const family = protocol === 1 ? 'ipv4' : 'ipv6';
  const number = (value: unknown): number => (typeof value === 'number' ? value : NaN);
  return {
    protocol,
    source: event.source.ip ?? '',
    sourcePort: icmp ? 0 : number(event.source.port),
    destination: event.destination.ip ?? '',
    destinationPort: icmp ? number(event.netflow[`icmp_type_${family}`]) * 256 + number(event.netflow[`icmp_code_${family}`]) : number(event.destination.port),
    packets: number(event.network.packets),
    bytes: number(event.network.bytes),
    flags: protocol === 6 ? number(event.netflow.tcp_control_bits) : 0,
  };
}

async function until(predicate: () => boolean, message: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('NetFlow with real exporters', () => {
  let loom: LoomProcess | undefined;
  let port = 0;

  before(async () => {
    const missing = missingTools();
    assert.deepEqual(missing, [], `NetFlow end-to-end tests need ${missing.join(', ')}: apt-get install softflowd nfdump tshark (.ci/run installs them)`);
    loom = await startLoom({
      toml: baseToml({ extra: '\n[inputs.netflow]\nenabled = true\nlisten_address = "127.0.0.1:0"\nbatch_max_wait_ms = 20\n' }),
      env: { LOOM_SENSOR_netflow_e2e: token },
    });
    const listening = loom.logs.find((l) => l.msg === 'netflow collector listening');
    assert.ok(listening, `loom did not start its collector:\n${loom.stderrText}`);
    port = listening.port as number;
  });

  after(async () => {
    await loom?.cleanup();
  });

  test('the committed capture is what helpers/netflow-pcap.ts makes', () => {
    assert.ok(readFileSync(pcap).equals(pcapFile(trafficPackets())), 'regenerate test/fixtures/netflow/traffic.pcap (see helpers/netflow-pcap.ts)');
  });

  for (const version of [5, 9, 10] as const) {
    test(`${version === 10 ? 'IPFIX' : `NetFlow v${version}`} from softflowd: Loom's events match nfdump's flows`, async () => {
      assert.ok(loom);
      const running = loom;
      const reference = await referenceFlows(version);
      // v5 cannot carry the capture's IPv6 connection; the other versions export all 15 flows.
      assert.equal(reference.length, version === 5 ? 13 : 15, `nfdump read ${reference.length} flows`);
      softflowd(port, version);
      const ours = (): FlowEvent[] => running.stdoutLines.map((line) => JSON.parse(line) as FlowEvent).filter((e) => e.netflow?.exporter?.version === version);
      await until(() => ours().length >= reference.length, () => `loom wrote ${ours().length} of ${reference.length} v${version} flows; stderr:\n${running.stderrText.slice(-2000)}`);
      const events = ours();
      assert.deepEqual(events.map(loomFlow).map(keyText).sort(), reference.map(keyText).sort());
      for (const event of events) {
        assert.equal(event.event.dataset, 'netflow.flow');
        assert.equal(event.observer.ip, '127.0.0.1');
        assert.match(event.netflow.exporter.address, /^127\.0\.0\.1:\d+$/);
      }
    });
  }

  test('every flow carries the Community ID tshark computes for its packets', () => {
    assert.ok(loom);
    const run = spawnSync('tshark', ['-r', pcap, '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'communityid'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const expected = new Set(run.stdout.split('\n').filter((line) => line.startsWith('1:')));
    const ours = new Set(loom.stdoutLines.map((line) => (JSON.parse(line) as FlowEvent).network.community_id));
    assert.equal(expected.size, 8);
    assert.deepEqual([...ours].sort(), [...expected].sort());
  });

  test('metrics count every flow and no drop', async () => {
    assert.ok(loom);
    const text = await (await fetch(loom.managementUrl('/metrics'))).text();
    assert.match(text, /^loom_input_events_total\{input="netflow"\} 43$/m);
    assert.match(text, /^loom_netflow_packets_total [1-9]\d*$/m);
    assert.doesNotMatch(text, /^loom_input_rejected_total\{input="netflow"/m);
    assert.match(text, /^loom_netflow_templates [1-9]\d*$/m);
  });
});
