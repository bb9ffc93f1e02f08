import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsmasq, type Dnsmasq } from './helpers/dnsmasq.js';
import { baseToml, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/mmdb/', import.meta.url));
const token = 'enrich-token';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function send(loom: LoomProcess, events: object[]): Promise<Json[]> {
  const before = loom.stdoutLines.length;
  const res = await fetch(loom.url(), { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(events) });
  assert.equal(res.status, 204, await res.text());
  await loom.until(() => loom.stdoutLines.length >= before + events.length, `${events.length} events on stdout`);
  return loom.stdoutLines.slice(before, before + events.length).map((line) => JSON.parse(line) as Json);
}

describe('enrichment with the bundled data, intel, risk and reverse DNS', () => {
  let loom: LoomProcess;
  let dns: Dnsmasq;
  let intelPath: string;
  before(async () => {
    dns = await startDnsmasq({ hostRecords: ['dns.google,8.8.8.8'] });
    const dir = await tempDir();
    intelPath = join(dir, 'blocklist.netset');
    await writeFile(intelPath, '# test list\n8.8.8.0/24\n2001:db8:bad::/48\n');
    const fingerprints = join(dir, 'ja4.txt');
    await writeFile(fingerprints, 't13d1516h2_8daaf6152771_e5627efa2ab1\n');
    loom = await startLoom({
      toml: baseToml({
        enrichment: `[enrichment]
fields = ["source", "destination"]

[enrichment.dns]
enabled = true
resolver_addr = "${dns.address}"
timeout_ms = 400

[[enrichment.intel]]
name = "test-blocklist"
path = "${intelPath}"
category = "scanner"
confidence = 90

[[enrichment.intel]]
name = "bad-ja4"
path = "${fingerprints}"
kind = "ja4"
category = "malware"`,
      }),
      env: { LOOM_SENSOR_enrich: token, LOOM_ADMIN_TOKEN: 'admin-secret' },
    });
    assert.ok(loom.ingestPort > 0, loom.stderrText);
  });
  after(async () => {
    assert.equal(await loom.stop(), 0);
    await dns.stop();
  });

  test('public addresses get geo, AS, domain, intel and a risk score; private ones get nothing empty', async () => {
    const [google, privateSource, noSource] = await send(loom, [
      { source: { ip: '8.8.8.8', port: 51000 }, destination: { ip: '1.1.1.1', port: 3389 }, tls: { client: { ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1' } } },
      { source: { ip: '192.168.1.20', port: 4000 }, destination: { ip: '10.0.0.1', port: 22 } },
      { message: 'no addresses here' },
    ]);
    assert.equal(google?.source.geo.country_iso_code, 'US');
    assert.equal(google?.source.as.number, 15169);
    assert.equal(google?.source.as.organization.name, 'Google LLC');
    assert.equal(google?.source.domain, 'dns.google');
    assert.equal(google?.destination.geo.country_iso_code, 'AU', 'destination is enriched too when configured');
    const lists = (google?.threat.enrichments as Json[]).map((e) => e.feed.name).sort();
    assert.deepEqual(lists, ['bad-ja4', 'test-blocklist']);
    assert.ok((google?.tags as string[]).includes('intel:test-blocklist'));
    assert.equal(google?.event.risk_score, 100, JSON.stringify(google?.event));
    assert.ok((google?.event.risk_reasons as string[]).includes('port:3389'));

    assert.deepEqual(privateSource?.source, { ip: '192.168.1.20', port: 4000 }, 'no geo: {}, no as.number: 0');
    assert.deepEqual(privateSource?.destination, { ip: '10.0.0.1', port: 22 });
    assert.equal(privateSource?.event.risk_score, 10);
    assert.equal(noSource?.source, undefined, 'no source object is invented');
  });

  test('a changed intel list is picked up without a restart', async () => {
    const replacement = `${intelPath}.new`;
    await writeFile(replacement, '9.9.9.0/24\n');
    await rename(replacement, intelPath);
    await loom.until(() => loom.hasLog('enrichment data reloaded'), 'the reload', 15_000);
    const [quad9] = await send(loom, [{ source: { ip: '9.9.9.9' } }]);
    assert.equal(quad9?.threat.enrichments[0].feed.name, 'test-blocklist');
    const [google] = await send(loom, [{ source: { ip: '8.8.8.8' } }]);
    assert.equal(google?.threat, undefined);
  });

  test('the lookup API answers with the admin token only', async () => {
    const url = loom.managementUrl('/api/v1/lookup');
    const denied = await fetch(`${url}?ip=8.8.8.8`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as Json).error, 'unauthorized');
    const headers = { Authorization: 'Bearer admin-secret' };
    const one = (await (await fetch(`${url}?ip=8.8.8.8`, { headers })).json()) as Json;
    assert.equal(one.results[0].as.number, 15169);
    assert.equal(one.results[0].domain, 'dns.google');
    const many = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ ips: ['1.1.1.1', '10.1.1.1'] }) });
    const body = (await many.json()) as Json;
    assert.equal(body.results[0].geo.country_iso_code, 'AU');
    assert.deepEqual(body.results[1], { ip: '10.1.1.1' });
    const bad = await fetch(`${url}?ip=not-an-ip`, { headers });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as Json).message, /not-an-ip.*is not an IP address/);
  });

  test('enrichment metrics are exported', async () => {
    const text = await (await fetch(loom.managementUrl('/metrics'))).text();
    assert.match(text, /loom_enrichment_database_info\{kind="geoip",type="[^"]+",path="[^"]+",bundled="true"\} 1/);
    assert.match(text, /loom_enrichment_database_build_timestamp_seconds\{kind="asn"\} \d+/);
    assert.match(text, /loom_intel_indicators\{list="test-blocklist"\} 1/);
  });
});

describe('enrichment with MaxMind databases', () => {
  test('GeoIP2 City and GeoLite2 ASN test databases, replaced on disk without a restart', async () => {
    const dir = await tempDir();
    const city = join(dir, 'city.mmdb');
    await copyFile(join(fixtures, 'GeoIP2-City-Test.mmdb'), city);
    const loom = await startLoom({
      toml: baseToml({ enrichment: `[enrichment]\ngeoip_db_path = "${city}"\nasn_db_path = "${join(fixtures, 'GeoLite2-ASN-Test.mmdb')}"\n[enrichment.risk]\nenabled = false` }),
      env: { LOOM_SENSOR_enrich: token },
    });
    try {
      const [london, telstra] = await send(loom, [{ source: { ip: '81.2.69.142' } }, { source: { ip: '1.128.0.1' } }]);
      assert.equal(london?.source.geo.city_name, 'London');
      assert.equal(london?.source.geo.country_iso_code, 'GB');
      assert.equal(telstra?.source.as.number, 1221);
      // Replace the database by rename, as updaters do; events keep flowing meanwhile.
      const staged = join(dir, 'staged.mmdb');
      await copyFile(join(fixtures, 'GeoLite2-Country-Test.mmdb'), staged);
      await rename(staged, city);
      // Keep batches flowing through the reload: every one must be acknowledged and written.
      const before = loom.stdoutLines.length;
      let sent = 0;
      let reloaded = false;
      const load = (async () => {
        while (!reloaded || sent < 40) {
          const res = await fetch(loom.url(), { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify([{ source: { ip: '81.2.69.142' }, n: sent }]) });
          assert.equal(res.status, 204);
          sent++;
        }
      })();
      await loom.until(() => loom.hasLog('enrichment data reloaded'), 'the reload', 15_000);
      reloaded = true;
      await load;
      await loom.until(() => loom.stdoutLines.length >= before + sent, 'every batch sent during the reload');
      const written = loom.stdoutLines.slice(before).map((line) => JSON.parse(line) as Json);
      assert.deepEqual(written.map((event) => event.n), Array.from({ length: sent }, (_, i) => i));
      assert.ok(written.every((event) => event.source.geo.country_iso_code === 'GB'));
      const [after] = await send(loom, [{ source: { ip: '81.2.69.142' } }]);
      assert.equal(after?.source.geo.country_iso_code, 'GB');
      assert.equal(after?.source.geo.city_name, undefined, 'the Country database has no cities');
    } finally {
      assert.equal(await loom.stop(), 0);
    }
  });

  test('an unreadable database path stops startup with a message naming the key', async () => {
    const loom = await startLoom({
      toml: baseToml({ enrichment: '[enrichment]\ngeoip_db_path = "/nonexistent/city.mmdb"' }),
      env: { LOOM_SENSOR_enrich: token },
    });
    assert.equal(await loom.waitForExit(), 1);
    assert.match(loom.stderrText, /enrichment\.geoip_db_path: "\/nonexistent\/city\.mmdb" not readable/);
  });
});
