// Starts Darwin Mail from DARWINMAIL_DIST on a fresh data directory, every listener on 127.0.0.1 with a port the
// system chooses; the admin listener's address and the setup code are read from <data_dir>/run/setup-code.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// A loopback port nothing listens on (bound by the system, then closed).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = require('node:net').createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

module.exports = async () => {
  const dist = process.env.DARWINMAIL_DIST;
  if (!dist) throw new Error('set DARWINMAIL_DIST to dist/darwinmail (make browser-test does)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darwinmail-browser-'));
  const data = path.join(dir, 'data');
  const any = '"127.0.0.1:0"';
  // The wizard's DNS checks ask a DNS server of the test's own on loopback (dns-server.js), never the internet.
  const dns = await require('./dns-server.js').start();
  globalThis.testDns = dns;
  // operations.spec.js: outbound mail goes to a loopback port where nothing listens (it stays queued, deferred), and
  // one account is blocked after a burst of 3 messages.
  const nowhere = await freePort();
  fs.writeFileSync(path.join(dir, 'darwinmail.toml'), [
    'hostname = "localhost"', `data_dir = "${data}"`, '[listen]',
    ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'admin'].map((l) => `${l} = ${any}`),
    '[dns]', `servers = ["127.0.0.1:${dns.address().port}"]`, 'timeout_seconds = 2',
    '[delivery]', `smarthost = "127.0.0.1:${nowhere}"`, 'retry_seconds = [3600]',
    '[guard.send.accounts."burst@example.net"]', 'burst_messages = 3', 'burst_window_seconds = 600',
  ].join('\n') + '\n');
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const server = spawn(path.join(dist, 'bin', 'darwinmail'), ['--config', path.join(dir, 'darwinmail.toml'), 'serve'],
    { stdio: ['ignore', log, log], detached: true });
  const codeFile = path.join(data, 'run', 'setup-code');
  for (let i = 0; i < 600 && !fs.existsSync(codeFile); i++) {
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!fs.existsSync(codeFile)) {
    throw new Error('the server wrote no setup code; its log:\n' + fs.readFileSync(path.join(dir, 'server.log'), 'utf8'));
  }
  const fields = Object.fromEntries(fs.readFileSync(codeFile, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  process.env.ADMIN_URL = new URL(fields.url).origin;
  process.env.SETUP_CODE = fields.code;
  process.env.SERVER_DIR = dir;
  process.env.SERVER_PID = String(server.pid);
  server.unref();
};
