// Browser flows against the REAL stack (API + worker + Redis + SQLite serving out/).
// `make test-e2e` (tests/e2e/run_e2e.py) starts that stack on a free port with a throwaway data
// dir and runs `npm run test:e2e` with FILAMENT_E2E_URL; against a server of your own:
// `FILAMENT_E2E_URL=http://127.0.0.1:8000 npm run test:e2e`. Debian's Chromium, never a
// downloaded browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1; CHROMIUM_PATH to use another one).
import { defineConfig } from '@playwright/test';

const baseURL = (process.env.FILAMENT_E2E_URL ?? '').replace(/\/$/, '');
if (!baseURL) throw new Error('Set FILAMENT_E2E_URL to a running Filament server (or run `make test-e2e`, which starts one).');

export default defineConfig({
  testDir: './e2e',
  globalSetup: './e2e/global-setup.ts',
  outputDir: '../test-artifacts/playwright',
  // the flows share one server and its worker (and the machine has two cores): one at a time
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
