// The dashboard's certificate, backup and DNS cards and the per-domain DNS page, as an administrator sees them after
// the wizard (which uploaded a certificate and set mail.example.test / example.test). DNS answers come from the
// test's own server on loopback (dns-server.js): MX, A and the imaps SRV record right, SPF and the submissions SRV
// record wrong, DMARC refused, the rest missing. Screenshots go to artifacts/dns-*.png.
const { test, expect } = require('@playwright/test');
const path = require('node:path');
const { ADMIN, ADMIN_PASSWORD } = require('./common.js');

const shot = (page, name) => page.screenshot({ path: path.join(__dirname, 'artifacts', `dns-${name}.png`), fullPage: true });
const nav = (page) => page.getByRole('navigation', { name: 'Console pages' });
const HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';

test.describe.serial('dns', () => {
  let page;

  test.beforeAll(async ({ browser }) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    page = await context.newPage();
    await page.goto(ADMIN() + '/login');
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
  });

  test('the dashboard shows the certificate, the last backup and the DNS health of each domain', async () => {
    await nav(page).getByRole('link', { name: 'Dashboard' }).click();
    await expect(page).toHaveURL(/\/console\/dashboard$/);
    const cert = page.locator('#cert');
    await expect(cert.locator('dd.source')).toHaveText('uploaded'); // the wizard's TLS step uploaded one
    await expect(cert).toContainText('CN=mail.example.test');
    await expect(cert).toContainText(/\(in (89|90) days\)/);
    await expect(cert.locator('dd.renewal')).toHaveText('none: replace it by hand before it expires');
    await expect(page.locator('#backup dd.last')).toHaveText('never');
    await expect(page.locator('#backup dd.schedule')).toHaveText('off: set [backup] schedule');

    const row = page.locator('#dns-health tr[data-domain="example.test"]');
    await expect(row).toContainText('Wrong');
    await expect(row).toContainText('3 of 14 OK');
    await expect(row).toContainText('TXT example.test: Wrong');
    await expect(row).toContainText("TXT _dmarc.example.test: Can't tell");
    await expect(row).toContainText('SRV _submissions._tcp.example.test: Wrong');
    await expect(row).toContainText('8 missing');
    await expect(row).not.toContainText('MX example.test');
    await expect(page.locator('#dns-note')).toContainText('mail server mail.example.test');
    await shot(page, 'dashboard');
  });

  test('the DNS page lists the records to publish with their live status, and copies one', async () => {
    await page.locator('#dns-health').getByRole('link', { name: 'example.test', exact: true }).click();
    await expect(page).toHaveURL(/\/console\/dns\?domain=example\.test$/);
    await expect(nav(page).getByRole('link', { name: 'DNS records' })).toHaveAttribute('aria-current', 'page');
    await expect(page.locator('#dns-domain')).toHaveText('example.test');
    const rec = (name, type) => page.locator(`#dns-rows tr[data-name="${name}"][data-type="${type}"]`);
    await expect(rec('example.test', 'MX').locator('.status')).toHaveText('OK');
    await expect(rec('mail.example.test', 'A').locator('.status')).toHaveText('OK');
    await expect(rec('example.test', 'TXT').locator('.status')).toContainText('Wrong');
    await expect(rec('example.test', 'TXT').locator('.status')).toContainText('seen v=spf1 -all');
    await expect(rec('darwin._domainkey.example.test', 'TXT').locator('.status')).toContainText('Missing');
    await expect(rec('_dmarc.example.test', 'TXT').locator('.status')).toContainText("Can't tell");
    await expect(rec('autodiscover.example.test', 'CNAME').locator('.status')).toContainText('Missing');
    await expect(rec('_imaps._tcp.example.test', 'SRV').locator('.status')).toHaveText('OK');
    await expect(rec('_imaps._tcp.example.test', 'SRV').locator('.value')).toContainText('0 1 993 mail.example.test.');
    await expect(rec('_submissions._tcp.example.test', 'SRV').locator('.status')).toContainText('seen 0 1 4650 mail.example.test.');
    await expect(page.locator('#dns-rows tr')).toHaveCount(14);
    await expect(page.locator('#dns-zone')).toContainText('_submission._tcp.example.test. 3600 IN SRV 0 1 587 mail.example.test.');

    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the TXT record of darwin._domainkey.example.test' }).click();
    await expect(page.locator('#copied')).toHaveText('Copied the TXT record of darwin._domainkey.example.test.');
    expect(await page.evaluate(() => navigator.clipboard.readText()))
      .toMatch(/^darwin\._domainkey\.example\.test\. 3600 IN TXT \( "v=DKIM1; k=rsa; p=/);
    await shot(page, 'page');
  });

  test('a hostile domain name in the address is shown as text, never as markup', async () => {
    await page.goto(ADMIN() + '/console/dns?' + new URLSearchParams({ domain: HOSTILE }));
    await expect(page.locator('#error')).toHaveText(`no such domain: ${HOSTILE}`.toLowerCase());
    await expect(page.locator('#dns-domain')).toHaveText(HOSTILE);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    await expect(page.locator('#dns-rows tr')).toHaveCount(0);
  });

  test('the domains page links each domain to its DNS records', async () => {
    await nav(page).getByRole('link', { name: 'Domains, mailboxes, aliases' }).click();
    await page.getByRole('link', { name: 'DNS records of example.test' }).click();
    await expect(page).toHaveURL(/\/console\/dns\?domain=example\.test$/);
    await expect(page.locator('#dns-rows tr[data-type="MX"] .status')).toHaveText('OK');
  });

  test('every console page gets the same header and navigation from one module, under the strict CSP', async () => {
    const pages = ['/console/', '/console/dashboard', '/console/dns', '/console/queue', '/console/senders', '/console/trace',
      '/console/mta-sts'];
    for (const p of pages) {
      const r = await page.request.get(ADMIN() + p);
      expect(r.status()).toBe(200);
      const html = await r.text();
      expect(html, p).not.toContain('<nav');
      expect(html, p).not.toContain('<header');
      expect(html, p).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
      expect(r.headers()['content-security-policy']).toContain("script-src 'self';");
      await page.goto(ADMIN() + p);
      await expect(nav(page).getByRole('link')).toHaveText(['Dashboard', 'Domains, mailboxes, aliases', 'DNS records',
        'Queue', 'Blocked senders', 'Delivery trace', 'MTA-STS']);
      await expect(nav(page).locator('[aria-current="page"]')).toHaveAttribute('href', p);
      await expect(page.locator('#who')).toContainText('(admin)');
      await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
    }
  });
});
