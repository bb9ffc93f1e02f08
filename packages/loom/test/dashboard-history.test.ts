import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { sqlStatements, startClickHouse, type ClickHouseServer } from './helpers/clickhouse-server.js';
import { request } from './helpers/http.js';
import { baseToml, startLoom, type LoomProcess } from './helpers/loom-process.js';

// Windows over an hour, answered from a real ClickHouse server through the typed table.
const adminToken = 'history-admin-Token-77aa';
const sensorToken = 'history-sensor-token-0001';
const root = new URL('../../../../', import.meta.url);
const artifacts = fileURLToPath(new URL('test-artifacts/dashboard/', root));

describe('dashboard windows over an hour from ClickHouse', () => {
  let clickhouse: ClickHouseServer;
  let loom: LoomProcess;
  let browser: Browser | undefined;

  before(async () => {
    clickhouse = await startClickHouse();
    const schema = await readFile(new URL('docs/clickhouse/schema-18.16.sql', root), 'utf8');
    for (const statement of sqlStatements(schema)) await clickhouse.query(statement);
    loom = await startLoom({
      toml: baseToml({
        output: `type = "clickhouse"
clickhouse_url = "${clickhouse.url}"
clickhouse_database = "loom"
clickhouse_table = "events"
clickhouse_user = "${clickhouse.user}"
clickhouse_mode = "typed"
batch_max_wait_ms = 50`,
      }),
      env: { LOOM_SENSOR_hist: sensorToken, LOOM_ADMIN_TOKEN: adminToken, LOOM_CLICKHOUSE_PASSWORD: clickhouse.password },
    });
    assert.ok(loom.managementPort > 0, loom.stderrText);
  });

  after(async () => {
    await browser?.close();
    assert.equal(await loom?.stop(), 0);
    await loom?.cleanup();
    await clickhouse?.stop();
  });

  test('the history API ranks the typed columns and counts events per bucket', async () => {
    const now = Date.now();
    const events = [
      ...Array.from({ length: 3 }, (_, i) => ({ '@timestamp': new Date(now - 3 * 3600_000 + i).toISOString(), source: { ip: '89.160.20.112', port: 4000 + i, geo: { country_iso_code: 'SE' } }, destination: { ip: '203.0.113.10', port: 22 }, network: { transport: 'tcp' }, observer: { name: 'spip-hist' } })),
      { '@timestamp': new Date(now - 60_000).toISOString(), source: { ip: '81.2.69.142', port: 5000, geo: { country_iso_code: 'GB' } }, destination: { ip: '203.0.113.10', port: 443 }, network: { transport: 'tcp' } },
    ];
    const reply = await request(loom.url(), JSON.stringify(events), { headers: { authorization: `Bearer ${sensorToken}`, 'content-type': 'application/json' } });
    assert.ok(reply.status < 300, reply.text);
    const deadline = Date.now() + 10_000;
    while ((await clickhouse.rows<{ n: number }>('SELECT count() AS n FROM loom.events'))[0]?.n !== 4) {
      assert.ok(Date.now() < deadline, 'the events never reached ClickHouse');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const answer = await request(loom.managementUrl('/api/v1/dashboard/history?window=86400'), undefined, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(answer.status, 200, answer.text);
    const history = JSON.parse(answer.text) as { total: number; step_seconds: number; counts: number[]; top: Record<string, { value: string; count: number }[]> };
    assert.equal(history.total, 4);
    assert.equal(history.step_seconds, 300);
    assert.equal(history.counts.reduce((a, b) => a + b, 0), 4);
    assert.deepEqual(history.top.country, [{ value: 'SE', count: 3 }, { value: 'GB', count: 1 }]);
    assert.deepEqual(history.top.port, [{ value: '22/tcp', count: 3 }, { value: '443/tcp', count: 1 }]);
    assert.deepEqual(history.top.sensor, [{ value: 'spip-hist', count: 3 }]);
    const anonymous = await request(loom.managementUrl('/api/v1/dashboard/history?window=86400'), undefined, { method: 'GET' });
    assert.equal(anonymous.status, 401);
  });

  test('the page offers the long windows and shows them from ClickHouse', async () => {
    await mkdir(artifacts, { recursive: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: adminToken }, viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(loom.managementUrl('/'));
    await page.locator('#window option[value="86400"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.locator('#window').selectOption('86400');
    await page.locator('#rate-title', { hasText: 'from ClickHouse' }).waitFor({ timeout: 10_000 });
    await page.locator('[data-top="country"] li', { hasText: 'SE' }).waitFor({ timeout: 10_000 });
    await page.locator('[data-top="sensor"] li', { hasText: 'spip-hist' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, 'dashboard-clickhouse-24h.png'), fullPage: false });
    assert.deepEqual(errors, []);
  });
});
