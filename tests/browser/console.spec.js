// The console after setup: an administrator adds and removes a domain, a mailbox and an alias, and reads /metrics.
const { test, expect } = require('@playwright/test');
const path = require('node:path');
const { ADMIN, ADMIN_PASSWORD } = require('./common.js');

const shot = (page, name) => page.screenshot({ path: path.join(__dirname, 'artifacts', `console-${name}.png`), fullPage: true });

test.describe.serial('console', () => {
  let page;

  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
  });

  test('sign in', async () => {
    await page.goto(ADMIN() + '/');
    await expect(page).toHaveURL(/\/login$/);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
  });

  test('a bad domain name is refused with a reason', async () => {
    await page.getByLabel('New domain').fill('not a domain');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect(page.locator('#error-domain')).not.toBeEmpty();
  });

  test('add a domain, a mailbox and an alias', async () => {
    await page.getByLabel('New domain').fill('example.org');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect(page.locator('#domains')).toContainText('example.org');
    await page.getByLabel('New mailbox address').fill('bob@example.org');
    await page.getByLabel('Its password').fill('bob-secret-42');
    await page.getByRole('button', { name: 'Add mailbox' }).click();
    await expect(page.locator('#users')).toContainText('bob@example.org');
    await page.getByLabel('Alias address').fill('sales@example.org');
    await page.getByLabel('Delivers to').fill('bob@example.org, ada@example.test');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await expect(page.locator('#aliases')).toContainText('sales@example.org');
    await expect(page.locator('#aliases')).toContainText('ada@example.test, bob@example.org');
    await shot(page, 'directory');
  });

  test('remove the alias and the mailbox', async () => {
    await page.getByRole('button', { name: 'Remove sales@example.org' }).click();
    await expect(page.locator('#aliases')).not.toContainText('sales@example.org');
    await page.getByRole('button', { name: 'Remove bob@example.org' }).click();
    await expect(page.locator('#users')).not.toContainText('bob@example.org');
  });

  test('/metrics answers in the Prometheus format when signed in, 401 otherwise', async ({ browser }) => {
    const r = await page.request.get(ADMIN() + '/metrics');
    expect(r.status()).toBe(200);
    expect(await r.text()).toContain('darwinmail_');
    const stranger = await browser.newContext({ ignoreHTTPSErrors: true });
    expect((await stranger.request.get(ADMIN() + '/metrics')).status()).toBe(401);
    const basic = 'Basic ' + Buffer.from('admin:' + ADMIN_PASSWORD).toString('base64');
    expect((await stranger.request.get(ADMIN() + '/metrics', { headers: { Authorization: basic } })).status()).toBe(200);
    await stranger.close();
  });
});
