// Playwright for the admin console: Debian's chromium (no browser download), the server started by global-setup.js
// from dist/ on a fresh data directory with loopback ports. Screenshots of each wizard step go to artifacts/.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.js$/,
  globalSetup: require.resolve('./global-setup.js'),
  globalTeardown: require.resolve('./global-teardown.js'),
  workers: 1,
  timeout: 60_000,
  reporter: [['list']],
  outputDir: 'artifacts/results',
  // The wizard first, on the fresh server; the console's tests sign in with the account it made.
  projects: [
    { name: 'wizard', testMatch: /wizard\.spec\.js$/ },
    { name: 'console', testMatch: /console\.spec\.js$/, dependencies: ['wizard'] },
    { name: 'operations', testMatch: /operations\.spec\.js$/, dependencies: ['wizard'] },
    { name: 'dns', testMatch: /dns\.spec\.js$/, dependencies: ['wizard'] },
    { name: 'mta-sts', testMatch: /mta-sts\.spec\.js$/, dependencies: ['wizard'] },
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    ignoreHTTPSErrors: true, // the appliance's certificate is self-signed until TLS is set up
    launchOptions: { executablePath: process.env.CHROMIUM || '/usr/bin/chromium' },
    trace: 'retain-on-failure',
  },
});
