import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { baseToml, startLoom, tempDir, type LoomProcess } from './helpers/loom-process.js';
import { request } from './helpers/http.js';

// The operator dashboard in a real browser (Debian's Chromium, headless) against a real Loom.
const adminToken = 'dashboard-admin-Token-5d1e';
const alphaToken = 'alpha-sensor-token-0001';
const quietToken = 'quiet-sensor-token-0002';
const artifacts = fileURLToPath(new URL('../../../../test-artifacts/dashboard/', import.meta.url));
const chromiumPath = process.env.LOOM_TEST_CHROMIUM ?? '/usr/bin/chromium';

function event(ip: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { '@timestamp': new Date().toISOString(), source: { ip, port: 40_000 + port }, destination: { ip: '203.0.113.10', port }, network: { transport: 'tcp' }, ...extra };
}

/** Waits until `selector` matches exactly `count` elements. */
async function untilCount(page: Page, selector: string, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = await page.locator(selector).count();
  while (seen !== count) {
    assert.ok(Date.now() < deadline, `${selector}: ${seen} elements, expected ${count}`);
    await page.waitForTimeout(100);
    seen = await page.locator(selector).count();
  }
}

describe('operator dashboard', () => {
  let loom: LoomProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  const ingest = async (token: string, events: Record<string, unknown>[]): Promise<void> => {
    const reply = await request(loom.url(), JSON.stringify(events), { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    assert.ok(reply.status >= 200 && reply.status < 300, `${reply.status} ${reply.text}`);
  };

  before(async () => {
    await mkdir(artifacts, { recursive: true });
    const dir = await tempDir();
    const intel = join(dir, 'scanners.netset');
    await writeFile(intel, '# test list\n8.8.8.0/24\n');
    loom = await startLoom({
      toml: baseToml({
        enrichment: `[enrichment]
fields = ["source"]

[[enrichment.intel]]
name = "scanners"
path = "${intel}"
category = "scanner"
confidence = 90`,
      }),
      env: { LOOM_SENSOR_alpha: alphaToken, LOOM_SENSOR_quiet: quietToken, LOOM_SENSOR_never: 'never-sensor-token-0003', LOOM_ADMIN_TOKEN: adminToken },
    });
    assert.ok(loom.managementPort > 0, loom.stderrText);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext({ httpCredentials: { username: 'admin', password: adminToken }, viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    assert.equal(await loom?.stop(), 0);
    await loom?.cleanup();
  });

  test('a wrong or missing admin token is refused, on the page and the API', async () => {
    const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'not-the-token' } });
    try {
      const response = await (await wrong.newPage()).goto(loom.managementUrl('/'));
      assert.equal(response?.status(), 401);
    } finally {
      await wrong.close();
    }
    const anonymous = await request(loom.managementUrl('/'), undefined, { method: 'GET' });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="Loom dashboard"/);
    const badBearer = await request(loom.managementUrl('/api/v1/dashboard/snapshot'), undefined, { method: 'GET', headers: { authorization: 'Bearer nope' } });
    assert.equal(badBearer.status, 401);
    const wrongUser = await request(loom.managementUrl('/'), undefined, { method: 'GET', headers: { authorization: `Basic ${Buffer.from(`root:${adminToken}`).toString('base64')}` } });
    assert.equal(wrongUser.status, 401);
    const good = await request(loom.managementUrl('/api/v1/dashboard/snapshot'), undefined, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(good.status, 200);
    assert.equal((JSON.parse(good.text) as { total_events: number }).total_events, 0);
  });

  test('events posted through the ingest API appear live in the counters, charts and table', async () => {
    await ingest(quietToken, [event('192.0.2.7', 23)]);
    const response = await page.goto(loom.managementUrl('/?silent_after=5&window=300'));
    assert.equal(response?.status(), 200);
    await page.locator('#live.on').waitFor({ timeout: 10_000 });
    // No reload from here on: what follows arrives over the event stream.
    await ingest(alphaToken, [
      event('89.160.20.112', 22, { user_agent: { original: 'curl/8.5.0' } }),
      event('89.160.20.112', 22),
      event('8.8.8.8', 443, { url: { path: '/wp-login.php' } }),
      event('81.2.69.142', 3389),
    ]);
    await page.locator('#cards .card', { hasText: 'Events' }).filter({ hasText: /^Events5/ }).waitFor({ timeout: 10_000 });
    await page.locator('#events tr.event', { hasText: '8.8.8.8' }).first().waitFor({ timeout: 10_000 });
    await page.locator('[data-top="port"] li', { hasText: '22/tcp' }).waitFor({ timeout: 10_000 });
    await page.locator('[data-top="country"] li', { hasText: 'SE' }).waitFor({ timeout: 10_000 });
    await page.locator('#map circle.spot').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-top="intel"] li', { hasText: 'scanners' }).waitFor({ timeout: 10_000 });
    // Expanding an event shows its full enriched JSON.
    await page.locator('#events tr.event', { hasText: '8.8.8.8' }).first().click();
    const detail = await page.locator('#events tr.detail pre').first().textContent({ timeout: 5000 });
    const parsed = JSON.parse(detail ?? '') as { threat?: { enrichments?: unknown[] }; url?: { path?: string } };
    assert.equal(parsed.url?.path, '/wp-login.php');
    assert.ok((parsed.threat?.enrichments?.length ?? 0) > 0, detail ?? '');
    // The filter narrows the table.
    await page.locator('#filter').fill('81.2.69.142');
    await untilCount(page, '#events tr.event', 1);
    await page.locator('#filter').fill('');
    await untilCount(page, '#events tr.event', 5);
    assert.deepEqual(consoleErrors, []);
  });

  test('a sensor that went silent, or never delivered, is flagged while a delivering one is not', async () => {
    // "quiet" delivered once, before "alpha"; with silent_after=5 it is flagged once 5 s passed.
    const deadline = Date.now() + 15_000;
    const quietRow = page.locator('#sensors tr[data-sensor="quiet"]');
    while (!(await quietRow.locator('.flag').isVisible())) {
      assert.ok(Date.now() < deadline, 'the quiet sensor was never flagged');
      await ingest(alphaToken, [event('89.160.20.112', 2222)]);
      await page.waitForTimeout(1000);
    }
    await ingest(alphaToken, [event('89.160.20.112', 2222)]);
    await page.locator('#sensors tr[data-sensor="alpha"] .dot.ok').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#sensors tr[data-sensor="alpha"] .flag').count(), 0);
    // A sensor with a token that never delivered is flagged from the start.
    assert.match(await page.locator('#sensors tr[data-sensor="never"]').innerText(), /SILENT[\s\S]*never/);
    assert.match(await page.locator('#cards').innerText(), /2 silent/);
    await page.screenshot({ path: join(artifacts, 'dashboard-light.png'), fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });

  test('the lookup form answers with the enrichment of an address', async () => {
    await page.locator('#lookup-ip').fill('89.160.20.112');
    await page.locator('#lookup button[type="submit"]').click();
    await page.locator('#lookup-result', { hasText: 'country_iso_code' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#lookup-result').innerText(), /"SE"/);
    await page.locator('#lookup-ip').fill('not-an-ip');
    await page.locator('#lookup button[type="submit"]').click();
    await page.locator('#lookup-result', { hasText: '400' }).waitFor({ timeout: 5000 });
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 400/.test(e)));
    assert.deepEqual(consoleErrors, []);
  });

  test('dark theme and a narrow screen render (screenshots)', async () => {
    await page.locator('#theme').click();
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
    await page.screenshot({ path: join(artifacts, 'dashboard-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#cards').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'dashboard-mobile.png'), fullPage: false });
    const overflow = await page.locator('html').evaluate((html) => html.scrollWidth - html.clientWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px on a phone`);
    assert.deepEqual(consoleErrors, []);
  });
});

test('without LOOM_ADMIN_TOKEN the dashboard is off', async () => {
  const loom = await startLoom({ toml: baseToml(), env: { LOOM_SENSOR_alpha: alphaToken } });
  try {
    for (const path of ['/', '/assets/app.js', '/api/v1/dashboard/snapshot', '/api/v1/dashboard/stream']) {
      const reply = await request(loom.managementUrl(path), undefined, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(reply.status, 404, path);
    }
  } finally {
    assert.equal(await loom.stop(), 0);
    await loom.cleanup();
  }
});
