// The console's read-only MTA-STS page, as an administrator sees it after the wizard: reached from the navigation,
// first with what the real server has (this suite's server delivers through a smarthost, where MTA-STS does not
// apply, so nothing is cached and nothing counted), then with a policy and counts as GET /api/mta-sts gives them
// (answered by the test through page.route: the server's store is held by the running server and no policy host
// with a WebPKI certificate can run here) whose values carry markup: shown as text, never run. Screenshot:
// artifacts/mta-sts.png.
const { test, expect } = require('@playwright/test');
const path = require('node:path');
const { ADMIN, ADMIN_PASSWORD } = require('./common.js');

const HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';

test('the MTA-STS page lists the cached policies, the TLS report counts and the reports as text', async ({ browser }) => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(ADMIN() + '/login');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/console\/$/);

  const nav = page.getByRole('navigation', { name: 'Console pages' });
  await nav.getByRole('link', { name: 'MTA-STS' }).click();
  await expect(page).toHaveURL(/\/console\/mta-sts$/);
  await expect(nav.getByRole('link', { name: 'MTA-STS' })).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('#days')).toHaveText('7');
  await expect(page.getByText('No MTA-STS policy is cached.')).toBeVisible();
  await expect(page.getByText('No TLS session to a domain with a policy in these days.')).toBeVisible();
  await expect(page.locator('#policies tr')).toHaveCount(0);
  await expect(page.getByText('No TLS report about these days.')).toBeVisible();

  const today = new Date().toISOString().slice(0, 10);
  await page.route('**/api/mta-sts', (route) => route.fulfill({
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({
      days: 7, since: today,
      policies: [{ domain: 'remote.test', id: '20261102', mode: 'enforce', mx: ['mx.remote.test', HOSTILE],
        maxAge: 86400, fetched: '2026-11-02T08:00:00Z', expires: '2026-11-03T08:00:00Z', expired: true }],
      counts: [{ day: today, domain: 'remote.test', result: 'certificate-host-mismatch', sessions: 1 },
        { day: today, domain: 'remote.test', result: HOSTILE, sessions: 3 }],
      reports: [{ day: today, domain: 'remote.test', reportId: 'r1@a.test', destinations: 'mailto:tlsrpt@remote.test',
        result: HOSTILE, claimed: '2026-11-03T00:05:00Z' }],
    }),
  }));
  await page.reload();
  const row = page.locator('#policies tr[data-domain="remote.test"]');
  await expect(row).toContainText('enforce');
  await expect(row).toContainText('mx.remote.test ' + HOSTILE);
  await expect(row).toContainText('(expired)');
  await expect(page.getByText('No MTA-STS policy is cached.')).toBeHidden();
  const counts = page.locator('#counts tr');
  await expect(counts).toHaveCount(2);
  await expect(counts.nth(0)).toContainText('certificate-host-mismatch');
  await expect(counts.nth(1)).toContainText(HOSTILE);
  const reports = page.locator('#reports tr');
  await expect(reports).toHaveCount(1);
  await expect(reports.nth(0)).toContainText('mailto:tlsrpt@remote.test');
  await expect(reports.nth(0)).toContainText(HOSTILE);
  await expect(page.getByText('No TLS report about these days.')).toBeHidden();
  await expect(page.locator('#counts img, #policies img, #reports img, main script')).toHaveCount(0);
  expect(await page.evaluate(() => window.pwned)).toBeUndefined();
  await page.screenshot({ path: path.join(__dirname, 'artifacts', 'mta-sts.png'), fullPage: true });
  await context.close();
});
