// The first-run wizard as an administrator goes through it, screen by screen, then what is refused around it.
// One server for the whole file (global-setup.js): the tests run in order and each starts where the last ended.
const { test, expect } = require('@playwright/test');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const { ADMIN, ADMIN_PASSWORD } = require('./common.js');
const shot = (page, name) => page.screenshot({ path: path.join(__dirname, 'artifacts', `wizard-${name}.png`), fullPage: true });
const XSS_NAME = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Ada "Admin"';

test.describe.serial('first-run wizard', () => {
  let page;
  const dialogs = [];
  const consoleErrors = [];

  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  });

  test('the server prints the setup code on standard output beside the address and the fingerprint', async () => {
    const out = fs.readFileSync(path.join(process.env.SERVER_DIR, 'server.log'), 'utf8');
    const line = out.split('\n').find((l) => l.includes(process.env.SETUP_CODE));
    expect(line).toContain(ADMIN() + '/setup/');
    expect(line).toMatch(/SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  });

  test('the console before setup says to finish setup first', async () => {
    const r = await page.goto(ADMIN() + '/console/');
    expect(r.status()).toBe(403);
    await expect(page.getByRole('heading', { name: 'Finish setup first' })).toBeVisible();
  });

  test('a wrong setup code is refused', async () => {
    await page.goto(ADMIN() + '/');
    await expect(page).toHaveURL(/\/setup\/$/);
    await expect(page.getByText('Step 1 of 5: Setup code')).toBeVisible();
    await shot(page, '1-code');
    await page.getByLabel('Setup code').fill('AAAAA-BBBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#error-code')).toHaveText(/not the setup code/);
    await expect(page.getByText('Step 1 of 5')).toBeVisible();
  });

  test('the right setup code opens the administrator step', async () => {
    await page.getByLabel('Setup code').fill(process.env.SETUP_CODE.toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 2 of 5: Administrator')).toBeVisible();
  });

  test('the administrator step shows the password strength and refuses a short password', async () => {
    await page.getByLabel('Display name').fill(XSS_NAME);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await expect(page.locator('#strength')).toHaveText('Strength: Too short');
    await page.getByLabel('Password again').fill('short');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#error-admin')).toHaveText(/at least 12 characters/);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await expect(page.locator('#strength')).toHaveText(/Strength: (Strong|Very strong)/);
    await page.getByLabel('Password again').fill(ADMIN_PASSWORD);
    await shot(page, '2-admin');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 3 of 5: Host name and domain')).toBeVisible();
  });

  test('a reload resumes at the same step', async () => {
    await page.reload();
    await expect(page.getByText('Step 3 of 5: Host name and domain')).toBeVisible();
  });

  test('the host step suggests mail.<domain> and refuses a bare name', async () => {
    await page.getByLabel('First mail domain').fill('example.test');
    await expect(page.getByLabel("This server's host name")).toHaveValue('mail.example.test');
    await page.getByLabel("This server's host name").fill('mail');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#error-host')).toHaveText(/bare name/);
    await page.getByLabel("This server's host name").fill('mail.example.test');
    await shot(page, '3-host');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 4 of 5: First mailbox')).toBeVisible();
  });

  test('the mailbox step creates the first mailbox', async () => {
    await expect(page.getByLabel('Address')).toHaveValue('admin@example.test');
    await page.getByLabel('Address').fill('ada@example.test');
    await page.getByLabel('Mailbox password').fill('mailbox-secret-1');
    await shot(page, '4-mailbox');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 5 of 5: Summary')).toBeVisible();
  });

  test('the summary shows a typed <script> display name as text', async () => {
    await expect(page.locator('#sum-admin')).toHaveText(`${XSS_NAME} (admin)`);
    await expect(page.locator('#sum-hostname')).toHaveText('mail.example.test');
    await expect(page.locator('#sum-aliases')).toHaveText('postmaster@example.test, abuse@example.test');
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    expect(await page.locator('#sum-admin script, #sum-admin img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
    await shot(page, '5-summary');
  });

  test('finishing opens the console, signed in', async () => {
    await page.getByRole('button', { name: 'Finish setup' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
    await expect(page.locator('#who')).toHaveText(`${XSS_NAME} (admin)`);
    await expect(page.locator('#domains td').first()).toHaveText('example.test');
    await expect(page.locator('#users')).toContainText('ada@example.test');
    await expect(page.locator('#aliases')).toContainText('postmaster@example.test');
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    await shot(page, '6-console');
  });

  test('a cross-site POST is refused (403) and the session lives on', async () => {
    // A page on another origin (plain http on another port) whose form posts to the console's logout.
    const evil = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id=f method=POST action="${ADMIN()}/api/logout"><input name=x value=1></form>`
        + '<script>document.getElementById("f").submit()</script>');
    });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const refused = page.waitForResponse((r) => r.url() === ADMIN() + '/api/logout');
      await page.goto(`http://127.0.0.1:${evil.address().port}/`);
      expect((await refused).status()).toBe(403);
    } finally {
      evil.close();
    }
    const still = await page.request.get(ADMIN() + '/api/session');
    expect(still.status()).toBe(200);
  });

  test('an API request without a session is refused (401)', async ({ browser }) => {
    const stranger = await browser.newContext({ ignoreHTTPSErrors: true });
    const r = await stranger.request.get(ADMIN() + '/api/domains');
    expect(r.status()).toBe(401);
    const p = await stranger.newPage();
    await p.goto(ADMIN() + '/console/');
    await expect(p).toHaveURL(/\/login$/);
    await stranger.close();
  });

  test('after setup the wizard answers 404 for good', async () => {
    const r = await page.goto(ADMIN() + '/setup/');
    expect(r.status()).toBe(404);
    const api = await page.request.get(ADMIN() + '/api/setup/state');
    expect(api.status()).toBe(404);
    const code = await page.request.post(ADMIN() + '/api/setup/code', { data: { code: process.env.SETUP_CODE } });
    expect(code.status()).toBe(404);
  });

  test('sign out, then sign in again', async () => {
    await page.goto(ADMIN() + '/console/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    expect((await page.request.get(ADMIN() + '/api/session')).status()).toBe(401);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('wrong password here');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('#error-login')).toHaveText(/wrong name or password/);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
    await expect(page.locator('#domains td').first()).toHaveText('example.test');
  });
});
