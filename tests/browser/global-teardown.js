// Stops the server global-setup.js started (its process group, by id) and removes its data directory.
const fs = require('node:fs');

module.exports = async () => {
  if (globalThis.testDns) globalThis.testDns.close();
  const pid = Number(process.env.SERVER_PID);
  if (pid) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch (e) {
      // already gone
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch (e) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (process.env.SERVER_DIR && !process.env.KEEP_SERVER_DIR) {
    fs.rmSync(process.env.SERVER_DIR, { recursive: true, force: true });
  }
};
