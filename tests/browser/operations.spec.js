// The console's operations pages, as an administrator uses them: the dashboard; mail received for a new domain,
// mailbox and alias over SMTP; a message for an unreachable host retried from the queue page (its display name,
// a typed <script>, shown as text); the delivery trace; a sender blocked by a burst and unblocked from the page;
// a cross-site POST and logged-out requests refused. Screenshots of each page go to artifacts/operations-*.png.
const { test, expect } = require('@playwright/test');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { ADMIN, ADMIN_PASSWORD } = require('./common.js');

const shot = (page, name) => page.screenshot({ path: path.join(__dirname, 'artifacts', `operations-${name}.png`), fullPage: true });
// Python's smtplib and poplib (/usr/bin/python3), through mail.py: clients nobody here wrote.
const mail = (...args) => execFileSync('/usr/bin/python3', [path.join(__dirname, 'mail.py'), ...args.map(String)],
  { encoding: 'utf8', timeout: 30_000 }).trim();
// A tab of the console's navigation bar.
const go = (page, name) => page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name }).click();
const XSS = '<script>window.pwned=1</script> Mallory';

test.describe.serial('operations', () => {
  let page;
  let ports;

  test.beforeAll(async ({ browser }) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    page = await context.newPage();
  });

  test('sign in and see the services up on the dashboard', async () => {
    await page.goto(ADMIN() + '/login');
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/console\/$/);
    await go(page, 'Dashboard');
    await expect(page).toHaveURL(/\/console\/dashboard$/);
    for (const s of ['smtp', 'submission', 'imap', 'pop3', 'admin']) {
      await expect(page.locator(`tr[data-service="${s}"]`)).toContainText('up');
    }
    const d = await (await page.request.get(ADMIN() + '/api/dashboard')).json();
    ports = Object.fromEntries(d.listeners.map((l) => [l.name, l.port]));
    await expect(page.locator('#cert')).toContainText('self-signed');
    await expect(page.locator('#disk')).toContainText('% used');
  });

  test('create a domain, a mailbox and an alias, and receive mail for them over SMTP', async () => {
    await go(page, 'Domains, mailboxes, aliases');
    await page.getByLabel('New domain').fill('example.net');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect(page.locator('#domains')).toContainText('example.net');
    for (const [address, password] of [['mia@example.net', 'mia-secret-42'], ['burst@example.net', 'burst-secret-42']]) {
      await page.getByLabel('New mailbox address').fill(address);
      await page.getByLabel('Its password').fill(password);
      await page.getByRole('button', { name: 'Add mailbox' }).click();
      await expect(page.locator('#users')).toContainText(address);
    }
    await page.getByLabel('Alias address').fill('team@example.net');
    await page.getByLabel('Delivers to').fill('mia@example.net');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await expect(page.locator('#aliases')).toContainText('team@example.net');

    expect(mail('send', ports.smtp, 'sender@remote.example', 'mia@example.net', 'hello mia')).toMatch(/^250/);
    expect(mail('send', ports.smtp, 'sender@remote.example', 'team@example.net', 'hello team')).toMatch(/^250/);
    expect(mail('count', ports.pop3, 'mia@example.net', 'mia-secret-42')).toBe('2');

    await go(page, 'Dashboard');
    await expect(page.locator('#quota')).toContainText('mia@example.net');
    await expect(page.locator('#stat-in')).not.toHaveText('0');
    await expect(page.locator('#chart circle.in')).toHaveCount(1);
    await shot(page, 'dashboard');
  });

  test('a message for an unreachable host is retried from the queue page; a typed <script> is shown as text', async () => {
    expect(mail('send', ports.submission, 'mia@example.net', 'carol@remote.example', 'for carol',
      '--auth', 'mia@example.net', 'mia-secret-42', '--display', XSS)).toMatch(/^250/);
    await go(page, 'Queue');
    await page.getByLabel('Recipient', { exact: true }).fill('carol@remote.example');
    const row = page.locator('#messages tr').filter({ hasText: 'carol@remote.example' });
    // its first attempt fails at once (nothing listens where it goes): deferred, with the answer
    await expect(async () => {
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect(row).toContainText('1 attempt(s)', { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await expect(row).toContainText('deferred');
    await expect(row).toContainText(XSS);
    expect(await row.locator('script').count()).toBe(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();

    const id = await row.getAttribute('data-id');
    await page.getByRole('button', { name: `Retry message ${id}` }).click();
    await expect(page.locator('#result')).toContainText('retry: 1 of 1 message(s) done');
    await expect(async () => {
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect(row).toContainText('2 attempt(s)', { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await shot(page, 'queue');
  });

  test('the delivery trace shows what was queued and each answer', async () => {
    await go(page, 'Delivery trace');
    await page.getByLabel('Message-ID, queue ID or recipient address').fill('carol@remote.example');
    await page.getByRole('button', { name: 'Trace' }).click();
    const events = page.locator('#events');
    // the administrator's retry is written behind, within a quarter of a second: trace again until it shows
    await expect(async () => {
      await page.getByRole('button', { name: 'Trace' }).click();
      for (const e of ['queued', 'deferred', 'retried']) await expect(events).toContainText(e, { timeout: 1000 });
    }).toPass({ timeout: 10_000 });
    // newest first: the retry above the first deferral
    await expect(events.locator('tr').first()).not.toContainText('queued');
    await expect(page.locator('#queued')).toContainText(XSS);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    await shot(page, 'trace');
  });

  test('the delivery trace shows mail stored in a local mailbox, with the client it came from', async () => {
    await go(page, 'Delivery trace');
    await page.getByLabel('Message-ID, queue ID or recipient address').fill('mia@example.net');
    await page.getByRole('button', { name: 'Trace' }).click();
    const events = page.locator('#events');
    await expect(events).toContainText('received');
    await expect(events).toContainText('stored');
    await expect(events).toContainText('mailbox INBOX of mia@example.net');
    await expect(events).toContainText('from 127.0.0.1');
    await shot(page, 'trace-local');
  });

  test('a burst blocks a sender; unblocked from the page, its held mail leaves', async () => {
    const replies = [];
    for (let i = 1; i <= 4; i++) {
      replies.push(mail('send', ports.submission, 'burst@example.net', `dave${i}@remote.example`, `burst ${i}`,
        '--auth', 'burst@example.net', 'burst-secret-42'));
    }
    expect(replies.slice(0, 3).every((r) => r.startsWith('250'))).toBe(true);
    expect(replies[3]).toMatch(/^550/);

    await go(page, 'Blocked senders');
    const row = page.locator('tr[data-account="burst@example.net"]');
    await expect(row).toContainText('burst: 3 messages');
    await expect(row.locator('ul.rcpts li')).toHaveCount(3);
    await shot(page, 'senders');
    await page.getByRole('button', { name: 'Unblock and send held mail: burst@example.net' }).click();
    await expect(page.locator('#result')).toContainText('burst@example.net unblocked; 3 held message(s) released');
    await expect(row).toHaveCount(0);
    await expect(page.locator('#none-blocked')).toBeVisible();
    expect(mail('send', ports.submission, 'burst@example.net', 'dave5@remote.example', 'after',
      '--auth', 'burst@example.net', 'burst-secret-42')).toMatch(/^250/);
  });

  test('a cross-site POST is refused, with or without the session', async () => {
    const s = await (await page.request.get(ADMIN() + '/api/session')).json();
    const forged = await page.request.post(ADMIN() + '/api/queue/delete', {
      data: { ids: [1] },
      headers: { 'X-CSRF-Token': s.csrf, Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(forged.status()).toBe(403);
    // a real form on another origin posting to the console: the browser says where it came from
    const evil = await page.context().newPage();
    await evil.setContent(`<form method="post" enctype="text/plain" action="${ADMIN()}/api/senders/unblock">
      <input name='{"account":"x@example.net","x":"' value='"}'><button>go</button></form>`);
    const [res] = await Promise.all([evil.waitForResponse(/\/api\/senders\/unblock$/), evil.click('button')]);
    expect(res.status()).toBe(403);
    await evil.close();
  });

  test('a logged-out request is refused, and so is the old session after signing out', async ({ browser }) => {
    const stranger = await browser.newContext({ ignoreHTTPSErrors: true });
    for (const p of ['/api/dashboard', '/api/queue', '/api/senders', '/api/trace?q=1']) {
      expect((await stranger.request.get(ADMIN() + p)).status()).toBe(401);
    }
    expect((await stranger.request.post(ADMIN() + '/api/queue/delete', { data: { ids: [1] } })).status()).toBe(401);
    const p = await stranger.newPage();
    await p.goto(ADMIN() + '/console/queue');
    await expect(p).toHaveURL(/\/login$/);
    await stranger.close();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    expect((await page.request.get(ADMIN() + '/api/dashboard')).status()).toBe(401);
  });
});
