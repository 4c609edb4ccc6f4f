import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The harness starts the real server on a free port with a throw-away SQLite database.
// Both are chosen once, in the main process; workers inherit them through the environment.
if (!process.env.TESSERA_E2E_PORT) {
  process.env.TESSERA_E2E_PORT = execFileSync(process.execPath, [
    '-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})",
  ]).toString();
}
if (!process.env.TESSERA_E2E_DIR) {
  process.env.TESSERA_E2E_DIR = mkdtempSync(path.join(tmpdir(), 'tessera-e2e-'));
}
const port = process.env.TESSERA_E2E_PORT;
const root = path.resolve(__dirname, '..');
const profile = process.env.TESSERA_E2E_PROFILE ?? 'debug';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  globalTeardown: './tests/fixtures/teardown.ts',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `${path.join(root, 'target', profile, 'tessera')}`,
    cwd: root,
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, 'target', `site-${profile}`),
      DATABASE_URL: `sqlite://${path.join(process.env.TESSERA_E2E_DIR, 'tessera.db')}`,
      TESSERA_DEMO: '1',
      RUST_LOG: 'warn',
    },
  },
});
