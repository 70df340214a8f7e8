// The first-run wizard as an administrator goes through it, screen by screen, then what is refused around it.
// One server for the whole file (global-setup.js): the tests run in order and each starts where the last ended.
const { test, expect } = require('@playwright/test');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

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
    await expect(page.getByText('Step 1 of 9: Setup code')).toBeVisible();
    await shot(page, '1-code');
    await page.getByLabel('Setup code').fill('AAAAA-BBBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#error-code')).toHaveText(/not the setup code/);
    await expect(page.getByText('Step 1 of 9')).toBeVisible();
  });

  test('the right setup code opens the administrator step', async () => {
    await page.getByLabel('Setup code').fill(process.env.SETUP_CODE.toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 2 of 9: Administrator')).toBeVisible();
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
    await expect(page.getByText('Step 3 of 9: Host name and domain')).toBeVisible();
  });

  test('a reload resumes at the same step', async () => {
    await page.reload();
    await expect(page.getByText('Step 3 of 9: Host name and domain')).toBeVisible();
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
    await expect(page.getByText('Step 4 of 9: Network')).toBeVisible();
  });

  test('the network step shows the network as configured, read-only', async () => {
    await expect(page.locator('#net-addresses')).not.toBeEmpty();
    await expect(page.locator('#net-gateway')).not.toBeEmpty();
    await expect(page.locator('#net-dns')).not.toBeEmpty();
    expect(await page.locator('#step-network input').count()).toBe(0);
    await shot(page, '4-network');
    await page.locator('#submit-network').click();
    await expect(page.getByText('Step 5 of 9: Pre-flight checks')).toBeVisible();
  });

  test('the pre-flight checks: forward and reverse DNS, port 25, blocklists; a re-check', async () => {
    // Outgoing port 25 is tried against a listener of the test's own on loopback, greeting like a mail server.
    const mx = net.createServer((c) => c.end('220 mx.test ESMTP ready\r\n'));
    await new Promise((r) => mx.listen(0, '127.0.0.1', r));
    try {
      await page.getByLabel('Public address of this appliance').fill('192.0.2.99');
      await page.getByLabel(/Mail server to test outgoing port 25/).fill(`127.0.0.1:${mx.address().port}`);
      await page.getByRole('button', { name: 'Run all checks' }).click();
      const row = (id) => page.locator(`tr[data-check="${id}"]`);
      await expect(row('forward').locator('.status')).toHaveText('Problem');
      await expect(row('forward').locator('.message')).toContainText('points at 192.0.2.10, not at this appliance');
      await expect(row('reverse').locator('.status')).toHaveText('Problem');
      await expect(row('port25').locator('.status')).toHaveText('OK');
      await expect(row('port25').locator('.message')).toContainText('220 mx.test ESMTP ready');
      // The DNS server refuses the blocklists' zones, as lists refuse public resolvers: not a listing.
      await expect(row('dnsbl').locator('.status')).toHaveText("Can't tell");
      // The address was mistyped: fixed, then each check again on its own.
      await page.getByLabel('Public address of this appliance').fill('192.0.2.10');
      await row('forward').getByRole('button', { name: 'Re-check' }).click();
      await expect(row('forward').locator('.status')).toHaveText('OK');
      await row('reverse').getByRole('button', { name: 'Re-check' }).click();
      await expect(row('reverse').locator('.status')).toHaveText('OK');
      await expect(row('reverse').locator('.message')).toHaveText('192.0.2.10 reverses to mail.example.test.');
    } finally {
      mx.close();
    }
    await shot(page, '5-checks');
    await page.reload();
    await expect(page.getByText('Step 5 of 9: Pre-flight checks')).toBeVisible();
    await expect(page.getByLabel('Public address of this appliance')).toHaveValue('192.0.2.10');
    await page.locator('#submit-checks').click();
    await expect(page.getByText('Step 6 of 9: TLS certificate')).toBeVisible();
  });

  test('the TLS step refuses a key that does not match, then installs an uploaded certificate', async () => {
    await expect(page.locator('#tls-current')).toContainText('Self-signed');
    await expect(page.getByLabel("Get one from Let's Encrypt (ACME)")).toBeEnabled(); // the host name points here
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wizard-tls-'));
    const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '90',
      '-subj', '/CN=mail.example.test', '-addext', 'subjectAltName=DNS:mail.example.test');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other.pem');
    const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
    await page.getByLabel('Upload a certificate and its key (PEM)').check();
    await page.getByLabel(/Certificate chain \(PEM/).fill(read('cert.pem'));
    await page.getByLabel(/Private key \(PEM/).fill(read('other.pem'));
    await page.locator('#submit-tls').click();
    await expect(page.locator('#error-tls')).toContainText('The key does not belong to the first certificate');
    await expect(page.getByText('Step 6 of 9: TLS certificate')).toBeVisible();
    await page.getByLabel(/Private key \(PEM/).fill(read('key.pem'));
    await shot(page, '6-tls');
    await page.locator('#submit-tls').click();
    await expect(page.getByText('Step 7 of 9: DNS records')).toBeVisible();
    fs.rmSync(dir, { recursive: true, force: true });
    // Installed without a restart: the listener's next handshake serves it.
    const served = await new Promise((resolve, reject) => {
      const u = new URL(ADMIN());
      const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().subject.CN);
        s.end();
      });
      s.on('error', reject);
    });
    expect(served).toBe('mail.example.test');
  });

  test('the DNS step lists the records with their status and as a zone file', async () => {
    const rec = (name, type) => page.locator(`#dns-rows tr[data-name="${name}"][data-type="${type}"]`);
    await expect(rec('example.test', 'MX').locator('.status')).toHaveText('OK');
    await expect(rec('mail.example.test', 'A').locator('.status')).toHaveText('OK');
    await expect(rec('example.test', 'TXT').locator('.status')).toContainText('Wrong');
    await expect(rec('example.test', 'TXT').locator('.status')).toContainText('seen v=spf1 -all');
    await expect(rec('darwin._domainkey.example.test', 'TXT').locator('.status')).toHaveText('Missing');
    await expect(rec('darwin._domainkey.example.test', 'TXT').locator('.value')).toContainText('v=DKIM1; k=rsa; p=');
    await expect(rec('_dmarc.example.test', 'TXT').locator('.status')).toContainText("Can't tell");
    await expect(rec('autoconfig.example.test', 'CNAME').locator('.status')).toHaveText('Missing');
    await expect(page.locator('#dns-zone')).toContainText('example.test. 3600 IN MX 10 mail.example.test.');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await rec('example.test', 'MX').getByRole('button', { name: 'Copy' }).click();
    await expect(page.locator('#copied')).toHaveText('Copied the MX record of example.test.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('example.test. 3600 IN MX 10 mail.example.test.');
    await shot(page, '7-dns');
    await page.locator('#submit-dns').click();
    await expect(page.getByText('Step 8 of 9: First mailbox')).toBeVisible();
  });

  test('the mailbox step creates the first mailbox', async () => {
    await expect(page.getByLabel('Address', { exact: true })).toHaveValue('admin@example.test');
    await page.getByLabel('Address', { exact: true }).fill('ada@example.test');
    await page.getByLabel('Mailbox password').fill('mailbox-secret-1');
    await shot(page, '8-mailbox');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Step 9 of 9: Summary')).toBeVisible();
  });

  test('the summary shows a typed <script> display name as text', async () => {
    await expect(page.locator('#sum-admin')).toHaveText(`${XSS_NAME} (admin)`);
    await expect(page.locator('#sum-hostname')).toHaveText('mail.example.test');
    await expect(page.locator('#sum-aliases')).toHaveText('postmaster@example.test, abuse@example.test');
    await expect(page.locator('#sum-address')).toHaveText('192.0.2.10');
    await expect(page.locator('#sum-tls')).toContainText('uploaded: CN=mail.example.test');
    await expect(page.locator('#sum-dns')).toHaveText('3 of 14');
    await expect(page.locator('#sum-pending')).toContainText('Publish the DNS records of step 7 (3 of 14 seen so far)');
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    expect(await page.locator('#sum-admin script, #sum-admin img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
    await shot(page, '9-summary');
  });

  test('finishing opens the console, signed in', async () => {
    await page.getByRole('button', { name: 'Finish setup' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
    await expect(page.locator('#who')).toHaveText(`${XSS_NAME} (admin)`);
    await expect(page.locator('#domains td').first()).toHaveText('example.test');
    await expect(page.locator('#users')).toContainText('ada@example.test');
    await expect(page.locator('#aliases')).toContainText('postmaster@example.test');
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    await shot(page, '10-console');
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
